"""The traffic-violation step's rules without Kivy (kiosk/steps/fines.py), against a fake backend:
the fine limit, confirming camera records (points shown, decision numbers issued), the 12-point
stop, the late fee, and what a plate or a decision number alone may show."""

from __future__ import annotations

import datetime as dt
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk.services.catalogue import Catalogue
from kiosk.steps.fines import (
    CARD,
    DECISION,
    PLATE,
    FineRules,
    ViolationsEngine,
    late_fee_fen,
)
from kiosk.visit.session import Session
from tests.unit.engine_fakes import InlineRunner

HOLDER = "99010119800315031X"
TODAY = dt.date(2026, 12, 1)
LICENCE = {"licence_class": "C1", "status": "valid", "points": 3, "points_left": 9, "cycle_end": "2027-06-01"}
PLACE = {"date": "2026-11-03", "place_zh": "示例路", "place_en": "Example Rd"}


def violation(vid: str, fen: int, points: int, decision: str = "", decided_at: str = "") -> dict[str, Any]:
    return {"violation_id": vid, "amount_fen": fen, "points": points, "description_zh": "闯红灯",
            "description_en": "Red light", "decision_no": decision or None, "decided_at": decided_at,
            **PLACE}  # fmt: skip


class FakeFines:
    def __init__(self, licence: Any = LICENCE, violations: Any = (), decide: Any = None) -> None:
        self.licence, self.violations, self.decide = licence, list(violations), decide
        self.asked: list[tuple[str, Any]] = []

    def new_client(self) -> FakeFines:
        return self

    def close(self) -> None:
        pass

    def fines_of_holder(self, id_number: str) -> dict[str, Any]:
        self.asked.append(("holder", id_number))
        return {"licence": self.licence, "violations": self.violations}

    def fines_by_plate(self, plate: str) -> list[dict[str, Any]]:
        self.asked.append(("plate", plate))
        return self.violations

    def fine_by_decision(self, number: str) -> dict[str, Any] | None:
        self.asked.append(("decision", number))
        return self.violations[0] if self.violations else None

    def decide_fines(self, id_number: str, ids: list[str]) -> dict[str, Any]:
        self.asked.append(("decide", ids))
        if self.decide is not None:
            return dict(self.decide)
        return {
            "violations": [
                {"violation_id": v, "decision_no": f"990000202600000{i}"} for i, v in enumerate(ids)
            ]
        }


def engine_for(backend: FakeFines, how: str = CARD, rules: FineRules | None = None, **values: str) -> tuple[
    ViolationsEngine, Session
]:  # fmt: skip
    visit = Session("zh")
    visit.values.update(lookup_by=how, **values)
    if how == CARD:
        visit.identity = SimpleNamespace(id_number=HOLDER)
    engine = ViolationsEngine(visit, backend.new_client, InlineRunner(), rules=rules, today=lambda: TODAY)
    engine.start()
    return engine, visit


# -- the late fee ----------------------------------------------------------------------------------


def test_late_fee_starts_after_15_days_at_3_percent_a_day_and_is_capped_at_the_fine() -> None:
    rules = FineRules()
    assert late_fee_fen(20000, "2026-11-16", TODAY, rules) == 0  # day 15: none yet
    assert late_fee_fen(20000, "2026-11-15", TODAY, rules) == 600  # day 16: 3 %
    assert late_fee_fen(20000, "2026-11-06", TODAY, rules) == 20000 * 3 * 10 // 100
    assert late_fee_fen(20000, "2026-01-01", TODAY, rules) == 20000  # never more than the fine
    assert late_fee_fen(20000, "", TODAY, rules) == 0  # not decided yet: nothing late


def test_a_late_fee_is_shown_separately_and_paid_with_the_fine() -> None:
    old = violation("V1", 10000, 0, "9900002026000001", "2026-11-06")
    engine, visit = engine_for(FakeFines(violations=[old]))
    assert (
        engine.state.fine_fen == 10000
        and engine.state.late_fee_fen == 3000
        and engine.state.total_fen == 13000
    )
    engine.pay()
    paid = visit.artifacts["violations"]
    assert (paid["fine_fen"], paid["late_fee_fen"], paid["amount_fen"]) == (10000, 3000, 13000)
    assert paid["decision_nos"] == ["9900002026000001"]


# -- rules as data ---------------------------------------------------------------------------------


def test_the_rules_come_from_the_catalogue_and_refuse_unknown_keys() -> None:
    step = next(s for s in Catalogue.load()["traffic-fine"].steps if s.kind == "violations")
    assert FineRules.from_rules(step.rules) == FineRules(20000, 12, 15, 3)
    assert FineRules.from_rules({"fine_limit_fen": 50000}).fine_limit_fen == 50000
    with pytest.raises(ValueError, match="unknown key 'limit'"):
        FineRules.from_rules({"limit": 1})
    with pytest.raises(ValueError, match="whole number"):
        FineRules.from_rules({"full_points": "12"})


# -- the fine limit --------------------------------------------------------------------------------


def test_a_fine_over_the_limit_is_shown_but_not_processed_here() -> None:
    big = violation("BIG", 200000, 12)
    engine, _visit = engine_for(FakeFines(violations=[violation("V1", 20000, 1), big]))
    assert engine.state.chosen == ("V1",) and engine.state.choosable == ("V1",)
    assert [v["why_not"] for v in engine.state.items] == ["", "over_limit"]
    engine.toggle("BIG")
    engine.choose_all()
    engine.choose_all()
    assert "BIG" not in engine.state.chosen
    raised, _visit = engine_for(FakeFines(violations=[big]), rules=FineRules(fine_limit_fen=300000))
    assert raised.state.choosable == ("BIG",)  # the limit is data


def test_only_fines_over_the_limit_is_a_stop() -> None:
    engine, _visit = engine_for(FakeFines(violations=[violation("BIG", 200001, 3)]))
    assert engine.state.refused and engine.state.message_key == "fines.over_limit"


# -- confirming camera records and the 12 points ---------------------------------------------------


def test_camera_records_are_confirmed_with_their_points_then_paid_with_decision_numbers() -> None:
    backend = FakeFines(violations=[violation("V1", 10000, 1), violation("V2", 20000, 6)])
    engine, visit = engine_for(backend)
    assert engine.state.points_to_add == 7 and engine.state.points_after == 10
    engine.pay()  # the first press opens the confirm sheet: nothing decided, nothing paid yet
    assert engine.state.confirming and engine.state.message_key == "fines.confirm_points"
    assert ("decide", ["V1", "V2"]) not in backend.asked and "violations" not in visit.artifacts
    assert engine.back() is True and not engine.state.confirming  # back closes the sheet
    engine.pay()
    engine.confirm()
    assert backend.asked[-1] == ("decide", ["V1", "V2"])
    assert engine.state.message_key == "fines.decided" and not engine.state.confirming
    assert [v["decision_no"] for v in engine.state.items] == ["9900002026000000", "9900002026000001"]
    assert engine.state.licence is not None and engine.state.licence["points_left"] == 2
    engine.pay()
    assert engine.state.phase == "done"
    assert visit.artifacts["violations"]["decision_nos"] == ["9900002026000000", "9900002026000001"]
    assert visit.artifacts["violations"]["amount_fen"] == 30000


def test_reaching_twelve_points_stops_with_a_result_before_anything_is_decided() -> None:
    near = {**LICENCE, "points": 6, "points_left": 6}
    backend = FakeFines(licence=near, violations=[violation("V1", 20000, 6), violation("V2", 5000, 0)])
    engine, visit = engine_for(backend)
    engine.pay()
    assert engine.state.refused and engine.state.message_key == "fines.points_full"
    assert not any(call == "decide" for call, _ in backend.asked) and "violations" not in visit.artifacts
    fewer, _visit = engine_for(backend)
    fewer.toggle("V1")  # leaving the 6-point record out: 6 points stay, no stop
    fewer.pay()
    assert fewer.state.confirming and fewer.state.points_after == 6 and not fewer.state.refused


def test_the_register_refusing_on_points_is_the_same_stop() -> None:
    engine, _visit = engine_for(
        FakeFines(violations=[violation("V1", 100, 1)], decide={"error": "points_full"})
    )
    engine.pay()
    engine.confirm()
    assert engine.state.message_key == "fines.points_full" and engine.state.refused


def test_without_a_licence_or_with_a_suspended_one_nothing_is_processed() -> None:
    none, _visit = engine_for(FakeFines(licence=None, violations=[violation("V1", 100, 1)]))
    assert none.state.refused and none.state.message_key == "fines.no_licence"
    bad, _visit = engine_for(FakeFines(licence={**LICENCE, "status": "suspended"}))
    assert bad.state.refused and bad.state.message_key == "fines.licence_invalid"


# -- what a plate or a decision number alone shows -------------------------------------------------


def test_a_plate_alone_shows_no_times_or_places_and_cannot_be_paid() -> None:
    backend = FakeFines(violations=[violation("V1", 20000, 6)])  # even if a backend sent them
    engine, visit = engine_for(backend, PLATE, plate="京A12345")
    assert backend.asked == [("plate", "京A12345")]
    item = engine.state.items[0]
    assert not {"date", "place_zh", "place_en"} & set(item) and item["why_not"] == "needs_card"
    assert engine.state.chosen == () and engine.state.message_key == "fines.plate_only"
    engine.toggle("V1")
    engine.choose_all()
    engine.pay()
    assert engine.state.chosen == () and "violations" not in visit.artifacts
    engine.finish()  # 完成: the question is answered
    assert engine.state.phase == "finished"


def test_a_decision_number_pays_without_identification_and_shows_no_time_or_place() -> None:
    fine = violation("V1", 20000, 6, "9900002026000001", "2026-11-20")
    backend = FakeFines(violations=[fine])
    engine, visit = engine_for(backend, DECISION, decision_no="9900002026000001")
    assert backend.asked == [("decision", "9900002026000001")]
    assert not {"date", "place_zh", "place_en"} & set(engine.state.items[0])
    assert engine.state.licence is None and engine.state.chosen == ("V1",)
    engine.pay()
    assert engine.state.phase == "done" and visit.artifacts["violations"]["amount_fen"] == 20000


def test_an_unknown_or_paid_decision_number_is_a_result() -> None:
    unknown, _visit = engine_for(FakeFines(violations=[]), DECISION, decision_no="1")
    assert unknown.state.message_key == "fines.decision_unknown" and unknown.state.refused
    paid = {**violation("V1", 100, 0, "9900002026000001", "2026-11-20"), "paid": True}
    done, _visit = engine_for(FakeFines(violations=[paid]), DECISION, decision_no="9900002026000001")
    assert done.state.message_key == "fines.decision_paid"
