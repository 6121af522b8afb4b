"""The face check (人证核验) in the real app: every identity-bound service passes with the demo face;
a card photo or a register photo of someone else is refused after one more try, with 呼叫帮助, and
nothing is filed; a resident who cannot do the challenge is offered 呼叫帮助 at once.

Simulation (docs/identity.md): the simulated camera shows the demo face and, during the challenge,
blinks it; the real landmark engine and the real face model run; the simulated cards' photos come
from the simulated WLT decoder, the register's from the demo backend's enrolment.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.ui.faults import (
    assert_calm,
    assert_way_forward,
    backend_requests,
    outbox_total,
    return_to_attract,
    type_keys,
    wait_devices,
)

pytestmark = pytest.mark.ui

IDENTITY_BOUND = (
    "temp-id-certificate",
    "household-certificate",
    "id-card-renewal",
    "plate-reissue",
    "vehicle-licence-reissue",
    "driving-licence-renewal",
    "driving-licence-replacement",
    "inspection-sticker",
)
OTHER_FACE_NUMBER = "990101198808080523"  # kiosk/queue/demo_register.py: enrolled with someone else's face


def _face_step(kiosk: Any) -> Any:
    kiosk.wait_until(
        lambda: kiosk.app.flow is not None and kiosk.app.flow.step.kind == "face_check",
        timeout_s=30,
        what="the face check",
    )
    return kiosk.app.screen("step").widget


def _household_with_card(kiosk: Any, card: str) -> Any:
    wait_devices(kiosk, "card_reader", "camera", "printer")
    simulator = kiosk.app.runtime.devices["card_reader"].simulator
    simulator.remove()
    simulator.clear_faults()
    kiosk.frames(5)
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("户籍证明", exact=True)
    kiosk.tap("我已阅读并同意")
    simulator.place(card)
    return _face_step(kiosk)


def _refused_after_one_more_try(kiosk: Any, step: Any, reason: str) -> None:
    kiosk.wait_until(lambda: step.phase == "retry", timeout_s=60, what="the first refusal")
    assert step.engine.state.reason == reason and step.can_retry and not step.offers_help
    assert kiosk.app.tr("face.result.mismatch") in kiosk.visible_texts()
    assert_calm(kiosk, step.result_text)
    kiosk.tap(kiosk.app.tr("face.try_again"), exact=True)
    kiosk.wait_until(lambda: step.phase == "failed", timeout_s=60, what="the second refusal")
    assert not step.can_retry and step.offers_help
    texts = kiosk.visible_texts()
    assert kiosk.app.tr("face.title.failed") in texts and kiosk.app.tr("face.failed_note") in texts
    assert_way_forward(kiosk, "assist.help")
    assert_way_forward(kiosk, "app.home")  # the result template's way out


@pytest.mark.parametrize("service_id", IDENTITY_BOUND)
def test_each_identity_bound_service_passes_with_the_matching_face(kiosk: Any, service_id: str) -> None:
    from screens.harness.selftest import walk_service

    wait_devices(kiosk, "card_reader", "camera", "printer")
    before = outbox_total(kiosk)
    ok, reports = walk_service(kiosk, kiosk.app.runtime, service_id)
    assert ok, [r for r in reports if not r.ok]
    face = [r for r in reports if r.kind == "face_check"]
    assert len(face) == 1 and face[0].ok
    session = kiosk.app.session
    assert session.artifacts["face_check"]["mode"] == ("register" if session.identity is None else "card")
    assert outbox_total(kiosk) == before + 1
    return_to_attract(kiosk)
    assert session.face == {}  # frames, card photo and templates went with the session


def test_card_photo_of_someone_else_is_refused_and_nothing_is_filed(kiosk: Any) -> None:
    before_outbox, before_backend = outbox_total(kiosk), backend_requests(kiosk)
    step = _household_with_card(kiosk, "resident_other_face")
    session = kiosk.app.session
    assert step.engine.mode == "card"  # matched on the kiosk, against the card photo
    _refused_after_one_more_try(kiosk, step, "photo_mismatch")
    kiosk.screenshot(kiosk.app.runtime.config.data_dir / "face-check-card-mismatch.png")
    assert "face_check" not in session.artifacts and "submitted" not in session.artifacts
    assert step.engine.matches_asked == 2
    return_to_attract(kiosk)
    assert outbox_total(kiosk) == before_outbox and backend_requests(kiosk) == before_backend
    kiosk.app.runtime.devices["card_reader"].simulator.remove()


def test_register_photo_of_someone_else_is_refused(kiosk: Any) -> None:
    wait_devices(kiosk, "camera", "printer", "a4_printer")
    before_outbox, before_backend = outbox_total(kiosk), backend_requests(kiosk)
    kiosk.frames(5)
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("临时身份证明", exact=True)
    kiosk.tap("我已阅读并同意")
    type_keys(kiosk, OTHER_FACE_NUMBER)
    kiosk.tap(kiosk.app.tr("app.next"))
    step = _face_step(kiosk)
    assert step.engine.mode == "register"
    session = kiosk.app.session
    kiosk.wait_until(lambda: step.phase in ("retry", "offline"), timeout_s=60, what="the register's answer")
    if step.phase == "offline":  # the demo backend enrols its register on the first verification
        kiosk.tap(kiosk.app.tr("face.try_again"), exact=True)
    _refused_after_one_more_try(kiosk, step, "photo_mismatch")
    assert "verification" not in session.artifacts and "submitted" not in session.artifacts
    return_to_attract(kiosk)
    assert outbox_total(kiosk) == before_outbox and backend_requests(kiosk) == before_backend


def test_a_resident_who_cannot_do_the_challenge_is_offered_help(kiosk: Any) -> None:
    step = _household_with_card(kiosk, "resident")
    kiosk.wait_until(lambda: step.phase == "liveness", what="the challenge")
    assert_way_forward(kiosk, "face.cannot")
    kiosk.tap(kiosk.app.tr("face.cannot"), exact=True)
    assert step.phase == "help" and step.offers_help
    assert kiosk.app.tr("face.result.cannot") in kiosk.visible_texts()
    assert_calm(kiosk, step.result_text)
    assert_way_forward(kiosk, "assist.help")
    kiosk.frames(3)
    assert kiosk.app.flow.step.kind == "face_check" and "face_check" not in kiosk.app.session.artifacts
    kiosk.tap(kiosk.app.tr("assist.help"), exact=True)  # staff are called: the way forward
    kiosk.wait_until(lambda: kiosk.app.help_state in ("pending", "sent"), what="the help alert")
    kiosk.app.assist.reset()
    return_to_attract(kiosk)
    kiosk.app.runtime.devices["card_reader"].simulator.remove()
