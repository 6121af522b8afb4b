"""The maintenance PIN pad. Reached from the attract screen by a hidden gesture (five taps in the
top-left corner within four seconds). The PIN check (scrypt, slow by design) runs on a worker
thread; wrong PINs lock the pad for a growing time (kiosk/maintenance/gate.py). A check that cannot
be made (the gate's state file cannot be written: a full or read-only disk) leaves the pad usable,
with the cause for the technician."""

from __future__ import annotations

import logging
from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.work import Tasks
from screens.base import KioskScreen

log = logging.getLogger(__name__)


class MaintenancePinScreen(KioskScreen):
    entry = StringProperty("")
    message = StringProperty("")
    busy = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tasks = Tasks(self.app.post, self.app.fail)  # the PIN check; cancelled when left

    def keys(self) -> list[str]:
        return ["1", "2", "3", "4", "5", "6", "7", "8", "9", "", "0", "⌫"]

    def press(self, key: str) -> None:
        if self.busy:
            return
        if key == "⌫":
            self.entry = self.entry[:-1]
        elif key == "clear":
            self.entry = ""
        elif key and len(self.entry) < 12:
            self.entry += key

    def submit(self) -> None:
        if self.busy:
            return
        gate = self.app.runtime.gate
        pin, self.entry = self.entry, ""
        self.busy = True
        self.message = self.app.tr("maint.checking")

        self._tasks.run(lambda: gate.try_pin(pin), self._answer, self._check_failed, name="pin-check")

    def _answer(self, attempt: Any) -> None:
        self.busy = False
        if attempt.granted:
            self.message = ""
            self.app.show("maintenance")
        elif attempt.reason == "locked" or attempt.locked_for_s:
            self.message = self.app.tr("maint.locked", seconds=int(attempt.locked_for_s + 0.999))
        elif attempt.reason == "no_pin_configured":
            self.message = self.app.tr("maint.no_pin")
        else:
            self.message = self.app.tr("maint.wrong_pin", failures=attempt.failures)

    def _check_failed(self, exc: Exception) -> None:
        if not isinstance(exc, OSError):
            raise exc  # a bug, not the disk: the app's fail shows the calm error screen
        log.error("maintenance PIN check failed: %s: %s", type(exc).__name__, exc)
        self.busy = False
        self.message = self.app.tr("maint.pin_error", cause=f"{type(exc).__name__}: {exc.strerror or exc}")

    def on_pre_leave(self, *_args: Any) -> None:
        """Left before the check answered (idle, the attract screen): the answer opens nothing."""
        self._tasks.cancel()
        self.busy = False

    def reset(self) -> None:
        self.entry = self.message = ""


SCREEN_CLASS = MaintenancePinScreen
