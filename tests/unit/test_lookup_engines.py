"""The look-up steps' rules without Kivy (kiosk/steps/lookups.py): identity verification, the
vehicle record and outstanding violations, against a fake backend client."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk.errors import BackendRejected, BackendUnavailable
from kiosk.steps.backend_step import LookupState, queue_clients, yuan
from kiosk.steps.lookups import VehicleLookupEngine, VerifyIdentityEngine, ViolationsEngine, violation_line
from kiosk.visit.session import Session
from kiosk.work import Tasks
from tests.unit.engine_fakes import InlineRunner

ID_NUMBER = "990000199001010017"  # synthetic (the suite's usual resident)
PHOTO = b"\xff\xd8 a live photo \xff\xd9"
VIOLATIONS = [
    {"violation_id": "v-1", "amount_fen": 20000, "date": "2026-10-01", "description_zh": "超速",
     "description_en": "Speeding", "place_zh": "长安街", "place_en": "Chang'an Avenue"},
    {"violation_id": "v-2", "amount_fen": 5000, "date": "2026-10-09", "description_zh": "违停",
     "description_en": "Parking", "place_zh": "东单", "place_en": "Dongdan"},
]  # fmt: skip


class Outcomes:
    """One outcome per call (an answer or an exception), the last one repeated."""

    def __init__(self, *outcomes: Any) -> None:
        self.outcomes = list(outcomes)

    def next(self) -> Any:
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]


class FakeBackend:
    """Answers (or an exception) per look-up; records the questions and the clients closed."""

    def __init__(self, **answers: Any) -> None:
        self.answers = answers
        self.asked: list[tuple[str, Any]] = []
        self.closed = 0

    def new_client(self) -> FakeBackend:
        return self

    def close(self) -> None:
        self.closed += 1

    def _answer(self, call: str, question: Any) -> Any:
        self.asked.append((call, question))
        answer = self.answers[call]
        if isinstance(answer, Outcomes):
            answer = answer.next()
        if isinstance(answer, Exception):
            raise answer
        return answer

    def verify_identity(
        self, id_number: str, name: str, photo_jpeg: bytes, *, request_id: str = "", purpose: str = ""
    ) -> dict[str, Any]:
        return self._answer("verify", (id_number, name, photo_jpeg, purpose))  # type: ignore[no-any-return]

    def vehicle(self, plate: str) -> dict[str, Any] | None:
        return self._answer("vehicle", plate)  # type: ignore[no-any-return]

    def violations(self, *, id_number: str = "", plate: str = "") -> list[dict[str, Any]]:
        return self._answer("violations", {"id_number": id_number, "plate": plate})  # type: ignore[no-any-return]


@pytest.fixture
def session() -> Session:
    visit = Session("zh")
    visit.values["id_number"] = ID_NUMBER
    visit.photo_jpeg = PHOTO
    return visit


def _verify(session: Session, backend: FakeBackend) -> tuple[VerifyIdentityEngine, list[LookupState]]:
    seen: list[LookupState] = []
    engine = VerifyIdentityEngine(session, backend.new_client, InlineRunner(), on_change=seen.append)
    engine.start()
    return engine, seen


# -- identity verification --------------------------------------------------------------------------


def test_identity_verified_keeps_the_registered_holder(session: Session) -> None:
    holder = {"name": "张三丰", "id_number": ID_NUMBER}
    backend = FakeBackend(verify={"verified": True, "verification_id": "ver-1", "holder": holder})
    engine, seen = _verify(session, backend)
    assert seen[0].busy and seen[0].message_key == "lookup.verifying"
    assert engine.state.phase == "done" and not engine.state.busy
    assert session.artifacts["verification"] == {
        "verification_id": "ver-1",
        "holder": holder,
        "certificate": {},
    }
    assert backend.asked == [("verify", (ID_NUMBER, "", PHOTO, ""))]  # the JPEG itself, never a hash
    assert backend.closed == 1


def test_identity_not_verified_is_a_calm_refusal(session: Session) -> None:
    engine, _seen = _verify(session, FakeBackend(verify={"verified": False, "reason": "no match"}))
    state = engine.state
    assert state.phase == "refused" and state.refused and not state.busy and not state.can_retry
    assert state.message_key == "lookup.not_verified" and "verification" not in session.artifacts
    engine.retry()  # no retry button on a refusal
    assert engine.state.phase == "refused"


def test_identity_backend_down_offers_retry(session: Session) -> None:
    answers = Outcomes(BackendUnavailable("timed out"), {"verified": True, "verification_id": "ver-2"})
    backend = FakeBackend(verify=answers)
    engine, _seen = _verify(session, backend)
    assert engine.state.offline and engine.state.message_key == "queue.lookup_unavailable"
    assert not engine.state.busy
    engine.retry()
    assert engine.state.phase == "done" and session.artifacts["verification"]["verification_id"] == "ver-2"
    assert session.artifacts["verification"]["holder"] == {}


def test_identity_refused_by_the_backend(session: Session) -> None:
    engine, _seen = _verify(session, FakeBackend(verify=BackendRejected("HTTP 401 bad_signature")))
    assert engine.state.refused and engine.state.message_key == "queue.lookup_refused"


@pytest.mark.parametrize(
    "answer",
    [{}, {"verified": True}, {"verified": True, "verification_id": ""}, {"reason": "x"},
     {"verified": True, "verification_id": "v", "holder": "not an object"}],
)  # fmt: skip
def test_identity_answer_missing_its_keys_ends_calmly_not_on_a_spinner(
    session: Session, answer: dict[str, Any]
) -> None:
    engine, _seen = _verify(session, FakeBackend(verify=answer))
    state = engine.state
    assert state.phase == "refused" and not state.busy and state.message_key == "queue.lookup_refused"
    assert "verification" not in session.artifacts


def test_the_card_number_and_name_are_used_when_none_was_typed() -> None:
    visit = Session("zh")
    visit.identity = SimpleNamespace(id_number=ID_NUMBER, name="张三丰")
    visit.photo_jpeg = PHOTO
    visit.service_id = "temp-id-certificate"
    backend = FakeBackend(verify={"verified": False})
    _verify(visit, backend)
    assert backend.asked == [("verify", (ID_NUMBER, "张三丰", PHOTO, "temp-id-certificate"))]


def test_no_photo_is_refused_without_asking() -> None:
    visit = Session("zh")
    visit.values["id_number"] = ID_NUMBER
    backend = FakeBackend(verify={"verified": True, "verification_id": "v"})
    engine, _seen = _verify(visit, backend)
    assert engine.state.refused and backend.asked == []


def test_a_bug_in_a_look_up_goes_to_the_apps_calm_end(session: Session) -> None:
    """Not a backend state: the runner's ``on_unexpected`` (the app's ``fail``) gets it."""
    unexpected: list[BaseException] = []
    tasks = Tasks(lambda fn: fn(), unexpected.append)
    engine = VerifyIdentityEngine(session, FakeBackend(verify=RuntimeError("bug")).new_client, tasks)
    engine.start()
    deadline = time.monotonic() + 5
    while not unexpected and time.monotonic() < deadline:
        time.sleep(0.01)
    assert [str(e) for e in unexpected] == ["bug"]


def test_no_request_queue_yet_is_offline() -> None:
    clients = queue_clients(SimpleNamespace(queue=None))
    with pytest.raises(BackendUnavailable, match="not started"):
        clients()
    engine = VehicleLookupEngine(Session("zh"), clients, InlineRunner())
    engine.start()
    assert engine.state.offline


def test_answers_after_leaving_are_dropped(session: Session) -> None:
    runner = InlineRunner(hold=True)
    engine = VerifyIdentityEngine(
        session, FakeBackend(verify={"verified": True, "verification_id": "v"}).new_client, runner
    )
    engine.start()
    engine.leave()
    runner.finish_all()
    assert engine.state.busy and "verification" not in session.artifacts
    engine.retry()
    assert runner.started == ["backend-verify_identity"]


# -- vehicle record -------------------------------------------------------------------------------

RECORD = {"plate": "京A10000", "brand": "示例牌", "colour": "白", "registered": "2019-05-01"}


def test_vehicle_found_is_shown_then_confirmed() -> None:
    visit = Session("zh")
    visit.values["plate"] = "京A10000"
    backend = FakeBackend(vehicle=RECORD)
    engine = VehicleLookupEngine(visit, backend.new_client, InlineRunner())
    engine.start()
    state = engine.state
    assert state.phase == "answered" and state.message_key == "lookup.vehicle_confirm"
    assert state.rows == (("lookup.plate", "京A10000"), ("lookup.brand", "示例牌"),
                          ("lookup.colour", "白"), ("lookup.registered", "2019-05-01"))  # fmt: skip
    assert visit.artifacts["vehicle"] == RECORD and backend.asked == [("vehicle", "京A10000")]
    engine.confirm()
    assert engine.state.phase == "done"


def test_vehicle_unknown_is_refused_and_cannot_be_confirmed() -> None:
    visit = Session("zh")
    visit.values["plate"] = "京A10005"
    engine = VehicleLookupEngine(visit, FakeBackend(vehicle=None).new_client, InlineRunner())
    engine.start()
    assert engine.state.refused and engine.state.message_key == "lookup.vehicle_unknown"
    assert engine.state.rows == () and "vehicle" not in visit.artifacts
    engine.confirm()
    assert engine.state.phase == "refused"


def test_a_vehicle_record_missing_fields_still_shows() -> None:
    visit = Session("zh")
    engine = VehicleLookupEngine(visit, FakeBackend(vehicle={"plate": "京A10000"}).new_client, InlineRunner())
    engine.start()
    assert engine.state.rows[1] == ("lookup.brand", "") and engine.state.phase == "answered"


# -- outstanding violations -----------------------------------------------------------------------


def _violations(found: Any, *, plate: str = "京A10000") -> tuple[ViolationsEngine, Session, FakeBackend]:
    visit = Session("zh")
    if plate:
        visit.values["plate"] = plate
    visit.identity = SimpleNamespace(id_number=ID_NUMBER)
    backend = FakeBackend(violations=found)
    engine = ViolationsEngine(visit, backend.new_client, InlineRunner())
    engine.start()
    return engine, visit, backend


def test_no_violations_is_answered_and_ends_as_done() -> None:
    engine, visit, _backend = _violations([])
    state = engine.state
    assert state.nothing_due and state.items == () and state.chosen == () and state.total_fen == 0
    assert state.message_key == "lookup.violations_none" and not state.refused and not state.busy
    engine.pay()  # nothing chosen: nothing happens
    assert "violations" not in visit.artifacts and engine.state.phase == "answered"
    engine.finish()
    assert engine.state.phase == "finished"


def test_some_violations_all_chosen_then_toggled_and_paid() -> None:
    engine, visit, backend = _violations([dict(v) for v in VIOLATIONS])
    assert backend.asked == [("violations", {"id_number": "", "plate": "京A10000"})]
    state = engine.state
    assert state.message_key == "lookup.violations_found" and not state.nothing_due
    assert state.chosen == ("v-1", "v-2") and state.total_fen == 25000
    engine.finish()  # something is due: "finish" is not offered, and does nothing
    assert engine.state.phase == "answered"
    engine.toggle("v-1")
    assert engine.state.chosen == ("v-2",) and engine.state.total_fen == 5000
    engine.toggle("v-unknown")
    assert engine.state.chosen == ("v-2",)
    engine.toggle("v-2")
    assert engine.state.chosen == () and engine.state.total_fen == 0
    engine.pay()
    assert engine.state.phase == "answered"  # nothing chosen
    engine.toggle("v-1")
    engine.pay()
    assert engine.state.phase == "done"
    assert visit.artifacts["violations"] == {
        "violation_ids": ["v-1"],
        "amount_fen": 20000,
        "items": [VIOLATIONS[0]],  # what the payment screen lists
    }


def test_choose_all_then_none() -> None:
    engine, _visit, _backend = _violations([dict(v) for v in VIOLATIONS])
    engine.toggle("v-1")
    engine.choose_all()
    assert engine.state.chosen == ("v-1", "v-2") and engine.state.total_fen == 25000
    engine.choose_all()  # all were chosen: the same button chooses none
    assert engine.state.chosen == ()


def test_without_a_plate_the_persons_violations_are_asked() -> None:
    _engine, _visit, backend = _violations([], plate="")
    assert backend.asked == [("violations", {"id_number": ID_NUMBER, "plate": ""})]


@pytest.mark.parametrize("found", [{"violations": []}, [{"amount_fen": 100}], [{"violation_id": "v"}],
                                   [{"violation_id": "v", "amount_fen": "lots"}]])  # fmt: skip
def test_a_violations_answer_missing_its_keys_ends_calmly(found: Any) -> None:
    engine, visit, _backend = _violations(found)
    assert engine.state.refused and not engine.state.busy and engine.state.items == ()
    assert "violations" not in visit.artifacts


def test_violations_backend_down_then_retry() -> None:
    engine, _visit, _backend = _violations(Outcomes(BackendUnavailable("HTTP 503"), [dict(VIOLATIONS[0])]))
    assert engine.state.offline and engine.state.items == ()
    engine.retry()
    assert engine.state.chosen == ("v-1",) and engine.state.total_fen == 20000


def test_a_violation_reads_in_the_residents_language() -> None:
    assert violation_line(VIOLATIONS[0], "zh") == "2026-10-01  超速  ￥200.00  长安街"
    assert violation_line(VIOLATIONS[1], "en") == "2026-10-09  Parking  ￥50.00  Dongdan"
    assert yuan(12345) == "￥123.45"
