"""The household services' own screens (issue #19) in the real app: the thumb prints, the rules on
who may apply with their result screens, the guardian's card, and the household-member check
against the simulated backend's demo households (backend/demo_households.toml)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from drivers.fingerprint.simulator import SimulatedFingerprintCollector
from drivers.idcard.simulator import load_cards
from screens.harness.tour_steps import flow_at

pytestmark = pytest.mark.ui

CHILD = load_cards()["resident_child"]


def at_step(kiosk: Any, service_id: str, step_id: str, **values: Any) -> Any:
    """The app standing at ``step_id`` (earlier steps answered synthetically, then ``values``)."""
    app = kiosk.app
    service = app.catalogue[service_id]
    target = next(s for s in service.steps if s.id == step_id)
    flow = flow_at(app, service, target)
    assert flow is not None
    app.session.values.update(values)
    return flow


def show(kiosk: Any) -> Any:
    kiosk.app.show_route()
    kiosk.frames(3)
    return kiosk.app.screen("step").widget


@pytest.fixture
def collector(kiosk: Any) -> Iterator[SimulatedFingerprintCollector]:
    devices = kiosk.app.runtime.devices
    fake = SimulatedFingerprintCollector()
    devices["fingerprint"] = fake
    try:
        yield fake
    finally:
        kiosk.app.end_session("test")
        del devices["fingerprint"]


def test_both_thumbs_are_taken_and_the_flow_goes_on(kiosk: Any, collector: Any, tmp_path: Path) -> None:
    flow = at_step(kiosk, "id-card-renewal", "fingerprints")
    show(kiosk)
    kiosk.wait_until(lambda: flow.step.id == "delivery", timeout_s=10, what="both thumbs")
    prints = kiosk.app.session.values["fingerprints"]
    assert prints["status"] == "collected" and len(prints["fingers"]) == 2
    assert [n for n, _ in kiosk.app.session.artifacts["fingerprint_scans"]] == [
        "fingerprint_right_thumb", "fingerprint_left_thumb",
    ]  # fmt: skip
    assert collector.captures == 2


def test_prints_that_stay_poor_are_left_for_pick_up(kiosk: Any, collector: Any, tmp_path: Path) -> None:
    collector.inject("poor_quality")
    flow = at_step(kiosk, "id-card-renewal", "fingerprints")
    widget = show(kiosk)
    kiosk.wait_until(lambda: widget.phase == "at_pickup", timeout_s=10, what="the pick-up note")
    assert any("领取新证时将在派出所采集" in t for t in kiosk.visible_texts())
    kiosk.screenshot(tmp_path / "poor.png")
    kiosk.tap(kiosk.app.tr("app.next"))
    assert flow.step.id == "delivery"
    assert kiosk.app.session.values["fingerprints"] == {"status": "at_pickup", "reason": "not_captured"}
    assert "fingerprint_scans" not in kiosk.app.session.artifacts


def test_without_a_collector_the_request_says_at_pick_up(kiosk: Any) -> None:
    assert "fingerprint" not in kiosk.app.runtime.devices
    flow = at_step(kiosk, "id-card-renewal", "fingerprints")
    widget = show(kiosk)
    kiosk.wait_until(lambda: widget.wants_next, timeout_s=5, what="the note")
    assert any("本机不采集指纹" in t for t in kiosk.visible_texts())
    kiosk.tap(kiosk.app.tr("app.next"))
    assert kiosk.app.session.values["fingerprints"]["reason"] == "no_collector"
    assert flow.step.id == "delivery"
    kiosk.app.end_session("test")


def test_renewing_for_expiry_too_early_is_a_result_screen(kiosk: Any) -> None:
    at_step(kiosk, "id-card-renewal", "eligibility", reason="expired")  # the card runs to 2036-05-01
    widget = show(kiosk)
    assert widget.result is not None and widget.result.title_key == "household.stop.window.title"
    texts = kiosk.visible_texts()
    assert "现在还不能换领" in texts and "2036-02-01" in texts
    assert kiosk.app.flow.step.id == "eligibility"  # nothing moved on
    kiosk.tap("返回首页")
    assert kiosk.app.flow is None


def test_a_child_goes_on_to_the_guardians_card_and_its_own_card_is_refused_there(kiosk: Any) -> None:
    runtime = kiosk.app.runtime
    kiosk.wait_until(lambda: not runtime.pending_roles(), timeout_s=30, what="the devices")
    simulator = runtime.devices["card_reader"].simulator
    simulator.remove()
    flow = at_step(kiosk, "id-card-renewal", "eligibility")
    kiosk.app.session.identity = CHILD
    show(kiosk)
    kiosk.wait_until(lambda: flow.step.id == "guardian_card", timeout_s=5, what="the guardian's card step")
    assert kiosk.app.session.values["applicant_minor"] == "yes"
    widget = show(kiosk)
    assert "请监护人放置本人身份证" in kiosk.visible_texts()
    simulator.place("resident_child")
    kiosk.wait_until(lambda: widget.result is not None, timeout_s=10, what="the refusal")
    assert "这是申请人本人的证件" in kiosk.visible_texts() and kiosk.app.session.guardian is None
    kiosk.tap("换一张证件")
    simulator.remove()
    kiosk.wait_until(lambda: widget.state == "waiting", timeout_s=10, what="the reader ready again")
    simulator.place("resident")
    kiosk.wait_until(lambda: flow.step.id == "guardian_face", timeout_s=15, what="the guardian's face check")
    assert kiosk.app.session.guardian.id_number == "99010119800315031X"
    assert kiosk.app.session.identity is CHILD  # the applicant stays the child
    simulator.remove()
    kiosk.app.end_session("test")


def test_a_member_of_another_household_is_refused_then_a_real_member_goes_on(kiosk: Any) -> None:
    runtime = kiosk.app.runtime
    kiosk.wait_until(lambda: runtime.queue is not None, timeout_s=30, what="the request queue")
    flow = at_step(kiosk, "household-certificate", "household", member_id_number="990101198808080523")
    widget = show(kiosk)
    kiosk.wait_until(lambda: widget.result is not None, timeout_s=20, what="the backend's answer")
    assert "未能确认对方与您同户" in kiosk.visible_texts()
    assert widget.engine.state.reason == "different_household"
    kiosk.tap("修改号码")  # back to the member's number
    assert flow.step.id == "member"
    flow.complete({"member_relationship": "child", "member_id_number": CHILD.id_number})
    show(kiosk)
    kiosk.wait_until(lambda: flow.step.id == "details", timeout_s=20, what="the same household confirmed")
    assert kiosk.app.session.artifacts["household_check"] == {"same_household": True}
    kiosk.app.end_session("test")
