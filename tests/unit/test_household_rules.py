"""Who may apply for the household services (issue #19): the renewal window, the guardian of an
under-16 applicant, the household member, as data-driven engines without Kivy."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from drivers.idcard.simulator import load_cards
from kiosk.errors import BackendUnavailable, CatalogueError
from kiosk.services.catalogue import Catalogue
from kiosk.services.flow import Flow
from kiosk.services.payloads import build_payload
from kiosk.steps.backend_step import DONE, OFFLINE, REFUSED
from kiosk.steps.guardian import GuardianVisit, visit_for
from kiosk.steps.household_check import KEY_NOT_SAME, KEY_SELF, HouseholdCheckEngine
from kiosk.steps.household_rules import (
    STOP_GUARDIAN_AGE,
    STOP_GUARDIAN_SELF,
    STOP_LONG_TERM,
    STOP_WINDOW,
    applicant_outcome,
    guardian_outcome,
)
from kiosk.visit.session import Session
from tests.unit.catalogue_files import one_service
from tests.unit.engine_fakes import InlineRunner

TODAY = dt.date(2026, 12, 2)
CARDS = load_cards()
ADULT = CARDS["resident"]  # valid to 2036-05-01
CHILD = CARDS["resident_child"]  # born 2015-06-01
RULES: dict[str, Any] = {"renewal_window_days": 90, "window_reasons": ("expired",), "guardian_under_age": 16}


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def session_with(card: Any = None, **values: Any) -> Session:
    session = Session()
    session.identity = card
    session.values.update(values)
    return session


# -- the renewal window ---------------------------------------------------------------------------


def test_an_expiring_card_is_renewed_only_inside_the_window() -> None:
    expires = dt.date(2027, 2, 1)
    card = replace(ADULT, valid_to=expires)
    early = applicant_outcome(
        RULES, session_with(card, kind="renewal", reason="expired"), expires - dt.timedelta(91)
    )
    assert early.stop == STOP_WINDOW and early.detail == "2026-11-03"  # the day it opens, shown large
    inside = applicant_outcome(
        RULES, session_with(card, kind="renewal", reason="expired"), expires - dt.timedelta(90)
    )
    assert inside.ok and inside.results == {"applicant_minor": "no"}


def test_the_window_is_data() -> None:
    card = replace(ADULT, valid_to=dt.date(2027, 6, 1))
    session = session_with(card, kind="renewal", reason="expired")
    assert applicant_outcome(RULES, session, TODAY).stop == STOP_WINDOW
    assert applicant_outcome({**RULES, "renewal_window_days": 365}, session, TODAY).ok


def test_a_damaged_card_is_renewed_whenever_and_a_lost_one_has_no_window() -> None:
    damaged = applicant_outcome(RULES, session_with(ADULT, kind="renewal", reason="damaged"), TODAY)
    assert damaged.ok
    typed = session_with(None, kind="replacement", reason="lost", id_number=ADULT.id_number)
    assert applicant_outcome(RULES, typed, TODAY).ok


def test_a_long_term_card_is_not_renewed_for_expiry() -> None:
    long_term = CARDS["resident_long_term"]
    outcome = applicant_outcome(RULES, session_with(long_term, kind="renewal", reason="expired"), TODAY)
    assert outcome.stop == STOP_LONG_TERM


# -- under 16: the guardian -----------------------------------------------------------------------


def test_an_applicant_under_16_needs_a_guardian_by_card_or_by_number() -> None:
    by_card = applicant_outcome(RULES, session_with(CHILD, kind="renewal", reason="damaged"), TODAY)
    assert by_card.results == {"applicant_minor": "yes"}
    by_number = applicant_outcome(RULES, session_with(None, id_number=CHILD.id_number), TODAY)
    assert by_number.results == {"applicant_minor": "yes"}
    sixteen = applicant_outcome(RULES, session_with(None, id_number=CHILD.id_number), dt.date(2031, 6, 1))
    assert sixteen.results == {"applicant_minor": "no"}  # 16 on the birthday
    assert applicant_outcome(
        {**RULES, "guardian_under_age": 18}, session_with(CHILD), dt.date(2031, 6, 1)
    ).results == {"applicant_minor": "yes"}


def test_the_guardian_is_an_adult_and_not_the_applicant() -> None:
    session = session_with(CHILD)
    assert guardian_outcome(RULES, session, ADULT, TODAY).ok
    assert guardian_outcome(RULES, session, CHILD, TODAY).stop == STOP_GUARDIAN_SELF
    teen = replace(ADULT, id_number="990101201001010010", birth_date=dt.date(2010, 1, 1))
    assert guardian_outcome(RULES, session, teen, TODAY).stop == STOP_GUARDIAN_AGE
    assert guardian_outcome({**RULES, "guardian_min_age": 16}, session, teen, TODAY).ok


def test_the_guardian_steps_follow_the_rule_and_the_guardian_is_filed(catalogue: Catalogue) -> None:
    service = catalogue["id-card-renewal"]
    session = Session()
    flow = Flow(service, session)
    flow.complete()  # consent
    flow.complete({"kind": "renewal", "reason": "damaged"})
    session.identity = CHILD
    flow.complete()  # card
    flow.complete()  # face
    assert flow.step.kind == "applicant_rules"
    flow.complete(results=applicant_outcome(dict(service.rules), session, TODAY).results)
    assert (flow.step.id, flow.step.role) == ("guardian_card", "guardian")
    session.guardian = ADULT
    flow.complete()
    assert (flow.step.id, flow.step.role) == ("guardian_face", "guardian")
    session.artifacts["guardian_face_check"] = {"mode": "card", "attempts": 1}
    flow.complete()
    assert flow.complete({"guardian_relationship": "parent"}) == []
    assert flow.step.kind == "take_photo"
    payload = build_payload(service, session)
    assert payload["fields"]["guardian"] == {
        "id_number": ADULT.id_number, "name": ADULT.name, "relationship": "parent", "face_checked": True,
    }  # fmt: skip
    adult = Flow(service, Session())
    adult.complete()
    adult.complete({"kind": "renewal", "reason": "damaged"})
    adult.session.identity = ADULT
    adult.complete()
    adult.complete()
    adult.complete(results=applicant_outcome(dict(service.rules), adult.session, TODAY).results)
    assert adult.step.kind == "take_photo"  # no guardian for an adult


def test_the_guardian_face_check_works_on_the_guardians_card_and_keys() -> None:
    session = session_with(CHILD)
    session.guardian = ADULT
    session.artifacts["request_id"] = "R1"
    visit = GuardianVisit(session)
    assert visit.identity is ADULT and visit.values == {}  # the guardian's number is the card's
    visit.artifacts["face_check"] = {"mode": "card"}
    visit.artifacts["verification"] = {"verification_id": "V"}
    assert visit.artifacts["request_id"] == "R1"  # one request: the reserved id is shared
    assert "face_check" not in session.artifacts and session.artifacts["guardian_face_check"] == {
        "mode": "card"
    }
    assert session.artifacts["guardian_verification"] == {"verification_id": "V"}
    visit.face["live_rgb"] = object()
    session.wipe()
    assert session.guardian is None and session.face == {}


def test_steps_for_the_applicant_get_the_session_itself(catalogue: Catalogue) -> None:
    steps = {s.id: s for s in catalogue["id-card-renewal"].steps}
    session = Session()
    assert visit_for(steps["face"], session) is session
    assert isinstance(visit_for(steps["guardian_face"], session), GuardianVisit)


def test_a_condition_on_what_a_step_sets_itself_is_refused(tmp_path: Path) -> None:
    bad = one_service(
        tmp_path,
        """
[[services.steps]]
id = "rules"
kind = "applicant_rules"
when = { field = "applicant_minor", equals = "yes" }
[[services.steps]]
id = "done"
kind = "done"
""",
    )
    with pytest.raises(CatalogueError, match="set by this step"):
        Catalogue.load(bad)


# -- a household member ---------------------------------------------------------------------------


class FakeHouseholds:
    def __init__(self, answer: dict[str, Any] | Exception) -> None:
        self.answer = answer
        self.asked: list[tuple[str, str]] = []

    def household_member(self, id_number: str, member_id_number: str) -> dict[str, Any]:
        self.asked.append((id_number, member_id_number))
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer

    def close(self) -> None:
        pass


def _check(answer: dict[str, Any] | Exception, member: str = CHILD.id_number) -> tuple[Any, FakeHouseholds]:
    client = FakeHouseholds(answer)
    session = session_with(ADULT, for_whom="member", member_id_number=member)
    engine = HouseholdCheckEngine(session, lambda: client, InlineRunner())
    engine.start()
    return engine, client


def test_the_backend_confirms_the_same_household() -> None:
    engine, client = _check({"same_household": True, "reason": ""})
    assert engine.state.phase == DONE and client.asked == [(ADULT.id_number, CHILD.id_number)]
    assert engine.visit.artifacts["household_check"] == {"same_household": True}


def test_another_household_is_a_stop_and_nothing_is_recorded() -> None:
    engine, _ = _check({"same_household": False, "reason": "different_household"})
    assert (engine.state.phase, engine.state.message_key) == (REFUSED, KEY_NOT_SAME)
    assert "household_check" not in engine.visit.artifacts


def test_ones_own_number_is_not_asked_about() -> None:
    engine, client = _check({"same_household": True, "reason": ""}, member=ADULT.id_number)
    assert engine.state.message_key == KEY_SELF and client.asked == []


def test_an_unreachable_backend_or_a_malformed_answer_is_calm() -> None:
    assert _check(BackendUnavailable("down"))[0].state.phase == OFFLINE
    assert _check({"reason": ""})[0].state.phase == REFUSED


def test_the_member_branch_of_the_household_certificate(catalogue: Catalogue) -> None:
    service = catalogue["household-certificate"]
    session = Session()
    flow = Flow(service, session)
    for _ in range(3):
        flow.complete()  # consent, card, face
    session.identity = ADULT
    flow.complete({"for_whom": "member"})
    assert flow.step.id == "member"
    assert flow.complete({"member_relationship": "child", "member_id_number": CHILD.id_number}) == []
    assert flow.step.kind == "household_check"
    flow.complete()
    flow.complete({"purpose": "kinship", "copies": "1", "phone": "13800138000"})
    payload = build_payload(service, session)
    assert payload["fields"] == {
        "for_whom": "member", "member_relationship": "child", "member_id_number": CHILD.id_number,
        "purpose": "kinship", "copies": 1, "phone": "13800138000",
    }  # fmt: skip


# -- the new services' requests ---------------------------------------------------------------------


def test_the_temporary_resident_card_states_its_validity_from_the_rules(catalogue: Catalogue) -> None:
    from contract.schemas import validate_payload

    service = catalogue["temp-resident-id-card"]
    assert (
        service.fee_fen == 1000 and service.rules["valid_months"] == 3 and service.rules["working_days"] == 3
    )
    session = session_with(None, id_number=CHILD.id_number, delivery="pickup", phone="13800138000")
    session.guardian = ADULT
    session.values["guardian_relationship"] = "parent"
    session.artifacts.update(
        payment={"payment_id": "P1"},
        verification={"verification_id": "V1"},
        guardian_face_check={"mode": "card"},
    )
    payload = build_payload(service, session)
    assert payload["fields"]["valid_months"] == 3 and payload["fields"]["working_days"] == 3
    assert payload["fields"]["guardian"]["relationship"] == "parent"
    validate_payload(service.request_type, service.request_version, payload)


def test_the_no_criminal_record_certificate_is_free_and_reviewed(catalogue: Catalogue) -> None:
    from contract.schemas import validate_payload

    service = catalogue["no-criminal-record-certificate"]
    assert service.fee_fen == 0 and "payment" not in {s.kind for s in service.steps}
    kinds = [s.kind for s in service.steps]
    assert kinds[:3] == ["consent", "read_card", "face_check"] and "submit" in kinds
    session = session_with(
        ADULT, purpose="going_abroad", receiving_org="embassy_consulate", phone="13800138000"
    )
    payload = build_payload(service, session)
    assert payload["fields"] == {
        "purpose": "going_abroad",
        "receiving_org": "embassy_consulate",
        "phone": "13800138000",
    }
    validate_payload(service.request_type, service.request_version, payload)
    with pytest.raises(ValueError):
        validate_payload(
            service.request_type, service.request_version, {**payload, "fields": {"purpose": "x"}}
        )
