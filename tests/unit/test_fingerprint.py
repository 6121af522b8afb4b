"""Thumb prints for the ID card (issue #19): the simulated collector and its faults, the site SDK
seam, and the engine that takes both thumbs or says they are taken at pick-up."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from contract.schemas import validate_payload
from drivers.errors import DeviceDisconnected, DeviceNotFound
from drivers.fingerprint.base import FEATURE_LEN, CaptureStatus
from drivers.fingerprint.sdk import SdkFingerprintCollector
from drivers.fingerprint.simulator import SimulatedFingerprintCollector
from kiosk.devices import role_drivers
from kiosk.steps.fingerprint import AT_PICKUP, ATTEMPTS, DONE, FingerprintEngine, scan_attachments
from tests.unit.engine_fakes import InlineRunner

PNG = b"\x89PNG\r\n\x1a\n"
RENEWAL_FIELDS = {"kind": "renewal", "reason": "damaged", "delivery": "pickup", "phone": "13800138000",
                  "payment_id": "P1"}  # fmt: skip
APPLICANT = {"id_number": "99010119800315031X", "identified_by": "card"}


def engine_for(collector: Any) -> tuple[FingerprintEngine, list[str]]:
    seen: list[str] = []
    engine = FingerprintEngine(collector, InlineRunner(), on_change=lambda s: seen.append(s.instruction_key))
    engine.start()
    return engine, seen


def test_the_simulator_gives_each_thumb_its_own_record_and_scan() -> None:
    collector = SimulatedFingerprintCollector()
    right, left = collector.capture("right_thumb", 1), collector.capture("left_thumb", 1)
    assert right.ok and left.ok and right.quality == 86
    assert len(right.feature) == len(left.feature) == FEATURE_LEN and right.feature != left.feature
    assert right.image_png.startswith(PNG) and right.image_png != left.image_png
    with pytest.raises(ValueError):
        collector.capture("index", 1)


def test_the_simulators_faults() -> None:
    collector = SimulatedFingerprintCollector()
    collector.inject("poor_quality")
    assert collector.capture("right_thumb", 1).status is CaptureStatus.POOR_QUALITY
    collector.clear()
    collector.inject("no_finger")
    assert collector.capture("right_thumb", 0.01).status is CaptureStatus.NO_FINGER
    collector.clear()
    collector.inject("unplugged")
    assert not collector.health().usable
    with pytest.raises(DeviceDisconnected):
        collector.capture("right_thumb", 1)


def test_both_thumbs_are_taken_and_filed() -> None:
    engine, seen = engine_for(SimulatedFingerprintCollector())
    assert engine.state.phase == DONE and engine.state.taken == ("right_thumb", "left_thumb")
    assert list(dict.fromkeys(seen)) == [
        "fingerprint.place.right_thumb", "fingerprint.place.left_thumb", "fingerprint.done",
    ]  # fmt: skip
    results = engine.results()["fingerprints"]
    assert results["status"] == "collected"
    assert [f["finger"] for f in results["fingers"]] == ["right_thumb", "left_thumb"]
    assert all(len(base64.b64decode(f["feature_b64"])) == FEATURE_LEN for f in results["fingers"])
    assert [name for name, _ in scan_attachments(engine)] == [
        "fingerprint_right_thumb",
        "fingerprint_left_thumb",
    ]
    payload = {"applicant": APPLICANT, "fields": {**RENEWAL_FIELDS, "fingerprints": results}}
    validate_payload("household.id_card_renewal", 2, payload)  # the request's schema takes it


def test_a_poor_print_is_asked_again_then_taken() -> None:
    collector = SimulatedFingerprintCollector()
    collector.inject("poor_once")
    engine, seen = engine_for(collector)
    assert "fingerprint.again.poor" in seen and engine.state.phase == DONE
    assert collector.captures == 3


def test_a_thumb_that_cannot_be_taken_is_left_for_pick_up() -> None:
    collector = SimulatedFingerprintCollector()
    collector.inject("poor_quality")
    engine, _ = engine_for(collector)
    assert (engine.state.phase, engine.state.reason) == (AT_PICKUP, "not_captured")
    assert collector.captures == ATTEMPTS and scan_attachments(engine) == []
    assert engine.results() == {"fingerprints": {"status": "at_pickup", "reason": "not_captured"}}


def test_without_a_collector_or_with_a_broken_one_the_request_says_at_pick_up() -> None:
    engine, seen = engine_for(None)
    assert engine.results() == {"fingerprints": {"status": "at_pickup", "reason": "no_collector"}}
    assert seen == ["fingerprint.at_pickup.no_collector"]
    unplugged = SimulatedFingerprintCollector()
    unplugged.inject("unplugged")
    assert engine_for(unplugged)[0].state.reason == "no_collector"  # down before the step: not asked
    failing = SimulatedFingerprintCollector()
    engine = FingerprintEngine(failing, InlineRunner(hold=True))
    engine.start()
    failing.inject("unplugged")  # pulled out while the resident presses
    engine._tasks.finish()  # type: ignore[attr-defined]
    assert engine.state.reason == "collector_failed"
    payload = {"applicant": APPLICANT, "fields": {**RENEWAL_FIELDS, **engine.results()}}
    validate_payload("household.id_card_renewal", 2, payload)


def test_a_late_capture_after_leaving_is_dropped() -> None:
    runner = InlineRunner(hold=True)
    engine = FingerprintEngine(SimulatedFingerprintCollector(), runner)
    engine.start()
    engine.leave()
    runner.finish()
    assert engine.state.phase == "capturing" and engine.captures == {}


def test_the_role_has_the_site_sdk_and_the_simulator() -> None:
    drivers = role_drivers("fingerprint")
    assert set(drivers) == {"sdk", "simulated"} and drivers["simulated"].simulated
    assert not drivers["sdk"].simulated
    with pytest.raises(DeviceNotFound, match="cannot be loaded"):
        SdkFingerprintCollector("/nonexistent/libvendor-fingerprint.so")
