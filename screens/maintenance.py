"""The maintenance screen: device dashboard, log and audit views, restart. Reached through the
PIN screen (``maintenance_pin``); every view and action is written to the audit log."""

from __future__ import annotations

from collections import deque
from typing import Any

from kivy.clock import Clock
from kivy.properties import StringProperty

from screens.base import KioskScreen

LOG_LINES = 200


class MaintenanceScreen(KioskScreen):
    tab = StringProperty("devices")
    text = StringProperty("")
    mono_font = StringProperty("Roboto")  # aligned device table; CJK default font when none

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from kiosk.fonts import find_mono_font

        mono = find_mono_font()
        if mono is not None:
            self.mono_font = str(mono)

    def on_enter(self, *_args: Any) -> None:
        self.app.runtime.services["maintenance"].audit.record("maintenance.view", tab=self.tab)
        self._event = Clock.schedule_interval(lambda _dt: self.refresh(), 1.0)
        self.refresh()

    def on_leave(self, *_args: Any) -> None:
        self._event.cancel()

    def show_tab(self, tab: str) -> None:
        self.tab = tab
        self.refresh()

    def refresh(self) -> None:
        if self.tab == "devices":
            self.text = self._devices()
        elif self.tab == "logs":
            self.text = self._log_tail()
        else:
            entries = self.app.runtime.services["maintenance"].audit.tail(40)
            self.text = "\n".join(
                f"{e['at']:.0f}  {e['action']}  {e['outcome']}  "
                + " ".join(f"{k}={v}" for k, v in e.items() if k not in ("at", "action", "outcome"))
                for e in entries
            )

    def _devices(self) -> str:
        from screens.tour import device_lines

        lines, _ok = device_lines(self.app.runtime)
        return "\n".join(lines) or self.app.tr("maint.no_devices")

    def _log_tail(self) -> str:
        path = self.app.runtime.config.log_dir / "kiosk.log"
        try:
            with path.open(encoding="utf-8", errors="replace") as fh:
                return "".join(deque(fh, maxlen=LOG_LINES))  # already masked by the log filter
        except OSError as exc:
            return f"{path}: {exc.strerror}"

    def restart(self) -> None:
        self.app.runtime.services["maintenance"].audit.record("maintenance.restart")
        self.app.restart()

    def leave(self) -> None:
        self.app.runtime.services["maintenance"].audit.record("maintenance.leave")
        self.app.show_attract()


SCREEN_CLASS = MaintenanceScreen
