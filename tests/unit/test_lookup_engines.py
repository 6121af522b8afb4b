"""The look-up steps' rules without Kivy (kiosk/steps/lookups.py): identity verification, the
vehicle record and outstanding violations, against a fake backend client."""

from __future__ import annotations

import time
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk.errors import BackendRejected, BackendUnavailable
from kiosk.steps.backend_step import LookupState, queue_clients, yuan
from kiosk.steps.lookups import VehicleLookupEngine, VerifyIdentityEngine
from kiosk.visit.session import Session
from kiosk.work import Tasks
from tests.unit.engine_fakes import InlineRunner

ID_NUMBER = "990000199001010017"  # synthetic (the suite's usual resident)
PHOTO = b"\xff\xd8 a live photo \xff\xd9"


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


def test_an_amount_reads_in_yuan() -> None:
    assert yuan(12345) == "￥123.45"
