"""Soak: hundreds of whole visits back to back in ONE kiosk process, watching for leaks.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python bench/soak.py [--sessions 500] [--every 25]

Every service is walked in turn by the self-test's players (screens/harness/selftest.py: walk_service) on
simulated devices and the local backend; after each visit the done screen's own return to the
attract screen is awaited (a fake clock moved past ``attract_return_s``), so each session ends the
way a resident's does. Resident memory (VmRSS), threads and open file descriptors are sampled every
``--every`` sessions. The figures compare the last sample with the one after the warm-up (the
first pass over all services loads OpenCV, fonts, textures and the step modules once; Kivy's own
caches keep entries for 60 s, so a long run waits 50 sessions, about 9 minutes, before its
baseline), and fit a least-squares trend through the samples after it (MB per 100 sessions).
The kiosk hands freed heap back to the kernel at every return to the attract screen
(kiosk/visit/memory.py); ``SOAK_SMAPS=1`` shows which mappings grow, ``SOAK_TRACE=1`` which Python lines.
Exit 1 if a visit failed, RSS grew by 5 MB or more after warm-up, or threads/fds kept growing.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

RSS_BUDGET_MB = 5.0


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _slope(samples: list[tuple[int, float, int, int]]) -> float:
    """Least-squares MB per session through (session, RSS) samples: a leak's rate, not one sample's noise."""
    xs = [float(x[0]) for x in samples]
    ys = [x[1] for x in samples]
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    den = sum((x - mx) ** 2 for x in xs)
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / den if den else 0.0


def open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


_census: dict[str, int] = {}


def _type_census(n: int) -> None:
    """SOAK_TYPES=1: which object types grew between warm-up and the end (a leak's suspects)."""
    import collections
    import gc

    from kivy.animation import Animation
    from kivy.uix.widget import Widget

    gc.collect()
    counts = collections.Counter(
        type(o).__qualname__ if not issubclass(type(o), (Widget, Animation)) else f"<{type(o).__qualname__}>"
        for o in gc.get_objects()
    )
    if _census:
        grown = sorted(((c - _census.get(t, 0), t) for t, c in counts.items()), reverse=True)[:25]
        grown += [
            (c - _census.get(t, 0), t)
            for t, c in counts.items()
            if t.startswith("<") and c > _census.get(t, 0)
        ]
        print(
            f"  objects grown by session {n}: " + ", ".join(f"{t} +{d}" for d, t in grown if d > 0),
            flush=True,
        )
    _census.clear()
    _census.update(counts)


def _trim() -> None:
    """SOAK_TRIM=1: hand freed heap pages back to the kernel before sampling (glibc malloc_trim), to tell
    fragmentation (RSS that trim gives back) from live allocations (RSS that stays)."""
    import ctypes

    ctypes.CDLL("libc.so.6").malloc_trim(0)


_maps: dict[str, float] = {}


def _smaps(n: int) -> None:
    """SOAK_SMAPS=1: resident memory by mapping ([heap], anonymous, each file) and which ones grew."""
    rss: dict[str, float] = {}
    name = "?"
    for line in Path("/proc/self/smaps").read_text().splitlines():
        fields = line.split()
        if not fields[0].endswith(":"):  # a mapping's header: address perms offset dev inode [path]
            name = fields[5] if len(fields) > 5 else "[anon]"
        elif fields[0] == "Rss:":
            rss[name] = rss.get(name, 0.0) + int(fields[1]) / 1024
    if _maps:
        grown = sorted(((mb - _maps.get(k, 0.0), k) for k, mb in rss.items()), reverse=True)
        shown = ", ".join(f"{k} {d:+.1f}" for d, k in grown[:8] if abs(d) >= 0.1)
        print(f"  resident MB by mapping, change since last sample: {shown}", flush=True)
    _maps.clear()
    _maps.update(rss)


_snapshot: list = []


def _trace(n: int) -> None:
    """SOAK_TRACE=1: Python allocations that grew between warm-up and the end, by source line."""
    import gc
    import tracemalloc

    gc.collect()
    snap = tracemalloc.take_snapshot().filter_traces([tracemalloc.Filter(False, tracemalloc.__file__)])
    if _snapshot:
        stats = snap.compare_to(_snapshot[0], "lineno")
        total = sum(s.size_diff for s in stats) / 1024
        print(f"  python allocations grown by session {n}: {total:+.0f} KiB; top lines:", flush=True)
        for s in stats[:15]:
            print(
                f"    {s.size_diff / 1024:+8.1f} KiB {s.count_diff:+6d} blocks  {s.traceback[0]}", flush=True
            )
    _snapshot[:] = [snap]


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sessions", type=int, default=500)
    parser.add_argument("--every", type=int, default=25, help="sample every N sessions")
    parser.add_argument(
        "--warmup",
        type=int,
        default=0,
        help="sessions before the baseline sample (default: one pass over the services, or 50 when"
        " --sessions is 200 or more: Kivy's caches expire entries after 60 s, so they fill over minutes)",
    )
    args = parser.parse_args()
    from kiosk.visit.memory import tune_allocator

    tune_allocator()  # as kiosk.cli does first thing

    if os.environ.get("SOAK_TRACE"):
        import tracemalloc

        tracemalloc.start(1)
    from kiosk.config.model import load_config
    from kiosk.main import compose, simulate_everything
    from kiosk.visit.idle import FakeClock

    tmp = Path(tempfile.mkdtemp(prefix="kiosk-soak-"))
    site = tmp / "kiosk.toml"
    site.write_text('[kiosk]\ndata_dir = "data"\n[display]\nfullscreen = false\n', encoding="utf-8")
    config = simulate_everything(load_config(site, environ={}))
    from screens.kivy_env import prepare

    prepare(size=config.display.size, fullscreen=False, show_cursor=True, kivy_home=config.data_dir / "kivy")
    clock = FakeClock()
    runtime = compose(config, clock=clock)
    from screens.harness.pilot import Pilot
    from screens.harness.selftest import walk_service

    pilot = Pilot(runtime)
    pilot.clock = clock
    app = pilot.app
    pilot.wait_until(lambda: not runtime.pending_roles(), timeout_s=60, what="the devices to open")
    pilot.wait_until(lambda: runtime.queue is not None, timeout_s=60, what="the request queue")
    services = [s.id for s in runtime.catalogue.services]
    warmup = args.warmup or (50 if args.sessions >= 200 else len(services))
    samples: list[tuple[int, float, int, int]] = []
    failures: list[str] = []
    started = time.monotonic()
    done = 0

    def stop(_signum: int, _frame: object) -> None:
        raise KeyboardInterrupt  # SDL turned SIGTERM into a window-close event the pilot never reads

    signal.signal(signal.SIGTERM, stop)  # after the window: replaces SDL's handler
    try:
        for n in range(1, args.sessions + 1):
            service = services[(n - 1) % len(services)]
            ok, reports = walk_service(pilot, runtime, service)
            released = app.visit_releases
            if not ok:
                bad = next((r for r in reports if not r.ok), None)
                failures.append(f"#{n} {service}: {bad.step if bad else '?'}: {bad.detail if bad else ''}")
                pilot.errors.clear()
                app.cancel()
            else:
                clock.advance(config.session.attract_return_s + 1)
                pilot.wait_until(lambda: pilot.screen == "attract", timeout_s=30, what="the attract screen")
            # nobody comes for a moment: the app releases the visit's memory (screens/app.py)
            pilot.wait_until(
                lambda before=released: app.visit_releases > before, timeout_s=10, what="the visit's release"
            )
            pilot.frames(2)
            if os.environ.get("SOAK_TYPES") and n in (warmup, args.sessions):
                _type_census(n)
            if os.environ.get("SOAK_TRACE") and n in (warmup, args.sessions):
                _trace(n)
            if n in (len(services), warmup, args.sessions) or n % args.every == 0:
                for thread in threading.enumerate():  # the app's own trim at the return to attract
                    if thread.name == "heap-trim":
                        thread.join(10)
                if os.environ.get("SOAK_TRIM"):
                    _trim()
                if os.environ.get("SOAK_SMAPS"):
                    _smaps(n)
                samples.append((n, rss_mb(), threading.active_count(), open_fds()))
                done = n
                print(
                    f"  after {n:4d} sessions: RSS {samples[-1][1]:7.1f} MB, threads {samples[-1][2]:3d}, fds {samples[-1][3]:4d}",
                    flush=True,
                )
    except KeyboardInterrupt:
        print(f"  stopped after {done} sampled sessions; figures so far:", flush=True)
    finally:
        pilot.close()
    elapsed = time.monotonic() - started
    if not any(x[0] >= warmup for x in samples):
        print("stopped before the warm-up ended: no figures")
        return 1
    base = next(s for s in samples if s[0] >= warmup)
    last = samples[-1]
    growth = last[1] - base[1]
    ran = last[0]
    print(
        f"{ran} sessions over {len(services)} services in {elapsed:.0f} s ({elapsed / max(ran, 1):.2f} s each)"
    )
    print(f"failed visits: {len(failures)}")
    for line in failures[:10]:
        print(f"  {line}")
    print(
        f"RSS after warm-up ({base[0]} sessions) {base[1]:.1f} MB -> {last[1]:.1f} MB: growth {growth:+.1f} MB (budget {RSS_BUDGET_MB} MB)"
    )
    after = [x for x in samples if x[0] >= base[0]]
    if len(after) >= 3:
        half = after[len(after) // 2 :]
        print(
            f"RSS trend after warm-up: {_slope(after) * 100:+.2f} MB per 100 sessions"
            f" (second half: {_slope(half) * 100:+.2f}); min {min(x[1] for x in after):.1f},"
            f" max {max(x[1] for x in after):.1f} MB"
        )
    print(f"threads {base[2]} -> {last[2]}, open fds {base[3]} -> {last[3]}")
    leaked = last[2] > base[2] + 1 or last[3] > base[3] + 2
    return 1 if failures or growth >= RSS_BUDGET_MB or leaked else 0


if __name__ == "__main__":
    sys.exit(main())
