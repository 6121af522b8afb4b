"""Start-up, frame-time and memory benchmark of the kiosk, next to a bare Kivy app.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python bench/startup.py [--runs 5] [--switches 40]

For each run it starts two fresh processes: a bare Kivy app showing one Chinese label, and the
kiosk (simulated/no devices) until the home screen's first frame is drawn. Time is measured by the
parent from spawning the process to the child's report of its first drawn frame (so interpreter
start-up counts for both). The kiosk child then switches screens 40 times (``--switches``) and reports every frame's
duration while switching, and its resident memory (VmRSS). Prints medians and the ratio.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LABEL = "请将身份证放置在读卡区"


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
            state["first_frame_rss"] = rss_mb()
            print(json.dumps({"first_frame": True}), flush=True)
            state["last"] = now
            Clock.schedule_once(switch, 0.3)
            return
        if state["switches"]:
            frames = state["frames"]
            assert isinstance(frames, list)
            frames.append((now - float(state["last"])) * 1000)  # type: ignore[arg-type]
        state["last"] = now

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


def measure(args: list[str]) -> tuple[float, list[dict[str, object]]]:
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, __file__, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    assert proc.stdout is not None
    reports: list[dict[str, object]] = []
    elapsed = float("nan")
    for line in proc.stdout:
        if not line.startswith("{"):
            continue
        report = json.loads(line)
        if report.get("first_frame") and elapsed != elapsed:
            elapsed = time.perf_counter() - start
        reports.append(report)
    proc.wait(timeout=60)
    return elapsed, reports


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--child", choices=("bare", "kiosk"))
    parser.add_argument("--arg", default="")
    parser.add_argument("--switches", type=int, default=40, help="screen changes timed per kiosk run")
    args = parser.parse_args()
    if args.child == "bare":
        child_bare(args.arg)
        return
    if args.child == "kiosk":
        child_kiosk(args.arg, args.switches)
        return
    sys.path.insert(0, str(ROOT))
    from kiosk.config.fonts import find_cjk_font

    with tempfile.TemporaryDirectory() as tmp:
        font = str(find_cjk_font("", Path(tmp) / "fonts").path)
        # warm the kiosk's font cache once, as a deployed terminal has it after its first start
        measure(["--child", "kiosk", "--arg", tmp, "--switches", str(args.switches)])
        bare_times, kiosk_times, frames, rss_bare, rss_kiosk = [], [], [], [], []
        for _ in range(args.runs):
            elapsed, reports = measure(["--child", "bare", "--arg", font])
            bare_times.append(elapsed)
            rss_bare.append(float(reports[-1]["rss_mb"]))  # type: ignore[arg-type]
            elapsed, reports = measure(["--child", "kiosk", "--arg", tmp, "--switches", str(args.switches)])
            kiosk_times.append(elapsed)
            frames.extend(reports[-1]["frames_ms"])  # type: ignore[arg-type]
            rss_kiosk.append(float(reports[-1]["rss_mb"]))  # type: ignore[arg-type]
    bare, kiosk = statistics.median(bare_times), statistics.median(kiosk_times)
    median_frame = statistics.median(frames)
    print(f"runs: {args.runs}")
    print(
        f"bare Kivy app, first frame:   median {bare:.3f} s  (all: {', '.join(f'{t:.3f}' for t in bare_times)})"
    )
    print(
        f"kiosk home, first frame:      median {kiosk:.3f} s  (all: {', '.join(f'{t:.3f}' for t in kiosk_times)})"
    )
    print(f"ratio kiosk / bare:           {kiosk / bare:.2f}  (target <= 1.30)")
    print(
        f"frames while switching:       {len(frames)} frames, median {median_frame:.1f} ms, "
        f"p95 {statistics.quantiles(frames, n=20)[-1]:.1f} ms, max {max(frames):.1f} ms, "
        f"max/median {max(frames) / median_frame:.2f} (target <= 2.0)"
    )
    print(
        f"resident memory:              bare {statistics.median(rss_bare):.0f} MB, kiosk {statistics.median(rss_kiosk):.0f} MB (target <= 250 MB)"
    )


if __name__ == "__main__":
    main()
