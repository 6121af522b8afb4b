"""Kivy-free engines of the steps that need the identified resident to own the vehicle: the owner
check before a plate or vehicle licence is re-issued (``owner_check``), and the inspection-exempt
vehicle's sticker (``inspection_check``); and the fee a re-issue costs (:func:`reissue_fee`).

The backend says whether the resident is the registered owner and, for the owner only, the
vehicle's record with its insurance and outstanding violations (backend/vehicles.py); the rules are
the step's ``rules`` table in ``config/services.toml``. Nothing is filed for someone who is not the
owner: the step stops with a result screen before any form is shown.

The inspection exemption (公安部、国家市场监督管理总局《关于深化机动车检验制度改革优化车检服务工作的
意见》, in force 2022-10-01): a non-commercial small or mini passenger car other than a van is exempt
from the station for 10 years; it is inspected at the station in years 6 and 10 and otherwise,
every two years, its owner applies for the sticker (检验标志) alone, provided the compulsory
insurance (交强险) is valid and every traffic violation is processed; a vehicle that was in an
accident with injuries goes to the station. An application is taken in the 3 months before the
due date (道路交通安全法实施条例 art. 16; ``apply_window_days``).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.steps.backend_step import (
    ANSWERED,
    DONE,
    REFUSED,
    BackendEngine,
    Closable,
    LookupState,
    MalformedAnswer,
    Runner,
    Visit,
)
from kiosk.steps.licence import holder_number

log = logging.getLogger(__name__)


class OwnerClient(Closable, Protocol):
    def owner_check(self, id_number: str, plate: str) -> dict[str, Any] | None: ...


@dataclass(frozen=True)
class OwnerState(LookupState):
    rows: tuple[tuple[str, str], ...] = ()  # (label message key, value) of the owner's vehicle
    detail: str = ""  # a date a stop names


def plate_type_label(rules: Mapping[str, Any], plate_type: str, lang: str) -> str:
    """The plate type as the resident reads it (the ``plate_types`` list of the step's rules)."""
    for item in rules.get("plate_types", ()):
        if item.get("value") == plate_type:
            return str(item.get(lang) or item.get("zh") or plate_type)
    return plate_type


class OwnerCheckEngine(BackendEngine[OwnerState]):
    """The backend confirms that the identified resident owns the plate typed before; the vehicle
    is shown for the resident to confirm. Not the owner, an unknown plate, or a vehicle not in a
    normal state stop the service."""

    kind = "owner_check"

    def __init__(
        self,
        visit: Visit,
        clients: Callable[[], Any],
        tasks: Runner,
        rules: Mapping[str, Any] | None = None,
        today: Callable[[], dt.date] = dt.date.today,
        on_change: Callable[[OwnerState], None] | None = None,
    ) -> None:
        super().__init__(clients, tasks, OwnerState(), on_change)
        self.visit, self.rules, self.today = visit, dict(rules or {}), today

    def start(self) -> None:
        number, plate = holder_number(self.visit), str(self.visit.values.get("plate", ""))

        def ask(client: OwnerClient) -> dict[str, Any] | None:
            answer = client.owner_check(number, plate)
            if answer is None:
                return None
            if not isinstance(answer, Mapping) or "owner" not in answer:
                raise MalformedAnswer("owner-check answer without 'owner'")
            if answer["owner"] and not isinstance(answer.get("vehicle"), Mapping):
                raise MalformedAnswer("owner-check answer for the owner without the vehicle")
            return dict(answer)

        self._call(ask, self._answer, "owner.busy", rows=(), detail="")

    def _answer(self, answer: dict[str, Any] | None) -> None:
        if answer is None:
            self._set(phase=REFUSED, message_key="owner.unknown_plate")
            return
        if not answer["owner"]:
            log.info("owner check: the identified resident is not the registered owner")
            self._set(phase=REFUSED, message_key="owner.not_owner")
            return
        vehicle = dict(answer["vehicle"])
        if vehicle.get("status", "normal") != "normal":
            log.info("owner check: vehicle status %s", vehicle.get("status"))
            self._set(phase=REFUSED, message_key="owner.vehicle_status")
            return
        stop = self.stop_for(vehicle)
        if stop:
            self._set(phase=REFUSED, message_key=stop[0], detail=stop[1])
            return
        self.visit.artifacts["vehicle"] = vehicle
        self.visit.values["plate_type"] = str(vehicle.get("plate_type", ""))
        rows = (
            ("lookup.plate", str(vehicle.get("plate", ""))),
            ("owner.row.plate_type", str(vehicle.get("plate_type", ""))),  # the screen names it
            ("lookup.brand", str(vehicle.get("brand", ""))),
            ("lookup.colour", str(vehicle.get("colour", ""))),
        )
        self._set(phase=ANSWERED, message_key=self.confirm_key, rows=rows)

    confirm_key = ""  # the title row asks to check the vehicle: nothing more to say

    def stop_for(self, vehicle: Mapping[str, Any]) -> tuple[str, str] | None:
        """A rule of this step that stops the service for this vehicle: (message key, detail)."""
        return None

    def confirm(self) -> None:
        """The resident confirms: this is my vehicle."""
        if self.state.phase == ANSWERED and not self.left:
            self._set(phase=DONE)


# -- the inspection-exempt vehicle's sticker ------------------------------------------------------


@dataclass(frozen=True)
class InspectionRules:
    exempt_plate_types: tuple[str, ...] = ("small", "new_energy_small")
    exempt_body_types: tuple[str, ...] = ("sedan", "suv", "mpv")  # not vans (面包车)
    exempt_use_types: tuple[str, ...] = ("non_commercial",)
    sticker_years: tuple[int, ...] = (2, 4, 8)  # anniversaries at which the sticker alone is issued
    station_years: tuple[int, ...] = (6, 10)  # anniversaries inspected at the station
    apply_window_days: int = 90  # taken in the 3 months before the due date

    @classmethod
    def of(cls, rules: Mapping[str, Any]) -> InspectionRules:
        known: dict[str, Any] = {}
        for key, value in rules.items():
            if key in cls.__dataclass_fields__:
                known[key] = tuple(value) if isinstance(value, list | tuple) else value
        return cls(**known)


def _anniversary(start: dt.date, years: int) -> dt.date:
    try:
        return start.replace(year=start.year + years)
    except ValueError:  # registered on 29 February
        return dt.date(start.year + years, 2, 28)


def next_due(registered: dt.date, today: dt.date, every: int = 2) -> tuple[int, dt.date]:
    """The next inspection anniversary (every two years from registration) on or after today."""
    years = every
    while _anniversary(registered, years) < today:
        years += every
    return years, _anniversary(registered, years)


class InspectionCheckEngine(OwnerCheckEngine):
    """The owner's vehicle must be exempt, in a sticker year and its window, insured, and without
    an outstanding violation; else a result screen says what to do instead."""

    kind = "inspection_check"

    def stop_for(self, vehicle: Mapping[str, Any]) -> tuple[str, str] | None:
        rules = InspectionRules.of(self.rules)
        if (
            vehicle.get("plate_type") not in rules.exempt_plate_types
            or vehicle.get("body_type") not in rules.exempt_body_types
            or vehicle.get("use_type") not in rules.exempt_use_types
        ):
            return "inspection.not_exempt", ""
        if vehicle.get("injury_accident"):
            return "inspection.station", ""
        try:
            registered = dt.date.fromisoformat(str(vehicle.get("registered")))
        except ValueError as exc:
            raise MalformedAnswer("a vehicle without a usable 'registered' date") from exc
        today = self.today()
        years, due = next_due(registered, today)
        if years not in rules.sticker_years:  # years 6 and 10, and every year after 10
            return "inspection.station", due.isoformat()
        opens = due - dt.timedelta(days=rules.apply_window_days)
        if today < opens:
            return "inspection.too_early", opens.isoformat()
        if not vehicle.get("insurance_ok"):
            return "inspection.no_insurance", ""
        if int(vehicle.get("violations_outstanding") or 0) > 0:
            return "inspection.violations", str(int(vehicle["violations_outstanding"]))
        self.visit.values["inspection_due"] = due.isoformat()
        return None


# -- what a re-issue costs ------------------------------------------------------------------------


def reissue_fee(rules: Mapping[str, Any], values: Mapping[str, Any], default_fen: int) -> dict[str, Any]:
    """The fee of a plate re-issue as data: the plate type's fee (``plate_fees_fen``), plus a
    temporary plate (``temporary_plate_fen``) when one was asked for. ``{"amount_fen", "items":
    [(message key, fen), ...]}``; the service's ``fee_fen`` when the type is not listed."""
    fees = rules.get("plate_fees_fen") or {}
    plate_type = str(values.get("plate_type", ""))
    plate_fen = int(fees.get(plate_type, default_fen))
    items: list[tuple[str, int]] = [("fee.plate", plate_fen)]
    if values.get("temporary_plate") == "yes":
        items.append(("fee.temporary_plate", int(rules.get("temporary_plate_fen", 0))))
    return {"amount_fen": sum(fen for _key, fen in items), "items": items}
