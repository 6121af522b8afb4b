"""The maintenance PIN pad. Reached from the attract screen by a hidden gesture (five taps in the
top-left corner within four seconds). The PIN check (scrypt, slow by design) runs on a worker
thread; wrong PINs lock the pad for a growing time (kiosk/maintenance/gate.py)."""

from __future__ import annotations

import threading
from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from screens.base import KioskScreen


class MaintenancePinScreen(KioskScreen):
    entry = StringProperty("")
    message = StringProperty("")
    busy = BooleanProperty(False)

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

        def work() -> None:
            attempt = gate.try_pin(pin)
            self.app.post(lambda: self._answer(attempt))

        threading.Thread(target=work, name="pin-check", daemon=True).start()

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

    def reset(self) -> None:
        self.entry = self.message = ""


SCREEN_CLASS = MaintenancePinScreen
