"""The traffic-violation step's rules, Kivy-free: violations processed, not only paid.

How the resident came (the form's ``lookup_by``) decides what the backend is asked and what the
screen may show:

- ``card``: identified by ID card and face check. The driving-licence number is the ID number; the
  backend answers the licence (class, status, points this scoring cycle) and the violations of the
  vehicles registered to the holder, with times and places (they are the holder's own).
- ``decision``: a penalty decision number (决定书编号) typed from the notice. Paying a decided fine
  needs no identification, so the answer shows no one's time or place: what, how much, the date
  of the decision.
- ``plate``: a plate alone shows what is outstanding and how much, never when or where (anyone can
  type a plate); nothing can be processed or paid this way.

The rules (:class:`FineRules`, data in ``config/services.toml``, the step's ``rules`` table):

- only fines up to ``fine_limit_fen`` (default ￥200) are processed here; a larger one is shown,
  not choosable, and the resident is sent to the vehicle office;
- a camera-recorded violation not yet processed is first confirmed: the points it adds are shown,
  and confirming issues its decision number (the backend's); only then is it paid;
- confirming stops with a result screen when the cycle's points would reach ``full_points`` (12,
  满分): the licence is then dealt with at the vehicle office (满分学习), not at a kiosk;
- a decided fine unpaid after ``late_fee_after_days`` (15) days owes a late fee (加处罚款) of
  ``late_fee_percent_per_day`` (3 %) of the fine a day, never more than the fine itself, shown on
  its own line (行政处罚法 第七十二条).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kiosk.steps.backend_step import (
    ANSWERED,
    DONE,
    FINISHED,
    REFUSED,
    BackendEngine,
    Closable,
    LookupState,
    MalformedAnswer,
    Runner,
    Visit,
)

log = logging.getLogger(__name__)

CARD, PLATE, DECISION = "card", "plate", "decision"
OVER_LIMIT, NEEDS_CARD = "over_limit", "needs_card"  # why a violation cannot be chosen here


class FinesClient(Closable, Protocol):
    def fines_of_holder(self, id_number: str) -> dict[str, Any]: ...

    def fines_by_plate(self, plate: str) -> list[dict[str, Any]]: ...

    def fine_by_decision(self, decision_no: str) -> dict[str, Any] | None: ...

    def decide_fines(self, id_number: str, violation_ids: list[str]) -> dict[str, Any]: ...


@dataclass(frozen=True)
class FineRules:
    fine_limit_fen: int = 20000
    full_points: int = 12
    late_fee_after_days: int = 15
    late_fee_percent_per_day: int = 3

    @classmethod
    def from_rules(cls, rules: Mapping[str, Any]) -> FineRules:
        """The step's ``rules`` table; an unknown key or a value that is not a whole number >= 0 is
        a configuration error (ValueError naming it), not a silent default."""
        known = cls.__dataclass_fields__
        values: dict[str, int] = {}
        for key, value in rules.items():
            if key not in known:
                raise ValueError(f"violations rules: unknown key {key!r} (known: {', '.join(known)})")
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"violations rules: {key} must be a whole number >= 0, not {value!r}")
            values[key] = value
        return cls(**values)


def late_fee_fen(amount_fen: int, decided_at: str, today: dt.date, rules: FineRules) -> int:
    """The late fee owed today on a fine decided on ``decided_at`` (ISO date; empty: none)."""
    if not decided_at:
        return 0
    days_late = (today - dt.date.fromisoformat(decided_at[:10])).days - rules.late_fee_after_days
    if days_late <= 0:
        return 0
    return min(amount_fen, amount_fen * rules.late_fee_percent_per_day * days_late // 100)


def _item(raw: Any, mode: str, today: dt.date, rules: FineRules) -> dict[str, Any]:
    if not isinstance(raw, Mapping) or not raw.get("violation_id"):
        raise MalformedAnswer("a violation without a 'violation_id'")
    try:
        amount, points = int(raw["amount_fen"]), int(raw.get("points", 0) or 0)
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedAnswer("a violation without a usable 'amount_fen'") from exc
    decided = bool(raw.get("decision_no")) or bool(raw.get("decided"))
    item = {k: raw.get(k, "") or "" for k in ("description_zh", "description_en", "decision_no")}
    if mode == CARD:  # the holder's own records: when and where
        item.update({k: raw.get(k, "") or "" for k in ("date", "place_zh", "place_en")})
    item.update(violation_id=str(raw["violation_id"]), amount_fen=amount, points=points, decided=decided)
    item["decided_at"] = str(raw.get("decided_at") or "") if decided else ""
    item["late_fee_fen"] = late_fee_fen(amount, item["decided_at"], today, rules)
    item["why_not"] = NEEDS_CARD if mode == PLATE else OVER_LIMIT if amount > rules.fine_limit_fen else ""
    return item


@dataclass(frozen=True)
class ViolationsState(LookupState):
    mode: str = CARD
    items: tuple[dict[str, Any], ...] = ()
    chosen: tuple[str, ...] = ()  # violation ids the resident will process and pay
    answered: bool = False
    licence: Mapping[str, Any] | None = None  # card mode: class, status, points, points_left
    confirming: bool = False  # the confirm sheet of camera-recorded violations shows
    full_points: int = 12

    def _chosen(self) -> list[dict[str, Any]]:
        return [v for v in self.items if v["violation_id"] in self.chosen]

    @property
    def fine_fen(self) -> int:
        return sum(int(v["amount_fen"]) for v in self._chosen())

    @property
    def late_fee_fen(self) -> int:
        return sum(int(v["late_fee_fen"]) for v in self._chosen())

    @property
    def total_fen(self) -> int:
        return self.fine_fen + self.late_fee_fen

    @property
    def to_confirm(self) -> tuple[dict[str, Any], ...]:
        """The chosen violations without a decision yet (camera-recorded, to be confirmed)."""
        return tuple(v for v in self._chosen() if not v["decided"])

    @property
    def points_to_add(self) -> int:
        return sum(int(v["points"]) for v in self.to_confirm)

    @property
    def points_after(self) -> int:
        """The cycle's points once the chosen violations are confirmed."""
        return int((self.licence or {}).get("points", 0)) + self.points_to_add

    @property
    def choosable(self) -> tuple[str, ...]:
        return tuple(v["violation_id"] for v in self.items if not v["why_not"])

    @property
    def nothing_due(self) -> bool:
        return self.answered and not self.items


class ViolationsEngine(BackendEngine[ViolationsState]):
    """One violations step of one visit (see the module's rules). Events: ``start``, ``toggle``,
    ``choose_all``, ``pay`` (the main button), ``confirm`` (on the confirm sheet), ``back``,
    ``finish`` (nothing due), ``leave``."""

    kind = "violations"

    def __init__(
        self,
        visit: Visit,
        clients: Callable[[], Any],
        tasks: Runner,
        on_change: Callable[[ViolationsState], None] | None = None,
        *,
        rules: FineRules | None = None,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self.rules = rules or FineRules()
        super().__init__(clients, tasks, ViolationsState(full_points=self.rules.full_points), on_change)
        self.visit = visit
        self._today = today

    @property
    def mode(self) -> str:
        how = str(self.visit.values.get("lookup_by", ""))
        if how in (PLATE, DECISION, CARD):
            return how
        return CARD if self._id_number() else PLATE

    def _id_number(self) -> str:
        return str(getattr(self.visit.identity, "id_number", "") or self.visit.values.get("id_number", ""))

    # -- the look-up -------------------------------------------------------------------------------
    def start(self) -> None:
        mode, today, rules = self.mode, self._today(), self.rules
        number, plate = self._id_number(), str(self.visit.values.get("plate", ""))
        decision_no = str(self.visit.values.get("decision_no", ""))

        def ask(client: FinesClient) -> tuple[Mapping[str, Any] | None, tuple[dict[str, Any], ...], bool]:
            if mode == DECISION:
                fine = client.fine_by_decision(decision_no)
                if fine is None:
                    return None, (), False
                return None, (_item(fine, mode, today, rules),), bool(fine.get("paid"))
            if mode == PLATE:
                return None, tuple(_item(v, mode, today, rules) for v in client.fines_by_plate(plate)), False
            found = client.fines_of_holder(number)
            if not isinstance(found, Mapping) or not isinstance(found.get("violations"), list):
                raise MalformedAnswer("fines answer without 'violations'")
            items = tuple(_item(v, mode, today, rules) for v in found["violations"])
            return found.get("licence"), items, False

        self._call(ask, self._answer, "lookup.violations_busy", mode=mode)

    def _answer(self, found: tuple[Mapping[str, Any] | None, tuple[dict[str, Any], ...], bool]) -> None:
        licence, items, paid = found
        mode = self.state.mode
        base = {"items": items, "licence": dict(licence) if licence else None, "answered": True}
        if mode == DECISION and not items:
            self._set(phase=REFUSED, message_key="fines.decision_unknown", **base)
        elif paid:
            self._set(phase=REFUSED, message_key="fines.decision_paid", **base)
        elif mode == CARD and licence is None:
            self._set(phase=REFUSED, message_key="fines.no_licence", **base)
        elif mode == CARD and (licence or {}).get("status") != "valid":
            self._set(phase=REFUSED, message_key="fines.licence_invalid", **base)
        elif not items:
            self._set(phase=ANSWERED, message_key="lookup.violations_none", chosen=(), **base)
        elif mode == PLATE:
            self._set(phase=ANSWERED, message_key="fines.plate_only", chosen=(), **base)
        else:
            choosable = tuple(v["violation_id"] for v in items if not v["why_not"])
            key = "lookup.violations_found" if choosable else "fines.over_limit"
            self._set(phase=ANSWERED if choosable else REFUSED, message_key=key, chosen=choosable, **base)

    # -- choosing ----------------------------------------------------------------------------------
    def toggle(self, violation_id: str) -> None:
        """Choose a violation, or leave it out (only those this kiosk may process)."""
        if self.left or self.state.confirming or violation_id not in self.state.choosable:
            return
        chosen = list(self.state.chosen)
        if violation_id in chosen:
            chosen.remove(violation_id)
        else:
            chosen.append(violation_id)
        self._set(chosen=tuple(chosen))

    def choose_all(self) -> None:
        """全选: every choosable violation; when all already are, none (the same button undoes it)."""
        every = self.state.choosable
        if self.left or self.state.confirming or not every:
            return
        self._set(chosen=() if set(self.state.chosen) == set(every) else every)

    # -- confirming and paying ---------------------------------------------------------------------
    def pay(self) -> None:
        """The main button. Camera-recorded violations among the chosen are confirmed first (the
        sheet shows their points), unless confirming would reach the full points: a stop. Decided
        ones go to the payment step with their total and late fees."""
        state = self.state
        if self.left or not state.chosen or state.phase != ANSWERED:
            return
        if state.confirming:
            self.confirm()
            return
        if state.to_confirm:
            if state.points_after >= self.rules.full_points:
                log.info("violations: %d points after confirming reach the full %d",
                         state.points_after, self.rules.full_points)  # fmt: skip
                self._set(phase=REFUSED, message_key="fines.points_full")
            else:
                self._set(confirming=True, message_key="fines.confirm_points")
            return
        chosen = state._chosen()
        self.visit.artifacts["violations"] = {
            "violation_ids": [v["violation_id"] for v in chosen],
            "decision_nos": [v["decision_no"] for v in chosen],
            "fine_fen": state.fine_fen,
            "late_fee_fen": state.late_fee_fen,
            "amount_fen": state.total_fen,
            "items": [dict(v) for v in chosen],
        }
        self._set(phase=DONE)

    def confirm(self) -> None:
        """The resident confirms the camera-recorded violations: the backend issues the decisions."""
        state = self.state
        if self.left or not state.confirming:
            return
        ids, number = [v["violation_id"] for v in state.to_confirm], self._id_number()

        def decide(client: FinesClient) -> dict[str, Any]:
            answer = client.decide_fines(number, ids)
            if not isinstance(answer, Mapping):
                raise MalformedAnswer("decision answer that is not an object")
            return dict(answer)

        self._call(decide, self._decided, "fines.deciding")

    def _decided(self, answer: dict[str, Any]) -> None:
        if answer.get("error"):
            log.info("violations: decision refused: %s", answer["error"])
            key = "fines.points_full" if answer["error"] == "points_full" else "fines.decide_refused"
            self._set(phase=REFUSED, message_key=key, confirming=False)
            return
        found = answer.get("violations", [])
        numbers = {str(v.get("violation_id")): str(v.get("decision_no") or "") for v in found}
        if any(not numbers.get(v["violation_id"]) for v in self.state.to_confirm):
            raise MalformedAnswer("a confirmed violation without its 'decision_no'")
        items = tuple(
            {**v, "decided": True, "decision_no": numbers[v["violation_id"]]}
            if v["violation_id"] in numbers
            else v
            for v in self.state.items
        )
        added = self.state.points_to_add
        licence = dict(self.state.licence or {})
        if licence:
            licence["points"] = int(licence.get("points", 0)) + added
            licence["points_left"] = self.rules.full_points - licence["points"]
        self._set(phase=ANSWERED, message_key="fines.decided", items=items, confirming=False, licence=licence)

    def back(self) -> bool:
        """Back on the confirm sheet closes it (True); otherwise the flow goes back (False)."""
        if self.state.confirming and not self.left:
            self._set(confirming=False, message_key="lookup.violations_found")
            return True
        return False

    @property
    def can_finish(self) -> bool:
        """Nothing to pay, or a plate looked up (nothing can be paid that way): 完成 ends the visit."""
        return self.state.nothing_due or (self.state.mode == PLATE and self.state.answered)

    def finish(self) -> None:
        """The resident's question is answered; the visit ends as done, not cancelled."""
        if not self.left and self.can_finish:
            self._set(phase=FINISHED)


@dataclass(frozen=True)
class LicenceView:
    """The licence line the screen shows: class, status word key, points used and left."""

    licence_class: str = ""
    status_key: str = ""
    points: int = 0
    points_left: int = 0
    rows: tuple[tuple[str, str], ...] = field(default_factory=tuple)


def licence_view(licence: Mapping[str, Any] | None, full_points: int = 12) -> LicenceView | None:
    if not licence:
        return None
    points = int(licence.get("points", 0))
    return LicenceView(
        str(licence.get("licence_class", "")),
        f"fines.licence_{licence.get('status', 'valid')}",
        points,
        max(0, full_points - points),
    )
