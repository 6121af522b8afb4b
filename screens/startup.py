"""The app's process-level plumbing: the event loop's exception handler, the systemd watchdog
pings, and the restart a technician asks for. Nothing here decides anything about a visit."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable

from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock

from kiosk.runtime import Runtime

log = logging.getLogger(__name__)


class CalmExceptionHandler(ExceptionHandler):
    """Unexpected exceptions in the event loop end the visit calmly instead of killing the kiosk."""

    def __init__(self, fail: Callable[[BaseException], None]) -> None:
        super().__init__()
        self.fail = fail

    def handle_exception(self, inst: BaseException) -> int:
        if isinstance(inst, KeyboardInterrupt | SystemExit):
            return ExceptionManager.RAISE
        self.fail(inst)
        return ExceptionManager.PASS


def start_watchdog_pings() -> None:
    """Tell systemd the kiosk is up, then ping it from the UI thread's clock: a frozen UI stops the
    pings and systemd restarts the process. Nothing happens outside systemd."""
    from kiosk.maintenance.watchdog import SystemdNotifier

    notifier = SystemdNotifier()
    if notifier.enabled:
        Clock.schedule_once(lambda _dt: notifier.ready(), 0.5)  # after the first frames
        if notifier.ping_interval_s:
            Clock.schedule_interval(lambda _dt: notifier.ping(), notifier.ping_interval_s)


def restart_process(runtime: Runtime) -> None:
    """Replace this process by a fresh kiosk (maintenance action); systemd would do the same on exit."""
    log.warning("restart requested from maintenance mode")
    runtime.close()
    os.execv(sys.executable, [sys.executable, "-m", "kiosk.cli", *sys.argv[1:]])
