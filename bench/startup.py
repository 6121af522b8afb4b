"""Start-up, frame-time and memory benchmark of the kiosk, next to a bare Kivy app.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python bench/startup.py [--runs 5] [--switches 40]

For each run it starts fresh processes: a bare Kivy app showing one Chinese label (the floor), and
the kiosk (no devices) until the home screen's first frame is drawn. Time is measured by the
parent from spawning the process to the child's report of its first drawn frame (so interpreter
start-up counts for both), and each child reports its resident memory (VmRSS) at that frame. The
kiosk child then switches screens 40 times (``--switches``) and reports every frame's duration while
switching. Then ``kiosk --smoke --simulate`` (demo devices, local backend) runs whole, next to the
bare app's whole run, each timed from spawn to exit with its peak memory (the child's ru_maxrss).
The data folder is warmed once first (font cache, demo face), as a deployed terminal has it after its
first start. Prints medians of the runs, each next to its floor and target (issue #22).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABEL = "请将身份证放置在读卡区"
# worker threads the kiosk starts after its first frame (kiosk/main.py, screens/assist)
QUICK_ENV, QUICK_DISPLAY = "BENCH_STARTUP_QUICK", "[display]\nvoice = false\n"
BACKGROUND_START = ("device-open", "queue-start", "face-models", "voice-build")


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def child_bare(font: str) -> None:
    os.environ["KIVY_NO_ARGS"] = "1"
    os.environ["KIVY_LOG_MODE"] = "PYTHON"
    from kivy.config import Config

    Config.set("graphics", "width", "1920")
    Config.set("graphics", "height", "1080")
    from kivy.app import App
    from kivy.core.window import Window
    from kivy.uix.label import Label

    class Bare(App):
        def build(self) -> Label:
            return Label(text=LABEL, font_name=font, font_size=64)

        def on_start(self) -> None:
            Window.bind(on_flip=self.flipped)

        def flipped(self, *_args: object) -> None:
            print(json.dumps({"first_frame": True, "rss_mb": rss_mb()}), flush=True)
            self.stop()

    Bare().run()


def child_kiosk(data_dir: str, switches: int = 40) -> None:
    site = Path(data_dir) / "site.toml"
    site.write_text(
        f'[kiosk]\ndata_dir = "{data_dir}"\n'
        + (QUICK_DISPLAY if os.environ.get(QUICK_ENV) else "")
        + "".join(
            f'[devices.{r}]\ndriver = "none"\n' for r in ("card_reader", "camera", "printer", "a4_printer")
        ),
        encoding="utf-8",
    )
    from kiosk.config.model import load_config
    from kiosk.main import after_first_frame, compose
    from screens.kivy_env import prepare

    config = load_config(site, environ={})
    runtime = compose(config)
    prepare(size=config.display.size, fullscreen=False, show_cursor=True, kivy_home=Path(data_dir) / "kivy")
    from kivy.clock import Clock
    from kivy.core.window import Window

    from screens.app import KioskApp

    state: dict[str, object] = {"reported": False, "last": 0.0, "frames": [], "switches": 0}

    def on_flip(*_args: object) -> None:
        now = time.perf_counter()
        if not state["reported"] and app.manager.current == "home":
            state["reported"] = True
            print(json.dumps({"first_frame": True, "rss_mb": rss_mb()}), flush=True)
            state["last"] = state["drawn"] = now
            Clock.schedule_once(settled, 0.1)
            return
        if state["switches"]:
            frames = state["frames"]
            assert isinstance(frames, list)
            frames.append((now - float(state["last"])) * 1000)  # type: ignore[arg-type]
        state["last"] = now

    def settled(_dt: float) -> None:
        """Switches are timed once start-up's background work is over (it has its own figure)."""
        busy = [t.name for t in threading.enumerate() if t.name in BACKGROUND_START]
        if (
            busy
            or not app.registry.built
            or runtime.pending_roles()
            or not (runtime.queue or runtime.queue_error)
        ):
            Clock.schedule_once(settled, 0.1)
            return
        after = time.perf_counter() - float(state["drawn"])  # type: ignore[arg-type]
        print(json.dumps({"settled_s": after, "settled_rss_mb": rss_mb()}), flush=True)
        Clock.schedule_once(switch, 0.3)

    def switch(_dt: float) -> None:
        count = int(state["switches"])  # type: ignore[call-overload]
        if count >= switches:
            frames = state["frames"]
            print(json.dumps({"frames_ms": frames, "rss_mb": rss_mb()}), flush=True)
            app.stop()
            return
        if count % 4 in (0, 2):
            app.choose_category(("household", "vehicle", "photo")[count % 3])
        else:
            app.go_home()
        state["switches"] = count + 1
        state["last"] = time.perf_counter()
        Clock.schedule_once(switch, 0.25)

    def started(the_app: KioskApp) -> None:
        Window.bind(on_flip=on_flip)
        the_app.begin()

    app = KioskApp(runtime, on_started=started, after_first_frame=after_first_frame(runtime))
    app.run()
    runtime.close()


class Run:
    """One child process: seconds to its first frame report, to its exit, its peak RSS, its reports."""

    def __init__(
        self, first_frame_s: float, whole_s: float, peak_mb: float, reports: list[dict[str, object]]
    ):
        self.first_frame_s, self.whole_s, self.peak_mb, self.reports = (
            first_frame_s,
            whole_s,
            peak_mb,
            reports,
        )

    def first(self, key: str) -> float:
        return float(next(r[key] for r in self.reports if key in r))  # type: ignore[arg-type]

    def last(self, key: str) -> object:
        return next(r[key] for r in reversed(self.reports) if key in r)


def measure(args: list[str], *, module: str | None = None) -> Run:
    command = [sys.executable, "-m", module, *args] if module else [sys.executable, __file__, *args]
    start = time.perf_counter()
    proc = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    reports: list[dict[str, object]] = []
    elapsed = float("nan")
    for line in proc.stdout:
        if not line.startswith("{"):
            if line.startswith("home screen drawn") and elapsed != elapsed:  # kiosk --smoke's report
                elapsed = time.perf_counter() - start
            continue
        report = json.loads(line)
        if report.get("first_frame") and elapsed != elapsed:
            elapsed = time.perf_counter() - start
        reports.append(report)
    _pid, status, usage = os.wait4(proc.pid, 0)
    whole = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(command[1:])} exited {proc.returncode}")
    return Run(elapsed, whole, usage.ru_maxrss / 1024, reports)


def _all(values: list[float], unit: str = "s", digits: int = 3) -> str:
    return ", ".join(f"{v:.{digits}f}" for v in values) + f" {unit}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", choices=("bare", "kiosk"))
    parser.add_argument("--arg", default="")
    parser.add_argument("--switches", type=int, default=40, help="screen changes timed per kiosk run")
    parser.add_argument(
        "--quick",
        action="store_true",
        help="CI's smoke run: no warm-up runs, voice prompts off (no espeak build); figures not comparable",
    )
    args = parser.parse_args()
    if args.quick:
        os.environ[QUICK_ENV] = "1"  # the children see it too
    if args.child == "bare":
        child_bare(args.arg)
        return
    if args.child == "kiosk":
        child_kiosk(args.arg, args.switches)
        return
    sys.path.insert(0, str(ROOT))
    from kiosk.config.fonts import find_cjk_font

    med = statistics.median
    with tempfile.TemporaryDirectory() as tmp:
        font = str(find_cjk_font("", Path(tmp) / "fonts").path)
        smoke_config = Path(tmp) / "kiosk.toml"  # the same data folder as the kiosk child's
        smoke_config.write_text(
            f'[kiosk]\ndata_dir = "{tmp}"\n' + (QUICK_DISPLAY if args.quick else ""), encoding="utf-8"
        )
        smoke = ["--smoke", "--simulate", "--config", str(smoke_config)]
        if not args.quick:  # warm the data folder once (fonts, voice prompts, demo face), as deployed
            measure(["--child", "kiosk", "--arg", tmp, "--switches", "1"])
            measure(smoke, module="kiosk.cli")
        bare: list[Run] = []
        kiosk: list[Run] = []
        smokes: list[Run] = []
        for _ in range(args.runs):
            bare.append(measure(["--child", "bare", "--arg", font]))
            kiosk.append(measure(["--child", "kiosk", "--arg", tmp, "--switches", str(args.switches)]))
            smokes.append(measure(smoke, module="kiosk.cli"))
    frames: list[float] = []
    for run in kiosk:
        frames.extend(run.last("frames_ms"))  # type: ignore[arg-type]
    b_first, k_first = med(r.first_frame_s for r in bare), med(r.first_frame_s for r in kiosk)
    b_whole, s_whole = med(r.whole_s for r in bare), med(r.whole_s for r in smokes)
    b_rss, k_rss = med(r.first("rss_mb") for r in bare), med(r.first("rss_mb") for r in kiosk)
    b_peak, s_peak = med(r.peak_mb for r in bare), med(r.peak_mb for r in smokes)
    median_frame = med(frames) if frames else float("nan")
    worst = max(frames) if frames else float("nan")
    print(f"runs: {args.runs} (medians; floor = a bare Kivy app showing one Chinese label, same run)")
    print(f"first frame:      bare {b_first:.3f} s, kiosk home {k_first:.3f} s")
    print(
        f"  all runs:       bare {_all([r.first_frame_s for r in bare])}; kiosk {_all([r.first_frame_s for r in kiosk])}"
    )
    print(f"ratio kiosk / bare:           {k_first / b_first:.2f}  (target <= 1.30)")
    print(f"whole run:        bare {b_whole:.3f} s, kiosk --smoke --simulate {s_whole:.3f} s")
    print(
        f"  all runs:       bare {_all([r.whole_s for r in bare])}; smoke {_all([r.whole_s for r in smokes])}"
    )
    print(f"ratio smoke / bare:           {s_whole / b_whole:.2f}  (target <= 1.50)")
    print(
        f"memory at first frame:        bare {b_rss:.0f} MB, kiosk {k_rss:.0f} MB, "
        f"+{k_rss - b_rss:.0f} MB (target <= +60 MB)"
    )
    print(
        f"peak memory of the whole run: bare {b_peak:.0f} MB, smoke {s_peak:.0f} MB, "
        f"+{s_peak - b_peak:.0f} MB (target <= +120 MB)"
    )
    print(
        f"start-up's background work done (devices, queue, face model, screens) "
        f"{med(r.first('settled_s') for r in kiosk):.2f} s after the first frame, "
        f"memory then {med(r.first('settled_rss_mb') for r in kiosk):.0f} MB"
    )
    if frames:
        print(
            f"frames while switching:       {len(frames)} frames, median {median_frame:.1f} ms, "
            f"p95 {statistics.quantiles(frames, n=20, method='inclusive')[-1] if len(frames) > 1 else worst:.1f} ms, "
            f"max {worst:.1f} ms, max/median {worst / median_frame:.2f} (target <= 2.0)"
        )


if __name__ == "__main__":
    main()
