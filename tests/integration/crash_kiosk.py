"""The kiosk app as a child process for the crash tests (``tests/integration/test_crash_app.py``).

The real app (real window under Xvfb, simulated devices, the site's external backend) plays
residents through a service with the self-test machinery, and reports on stdout, one JSON object a
line, what a resident would have seen: the first screen after start (and its texts), every
(screen, step) change, and each request whose "submitted" the resident was shown. The parent kills
this process with SIGKILL at chosen moments; it never cleans up after itself on purpose.

    python -m tests.integration.crash_kiosk --config SITE --service ID [--sessions N]
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any


def _say(**event: Any) -> None:
    print(json.dumps(event, ensure_ascii=False), flush=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--config", required=True)
    parser.add_argument("--service", required=True)
    parser.add_argument("--sessions", type=int, default=1)
    args = parser.parse_args()

    from kiosk.config.model import load_config
    from kiosk.main import compose, setup_logging, simulate_everything
    from screens.kivy_env import prepare

    config = simulate_everything(load_config(args.config, overrides={"display": {"fullscreen": False}}))
    setup_logging(config, console=False)
    runtime = compose(config)
    prepare(size=config.display.size, fullscreen=False, show_cursor=True, kivy_home=config.data_dir / "kivy")
    from kivy.clock import Clock

    from screens.harness.pilot import Pilot
    from screens.harness.selftest import walk_service

    pilot = Pilot(runtime)
    app = pilot.app
    _say(event="started", screen=pilot.screen, texts=pilot.visible_texts(), session=app.session is not None)
    seen: list[Any] = [None, None]
    shown: set[str] = set()

    def watch(_dt: float) -> None:
        """Every frame: report what the resident sees change (screen, step, "submitted")."""
        step = app.flow.step.kind if app.flow is not None and not app.flow.finished else None
        now = (pilot.screen, step)
        if now != tuple(seen):
            seen[:] = now
            _say(event="screen", screen=now[0], step=now[1])
        submitted = app.session.artifacts.get("submitted") if app.session is not None else None
        if submitted is not None and submitted.request_id not in shown:
            shown.add(submitted.request_id)
            _say(event="submitted_shown", request_id=submitted.request_id)

    Clock.schedule_interval(watch, 0)
    pilot.wait_until(lambda: not runtime.pending_roles(), timeout_s=60, what="the devices")
    pilot.wait_until(lambda: runtime.queue is not None, timeout_s=60, what="the queue")
    for number in range(args.sessions):
        ok, reports = walk_service(pilot, runtime, args.service)
        _say(event="session", number=number, ok=ok, failed=[r.step for r in reports if not r.ok])
        app.end_session("finished")
        app.show_attract()
        pilot.frames(2)
    queue = runtime.queue
    pilot.wait_until(lambda: queue.outbox.status().pending == 0, timeout_s=60, what="an empty outbox")
    _say(event="drained")
    pilot.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
