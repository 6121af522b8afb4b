"""The vehicle services' rules without Kivy (kiosk/steps/licence.py, kiosk/steps/vehicle_owner.py):
the renewal window, the health-check record (unknown, failed, expired, last cycle's for a driver of
70), ownership before a re-issue, the inspection exemption, insurance and violations, and the fee."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from kiosk.errors import BackendUnavailable
from kiosk.services.catalogue import Catalogue
from kiosk.steps.backend_step import ANSWERED, DONE, OFFLINE, REFUSED, LookupState
from kiosk.steps.licence import (
    HealthCheckEngine,
    LicenceCheckEngine,
    LicenceRules,
    age_on,
    last_cycle_end,
)
from kiosk.steps.vehicle_owner import InspectionCheckEngine, OwnerCheckEngine, next_due, reissue_fee
from kiosk.visit.session import Session
from tests.unit.engine_fakes import InlineRunner

ROOT = Path(__file__).resolve().parents[2]
TODAY = dt.date(2026, 12, 2)
DRIVER = "99010119800315031X"  # synthetic, born 1980-03-15: 46
ELDER = "990101195001010013"  # synthetic, born 1950-01-01: 76
RECORD = "3301202600000017"


class Backend:
    """One answer (or exception) per call name; records the questions."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.asked: list[tuple[str, tuple[Any, ...]]] = []

    def new_client(self) -> Backend:
        return self

    def close(self) -> None:
        pass

    def _answer(self, call: str, *question: Any) -> Any:
        self.asked.append((call, question))
        answer = self.answers[call]
        if isinstance(answer, Exception):
            raise answer
        return answer

    def licence(self, id_number: str) -> Any:
        return self._answer("licence", id_number)

    def health_check(self, id_number: str, record_no: str) -> Any:
        return self._answer("health", id_number, record_no)

    def owner_check(self, id_number: str, plate: str) -> Any:
        return self._answer("owner", id_number, plate)


def _visit(number: str = DRIVER) -> Session:
    visit = Session("zh")
    visit.values["id_number"] = number
    visit.values["plate"] = "京A10000"
    return visit


def _licence(valid_to: dt.date, **extra: Any) -> dict[str, Any]:
    return {"licence_no": DRIVER, "licence_class": "C1", "first_issued": "2008-06-01", "valid_from":
            "2020-06-01", "valid_to": valid_to.isoformat(), "status": "normal", **extra}  # fmt: skip


def _renew(backend: Backend, visit: Session | None = None, **rules: Any) -> LicenceCheckEngine:
    engine = LicenceCheckEngine(
        visit or _visit(), backend.new_client, InlineRunner(), LicenceRules(**rules), today=lambda: TODAY
    )
    engine.start()
    return engine


# -- the licence and the 90-day window --------------------------------------------------------------


def test_renewal_within_the_90_days_before_expiry_shows_the_licence_to_confirm() -> None:
    visit = _visit()
    engine = _renew(Backend(licence=_licence(TODAY + dt.timedelta(days=90))), visit)
    assert engine.state.phase == ANSWERED
    assert dict(engine.state.rows)["licence.row.class"] == "C1"
    assert DRIVER not in str(engine.state.rows)  # the number is masked on screen
    engine.confirm()
    assert engine.state.phase == DONE
    assert visit.values["licence_class"] == "C1" and visit.values["licence_no"] == DRIVER


def test_renewal_before_the_window_stops_and_says_when_it_opens() -> None:
    engine = _renew(Backend(licence=_licence(TODAY + dt.timedelta(days=91))))
    assert engine.state.phase == REFUSED and engine.state.message_key == "licence.too_early"
    assert engine.state.detail == (TODAY + dt.timedelta(days=1)).isoformat()
    engine.confirm()
    assert engine.state.phase == REFUSED  # a stop cannot be confirmed past


def test_the_window_is_data() -> None:
    engine = _renew(Backend(licence=_licence(TODAY + dt.timedelta(days=91))), window_days=120)
    assert engine.state.phase == ANSWERED


def test_an_expired_licence_and_one_not_in_use_stop() -> None:
    assert (
        _renew(Backend(licence=_licence(TODAY - dt.timedelta(days=1)))).state.message_key == "licence.expired"
    )
    revoked = _licence(TODAY + dt.timedelta(days=10), status="revoked")
    assert _renew(Backend(licence=revoked)).state.message_key == "licence.not_normal"
    assert _renew(Backend(licence=None)).state.message_key == "licence.unknown"


def test_a_replacement_takes_any_valid_licence_whatever_its_expiry() -> None:
    far = _licence(TODAY + dt.timedelta(days=2000))
    assert _renew(Backend(licence=far), check_window=False).state.phase == ANSWERED


def test_an_unreachable_backend_is_offline_and_retried() -> None:
    backend = Backend(licence=BackendUnavailable("down"))
    engine = _renew(backend)
    assert engine.state.phase == OFFLINE
    backend.answers["licence"] = _licence(TODAY + dt.timedelta(days=5))
    engine.retry()
    assert engine.state.phase == ANSWERED


def test_age_and_scoring_cycle() -> None:
    assert age_on(DRIVER, TODAY) == 46 and age_on(ELDER, TODAY) == 76
    assert age_on("990101195012020011", TODAY) == 76  # the birthday itself counts
    assert last_cycle_end(dt.date(2008, 6, 1), TODAY) == dt.date(2026, 6, 1)
    assert last_cycle_end(dt.date(2008, 12, 20), TODAY) == dt.date(2025, 12, 20)


# -- the electronic health-check record -------------------------------------------------------------


def _health(
    answer: Any, visit: Session | None = None, entry: str = RECORD, **rules: Any
) -> HealthCheckEngine:
    visit = visit or _visit()
    seen: list[LookupState] = []
    engine = HealthCheckEngine(
        visit, Backend(health=answer).new_client, InlineRunner(), LicenceRules(**rules), today=lambda: TODAY,
        on_change=seen.append,
    )  # fmt: skip
    for key in entry:
        engine.press(key)
    engine.submit()
    return engine


def _passed(days_ago: int) -> dict[str, Any]:
    exam = (TODAY - dt.timedelta(days=days_ago)).isoformat()
    return {"valid": True, "reason": "", "record": {"record_no": RECORD, "exam_date": exam, "hospital": "x"}}


def test_a_valid_record_of_this_driver_goes_on_and_is_filed() -> None:
    visit = _visit()
    engine = _health(_passed(20), visit)
    assert engine.state.phase == DONE
    assert visit.values["health_record_no"] == RECORD


def test_an_unknown_record_can_be_typed_again_a_failed_one_stops() -> None:
    engine = _health({"valid": False, "reason": "unknown_record"})
    assert engine.state.message_key == "health.record_unknown" and engine.state.can_retry
    engine.retry()
    assert engine.state.entry == "" and engine.state.phase == "idle"
    failed = _health({"valid": False, "reason": "not_passed", "record": {"exam_date": "2026-11-01"}})
    assert failed.state.message_key == "health.record_failed" and not failed.state.can_retry


def test_an_expired_record_stops_and_its_age_limit_is_data() -> None:
    assert _health(_passed(181)).state.message_key == "health.record_expired"
    assert _health(_passed(181), health_valid_days=365).state.phase == DONE


def test_a_short_number_is_not_sent() -> None:
    engine = _health(_passed(1), entry="1234567")
    assert engine.state.phase == "idle" and not engine.complete


def test_from_70_only_a_record_made_after_the_last_scoring_cycle_counts() -> None:
    # first issued 2008-06-01: the last cycle ended 2026-06-01, 184 days before TODAY
    licence = _licence(TODAY + dt.timedelta(days=30))
    elder, younger = _visit(ELDER), _visit(DRIVER)
    for visit in (elder, younger):
        _renew(Backend(licence=licence), visit).confirm()
    assert elder.artifacts["licence"]["elderly"] and not younger.artifacts["licence"]["elderly"]
    before_cycle_end = _passed(190)  # within 180? no: use a longer validity to isolate the age rule
    assert _health(before_cycle_end, younger, health_valid_days=365).state.phase == DONE
    stopped = _health(before_cycle_end, elder, health_valid_days=365)
    assert stopped.state.message_key == "health.record_last_cycle"
    assert stopped.state.detail == "2026-06-01"
    assert _health(_passed(100), elder, health_valid_days=365).state.phase == DONE


# -- ownership before a re-issue ---------------------------------------------------------------------

VEHICLE = {"plate": "京A10000", "plate_type": "small", "brand": "示例牌", "colour": "白", "use_type":
           "non_commercial", "body_type": "sedan", "registered": "2022-12-30", "insurance_valid_to":
           "2027-06-01", "insurance_ok": True, "violations_outstanding": 0, "injury_accident": False,
           "status": "normal"}  # fmt: skip


def _owner(
    answer: Any, engine_class: type[OwnerCheckEngine] = OwnerCheckEngine, **rules: Any
) -> OwnerCheckEngine:
    visit = _visit()
    backend = Backend(owner=answer)
    engine = engine_class(visit, backend.new_client, InlineRunner(), rules, today=lambda: TODAY)
    engine.start()
    assert backend.asked == [("owner", (DRIVER, "京A10000"))]
    return engine


def test_the_owner_confirms_the_vehicle_and_its_plate_type_is_the_registers() -> None:
    engine = _owner({"owner": True, "vehicle": {**VEHICLE, "plate_type": "trailer"}})
    assert engine.state.phase == ANSWERED
    engine.confirm()
    assert engine.state.phase == DONE
    assert engine.visit.values["plate_type"] == "trailer"


def test_someone_who_is_not_the_owner_is_stopped_before_anything_is_filed() -> None:
    engine = _owner({"owner": False})
    assert engine.state.phase == REFUSED and engine.state.message_key == "owner.not_owner"
    engine.confirm()
    assert engine.state.phase == REFUSED and "vehicle" not in engine.visit.artifacts
    assert _owner(None).state.message_key == "owner.unknown_plate"
    assert _owner({"owner": True, "vehicle": {**VEHICLE, "status": "seized"}}).state.message_key == (
        "owner.vehicle_status"
    )


def test_an_owner_answer_without_the_vehicle_is_refused_not_trusted() -> None:
    assert _owner({"owner": True}).state.message_key == "queue.lookup_refused"


# -- the inspection sticker -----------------------------------------------------------------------------


def _sticker(**changes: Any) -> OwnerCheckEngine:
    return _owner({"owner": True, "vehicle": {**VEHICLE, **changes}}, InspectionCheckEngine)


def test_an_exempt_car_in_its_sticker_year_and_window_goes_on() -> None:
    engine = _sticker()  # registered 2022-12-30: 4th anniversary 2026-12-30, 28 days ahead
    assert engine.state.phase == ANSWERED
    assert engine.visit.values["inspection_due"] == "2026-12-30"


def test_insurance_and_outstanding_violations_stop_the_sticker() -> None:
    assert _sticker(insurance_ok=False).state.message_key == "inspection.no_insurance"
    stopped = _sticker(violations_outstanding=2)
    assert stopped.state.message_key == "inspection.violations" and stopped.state.detail == "2"


def test_vans_commercial_cars_and_other_plates_are_not_exempt() -> None:
    for changes in ({"body_type": "van"}, {"use_type": "commercial"}, {"plate_type": "large"}):
        assert _sticker(**changes).state.message_key == "inspection.not_exempt", changes


def test_years_6_and_10_an_injury_accident_and_too_early_go_elsewhere() -> None:
    sixth = _sticker(registered="2020-12-30")
    assert sixth.state.message_key == "inspection.station" and sixth.state.detail == "2026-12-30"
    assert _sticker(registered="2016-12-30").state.message_key == "inspection.station"  # 10th
    assert _sticker(registered="2008-12-30").state.message_key == "inspection.station"  # after 10
    assert _sticker(injury_accident=True).state.message_key == "inspection.station"
    early = _sticker(registered="2023-06-30")  # 4th anniversary 2027-06-30: window opens 2027-04-01
    assert early.state.message_key == "inspection.too_early" and early.state.detail == "2027-04-01"


def test_next_due_counts_every_two_years_from_registration() -> None:
    assert next_due(dt.date(2022, 12, 30), TODAY) == (4, dt.date(2026, 12, 30))
    assert next_due(dt.date(2024, 12, 2), TODAY) == (2, dt.date(2026, 12, 2))  # due today


# -- the fee, and the catalogue holding the rules as data ---------------------------------------------


def test_the_fee_follows_the_plate_type_and_a_temporary_plate() -> None:
    rules = {
        "plate_fees_fen": {"small": 10000, "motorcycle": 3500, "trailer": 5000},
        "temporary_plate_fen": 500,
    }
    assert reissue_fee(rules, {"plate_type": "motorcycle"}, 10000)["amount_fen"] == 3500
    both = reissue_fee(rules, {"plate_type": "trailer", "temporary_plate": "yes"}, 10000)
    assert both == {"amount_fen": 5500, "items": [("fee.plate", 5000), ("fee.temporary_plate", 500)]}
    assert reissue_fee(rules, {"plate_type": "unlisted"}, 10000)["amount_fen"] == 10000


@pytest.mark.parametrize(
    ("service_id", "kind"),
    [
        ("driving-licence-renewal", "licence_check"),
        ("driving-licence-renewal", "health_check"),
        ("driving-licence-replacement", "licence_check"),
        ("plate-reissue", "owner_check"),
        ("vehicle-licence-reissue", "owner_check"),
        ("inspection-sticker", "inspection_check"),
    ],
)
def test_each_vehicle_service_runs_its_check_with_rules_from_the_catalogue(
    service_id: str, kind: str
) -> None:
    service = Catalogue.load(ROOT / "config" / "services.toml")[service_id]
    step = next(s for s in service.steps if s.kind == kind)
    kinds = [s.kind for s in service.steps]
    assert kinds.index(kind) < kinds.index("submit")  # checked before anything is filed
    if kind == "licence_check":
        rules = LicenceRules.of(step.rules)
        assert rules.check_window is (service_id == "driving-licence-renewal")
        assert rules.window_days == 90 and rules.elderly_age == 70
    if service_id == "plate-reissue":
        types = {t["value"] for t in step.rules["plate_types"]}
        assert {"motorcycle", "trailer"} <= types
        assert set(step.rules["plate_fees_fen"]) == types


def test_the_plate_reissue_charges_the_fee_of_its_plate_type() -> None:
    """The payment step and the review screen charge fee_due: a motorcycle plate is not charged
    the car's fee (config/services.toml's plate_fees_fen), a temporary plate adds its own."""
    from kiosk.services.catalogue import Catalogue
    from kiosk.steps.payment import fee_due

    catalogue = Catalogue.load()
    plate = catalogue["plate-reissue"]
    assert fee_due(plate, {"plate_type": "small"})["amount_fen"] == plate.fee_fen == 10000
    motorcycle = fee_due(plate, {"plate_type": "motorcycle", "temporary_plate": "yes"})
    assert motorcycle == {"amount_fen": 4000, "items": [("fee.plate", 3500), ("fee.temporary_plate", 500)]}
    flat = catalogue["id-card-renewal"]
    assert fee_due(flat, {"plate_type": "motorcycle"}) == {"amount_fen": flat.fee_fen, "items": []}
