"""Every service in config/services.toml can be completed without typing Chinese: each step is a
kind answered by touch (choices, digit and letter keypads, the plate keyboard's province picker,
devices), and each form question is a type with a tap-able answer. The UI walk that proves it on
screen is tests/ui/test_accessibility.py::test_each_service_by_touch_alone_with_targets_of_15_mm."""

from __future__ import annotations

from kiosk.services.catalogue import SERVICE_IDS, Catalogue

# step kind -> how it is answered; none of them has a free-text field
TOUCH_KINDS = {
    "consent": "one button",
    "form": "one question at a time: choice buttons, digit pad (X for ID numbers), date steppers",
    "plate": "province picker (tap-able characters) and a letter/digit keypad",
    "address": "province/city/county tiles and a house-number keypad of digits, letters and 号楼单元室",
    "read_card": "lay the card",
    "take_photo": "look at the camera; accept or retake",
    "verify_identity": "automatic",
    "face_check": "look at the camera, blink or turn; 我做不了 / 再试一次 / 呼叫帮助 buttons",
    "vehicle_lookup": "yes / no",
    "violations": "tap the records to pay",
    "payment": "scan a QR code with a phone",
    "review": "confirm or edit",
    "submit": "automatic",
    "print": "automatic",
    "done": "finish",
    "request_status": "scan the receipt or type its hex digits on a keypad",
    "licence_check": "确认无误 in the action bar",
    "health_check": "the record number on a digit pad",
    "owner_check": "确认无误 in the action bar",
    "inspection_check": "确认无误 in the action bar",
    "applicant_rules": "automatic",
    "household_check": "automatic",
    "fingerprint": "press each thumb on the reader; 下一步 when they are taken at pick-up",
}
TOUCH_FIELD_TYPES = {"choice", "number", "phone", "date", "id_number", "digits"}  # digits: the digit pad


def test_every_step_of_every_service_is_answered_by_touch() -> None:
    catalogue = Catalogue.load()
    assert {s.id for s in catalogue.services} >= set(SERVICE_IDS)
    for service in catalogue.services:
        for step in service.steps:
            assert step.kind in TOUCH_KINDS, f"{service.id}/{step.id}: kind {step.kind!r} may need typing"
            for field in step.fields:
                where = f"{service.id}/{step.id}/{field.id}"
                assert field.type in TOUCH_FIELD_TYPES, f"{where}: type {field.type!r} may need typing"
                if field.type == "choice":
                    assert len(field.options) >= 2, f"{where}: a choice needs options to tap"


def test_the_touch_walk_has_a_player_for_every_kind_used() -> None:
    """The self-test's players tap only; the UI walk uses them, so every kind needs one."""
    import os

    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from screens.harness.selftest import PLAYERS

    used = {step.kind for service in Catalogue.load().services for step in service.steps}
    assert used - {"review", "done"} <= set(PLAYERS) | {"done"}
