"""Self-test players of the vehicle register's steps (screens/steps/vehicle_checks.py): confirm
the record the backend shows, or type the demo holder's health-check record number. The demo
backend knows them (kiosk/queue/demo_vehicles.py); on a real terminal the technician's test
resident must be enrolled likewise (``kiosk-backend vehicles ...``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kiosk.queue.demo_vehicles import HEALTH_RECORD


class VehicleStepFailure(Exception):
    """The step stopped where a resident with the demo data should go on."""


def _confirm_record(pilot: Any, _step: Any) -> None:
    widget = pilot.app.screen("step").widget
    pilot.wait_until(
        lambda: widget.answered or widget.refused or widget.offline, timeout_s=20, what="the record"
    )
    if not widget.answered:
        raise VehicleStepFailure(widget.message or "the record was not shown")
    pilot.tap(pilot.app.tr("vehicle.confirm"))


def _health_record(pilot: Any, _step: Any) -> None:
    widget = pilot.app.screen("step").widget
    for key in HEALTH_RECORD:
        pilot.tap(key, exact=True)
    pilot.wait_until(lambda: widget.wants_next, what="the whole record number")
    pilot.tap(pilot.app.tr("app.next"))


VEHICLE_PLAYERS: dict[str, Callable[[Any, Any], None]] = {
    "licence_check": _confirm_record,
    "owner_check": _confirm_record,
    "inspection_check": _confirm_record,
    "health_check": _health_record,
}
