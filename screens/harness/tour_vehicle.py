"""The tour's pictures of the vehicle register's steps (screens/steps/vehicle_checks.py): each
step while the backend is asked (held), then with the record the demo backend answers, and once
each, every stop's result screen, drawn from engine states (the real look-up is stopped first, so
nothing races the picture)."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from kiosk.steps.backend_step import REFUSED

# the stops pictured, and the detail (a date, a count) each shows
LICENCE_STOPS = {"licence.too_early": "2027-03-02", "licence.expired": "2026-11-30", "licence.unknown": "",
                 "licence.not_normal": ""}  # fmt: skip
HEALTH_STOPS = {"health.record_unknown": "", "health.record_failed": "",
                "health.record_expired": "2025-10-28", "health.record_last_cycle": "2026-06-01"}  # fmt: skip
OWNER_STOPS = {"owner.not_owner": "", "owner.unknown_plate": "", "owner.vehicle_status": ""}
INSPECTION_STOPS = {"inspection.not_exempt": "", "inspection.station": "2026-12-30",
                    "inspection.too_early": "2027-04-01", "inspection.no_insurance": "",
                    "inspection.violations": "2"}  # fmt: skip
HEALTH_DIGITS = "3301202600000017"  # the demo holder's record (kiosk/queue/demo_vehicles.py)


class VehicleTour:
    """Settle methods for :class:`screens.harness.tour_steps.StepTour` (a mixin: it provides
    ``pilot``, ``shot`` and ``_once``)."""

    pilot: Any
    shot: Any  # the tour's picture callback

    def _once(self, state: str) -> bool:
        raise NotImplementedError  # StepTour's

    def _record(self, widget: Any, name: str, hold: Any, stops: dict[str, str]) -> None:
        self.pilot.wait_until(lambda: widget.busy, what="the look-up to start")
        self.shot(f"{name}-busy")
        hold.release()
        self.pilot.wait_until(
            lambda: widget.answered or widget.refused or widget.offline, timeout_s=20, what="the record"
        )
        self.shot(name)
        if self._once(f"stops-{next(iter(stops))}"):
            self._stops(widget, name, stops)

    def _stops(self, widget: Any, name: str, stops: dict[str, str]) -> None:
        widget.engine.leave()
        for key, detail in stops.items():
            widget.render(replace(widget.engine.state, phase=REFUSED, message_key=key, detail=detail))
            self.shot(f"{name}-{key.split('.', 1)[1]}")

    def _licence_check(self, widget: Any, name: str, hold: Any, _printer: Any) -> None:
        self._record(widget, name, hold, LICENCE_STOPS)

    def _owner_check(self, widget: Any, name: str, hold: Any, _printer: Any) -> None:
        self._record(widget, name, hold, OWNER_STOPS)

    def _inspection_check(self, widget: Any, name: str, hold: Any, _printer: Any) -> None:
        self._record(widget, name, hold, INSPECTION_STOPS)

    def _health_check(self, widget: Any, name: str, hold: Any, _printer: Any) -> None:
        self.shot(name)
        if not self._once("health-check"):
            return
        for key in HEALTH_DIGITS:
            self.pilot.tap(key, exact=True)
        self.shot(f"{name}-typed")
        self._stops(widget, name, HEALTH_STOPS)
