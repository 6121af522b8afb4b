"""The app's process-level plumbing: the event loop's exception handler, the systemd watchdog
pings, the restart a technician asks for, and the input lock (no keyboard for residents, no way
to close the window). Nothing here decides anything about a visit."""

from __future__ import annotations

import logging
import os
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

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


# Kivy key codes (kivy/core/window: SDL keys mapped to Kivy's numbering)
KEY_ESCAPE, KEY_F1, KEY_F4 = 27, 282, 285
KEY_EVENTS = ("on_key_down", "on_key_up", "on_keyboard", "on_textinput", "on_textedit")


def key_allowed(key: int | None, modifiers: Sequence[str], *, technician: bool) -> bool:
    """Whether a key event may reach the app. Residents have only the touchscreen: no key at all
    (a keyboard plugged into the terminal, a barcode scanner typing as one). The technician's
    keyboard works on the maintenance screen, but never F1 (Kivy's settings panel), Escape
    (Kivy's default closes the app) or Alt+F4 (a window manager's close)."""
    if key in (KEY_ESCAPE, KEY_F1) or (key == KEY_F4 and "alt" in modifiers):
        return False
    return technician


class InputLock:
    """Swallows the window's keyboard events outside the maintenance screen, and close requests.

    Bound on the window after the app's own handlers (Kivy calls the last bound first), so a
    refused key reaches neither Kivy's F1/Escape handling nor a widget holding the keyboard.
    ``technician`` says whether the technician's keyboard is allowed now. A close request from the
    window system (a window manager's Alt+F4 or close button) is refused; systemd still stops the
    kiosk with SIGTERM, which ends the event loop directly."""

    def __init__(self, technician: Callable[[], bool]) -> None:
        self.technician = technician
        self.refused = 0  # key events swallowed (tests, diagnostics)

    def install(self, window: Any) -> None:
        window.bind(on_key_down=self._key, on_key_up=self._key, on_keyboard=self._key)
        window.bind(on_textinput=self._text, on_textedit=self._text)
        window.bind(on_request_close=self._close)
        _stop_on_sigterm()

    def _key(self, _window: Any, key: int, _scancode: Any = None, _codepoint: Any = None, *rest: Any) -> bool:
        modifiers = rest[0] if rest and rest[0] else ()
        if key_allowed(key, modifiers, technician=self.technician()):
            return False
        self.refused += 1
        return True  # handled: nothing after this handler sees the key

    def _text(self, _window: Any, *_args: Any) -> bool:
        if self.technician():
            return False
        self.refused += 1
        return True

    def _close(self, *_args: Any, **_kwargs: Any) -> bool:
        log.warning("a request to close the kiosk window was refused")
        return True


def _stop_on_sigterm() -> None:
    """SIGTERM (``systemctl stop``, a shutdown) ends the event loop as SDL's own handler would
    have done through a close request, which :class:`InputLock` now refuses."""
    import signal

    from kivy.base import EventLoop

    def stop(_signum: int, _frame: Any) -> None:
        EventLoop.quit = True

    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, stop)
