"""Device dashboard: each device's live status, port, driver, counters and last error, refreshed
once a second while the page is open (the status requests run on a worker thread)."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import StringProperty
from kivy.uix.boxlayout import BoxLayout

from screens.maintenance.page import MaintenancePage

REFRESH_S = 1.0


class DeviceCard(BoxLayout):
    body = StringProperty("")
    state = StringProperty("unknown")  # drivers.base.Health value
    mono_font = StringProperty("Roboto")


class DevicesPage(MaintenancePage):
    text = StringProperty("")
    refreshed = StringProperty("")  # time of the last refresh, so the technician sees it is live
    mono_font = StringProperty("Roboto")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from kiosk.config.fonts import find_mono_font

        mono = find_mono_font()
        if mono is not None:
            self.mono_font = str(mono)

    def open(self) -> None:
        super().open()
        if not self.text:  # first view: roles and drivers (nothing that blocks) until the rows arrive
            devices = self.runtime.config.devices
            self.text = "\n".join(f"{role:<11} {s.driver}  …" for role, s in devices.items())
            self._cards([(role, "unknown", f"{role}  {s.driver}  …") for role, s in devices.items()])
        self._event = Clock.schedule_interval(lambda _dt: self.refresh(), REFRESH_S)
        self.refresh()

    def close(self) -> None:
        super().close()
        self._event.cancel()

    def refresh(self) -> None:
        if self.busy:
            return  # a printer still answering the last round: do not pile up threads
        from kiosk.maintenance.diagnostics import device_rows

        self.in_background(lambda: device_rows(self.runtime), self._show, name="maintenance-devices")

    def _show(self, rows: Any) -> None:
        import time

        lines: list[str] = []
        for row in rows:
            lines.extend(row.lines())
            lines.append("")
        self.text = "\n".join(lines).rstrip() or self.app.tr("maint.no_devices")
        self.refreshed = time.strftime("%H:%M:%S")
        self._cards([(row.role, row.health.state.value, "\n".join(row.lines())) for row in rows])

    def _cards(self, shown: list[tuple[str, str, str]]) -> None:
        """One card per device, two columns in landscape; cards are kept and updated in place."""
        grid = self.ids.cards
        cards: dict[str, Any] = self.__dict__.setdefault("_cards_by_role", {})
        if [role for role, _s, _b in shown] != list(cards):
            grid.clear_widgets()
            cards.clear()
            for role, _state, _body in shown:
                cards[role] = DeviceCard(mono_font=self.mono_font)
                grid.add_widget(cards[role])
        for role, state, body in shown:
            cards[role].state, cards[role].body = state, body

    def show_error(self, exc: BaseException) -> None:
        self.text = f"{type(exc).__name__}: {exc}"
        self._cards([("error", "down", self.text)])


PAGE_CLASS = DevicesPage
