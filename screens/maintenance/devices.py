"""Device dashboard: one card per device in Chinese first: the device's name, a plain status word
in its colour (正常 / 部分可用 / 故障 / 未知), the cause in one sentence, and the details (driver,
port, counters, last error) on request. Refreshed once a second while the page is open (the
status requests run on a worker thread). A simulator's temporary pseudo-terminal path is shown as
"模拟设备", never as a /tmp path."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from screens.maintenance.page import MaintenancePage

REFRESH_S = 1.0
ROLES = ("card_reader", "camera", "printer", "a4_printer", "scanner", "fingerprint")
STATES = ("ok", "degraded", "down", "unknown")


class DeviceCard(BoxLayout):
    body = StringProperty("")  # the details, shown on request
    title = StringProperty("")
    state = StringProperty("unknown")  # drivers.base.Health value
    state_word = StringProperty("")
    cause = StringProperty("")
    open_details = BooleanProperty(False)
    mono_font = StringProperty("Roboto")


def shown_port(port: str, driver: str) -> str:
    """A port as a technician should read it: a simulator's /tmp pseudo-terminal is "simulated"."""
    if not port or port == "-":
        return ""
    return "" if port.startswith("/tmp/") or driver == "simulated" else port


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
        self._cards([(row.role, row.health.state.value, self._details(row)) for row in rows])
        for row in rows:
            card = self.__dict__["_cards_by_role"][row.role]
            detail = row.health.detail or ""
            card.cause = "" if row.health.state.value == "ok" or detail.startswith("/tmp/") else detail

    def _details(self, row: Any) -> str:
        tr, c = self.app.tr, row.counters
        port = shown_port(row.port, row.driver) or tr("maint.card.simulated")
        out = [
            tr("maint.card.driver", driver=row.driver, port=port),
            tr("maint.card.counts", reads=c.reads, prints=c.prints, frames=c.frames, errors=c.errors),
        ]
        if c.last_error:
            out.append(tr("maint.card.last_error", error=c.last_error))
        if row.health.code:
            out.append(tr("maint.card.code", code=row.health.code))
        return "\n".join(out)

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
        tr = self.app.tr
        for role, state, body in shown:
            card = cards[role]
            card.state, card.body = state, body
            card.title = tr(f"maint.card.role.{role}") if role in ROLES else role
            card.state_word = tr(
                f"maint.card.state.{state}" if state in STATES else "maint.card.state.unknown"
            )

    def show_error(self, exc: BaseException) -> None:
        self.text = f"{type(exc).__name__}: {exc}"
        self._cards([("error", "down", self.text)])


PAGE_CLASS = DevicesPage
