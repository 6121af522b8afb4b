"""Session wipe, idle timing, masking and messages."""

from __future__ import annotations

import logging

import pytest

from kiosk.config.messages import LANGUAGES, Messages
from kiosk.services.catalogue import FormField
from kiosk.services.fields import display_value, validate_field
from kiosk.visit.idle import FakeClock, IdleMonitor, IdleState
from kiosk.visit.privacy import MaskingFilter, mask_id_number, mask_name, mask_text
from kiosk.visit.session import Session

SYNTHETIC_ID = "990000199001010017"  # synthetic: valid check digit, no real person


def test_wipe_clears_values_files_and_runs_hooks() -> None:
    session = Session()
    session.values["phone"] = "13800138000"
    session.identity = object()
    session.photo_jpeg = b"\xff\xd8photo"
    folder = session.temp_dir
    (folder / "photo.jpg").write_bytes(b"x")
    calls: list[str] = []
    session.on_wipe(lambda: calls.append("a"))
    session.on_wipe(lambda: (_ for _ in ()).throw(RuntimeError("hook fails")))
    session.on_wipe(lambda: calls.append("c"))
    session.wipe()
    assert session.values == {} and session.identity is None and session.photo_jpeg is None
    assert not folder.exists()
    assert calls == ["a", "c"]  # a failing hook does not stop the others
    session.wipe()  # twice is harmless
    assert calls == ["a", "c"]


def test_idle_monitor_warns_then_expires_and_resets_on_activity() -> None:
    clock = FakeClock()
    idle = IdleMonitor(clock)
    idle.reset(60, 15)
    assert idle.status().state is IdleState.ACTIVE
    clock.advance(46)
    status = idle.status()
    assert status.state is IdleState.WARNING and status.remaining_s == pytest.approx(14)
    idle.reset()
    assert idle.status().state is IdleState.ACTIVE
    clock.advance(60)
    assert idle.status().state is IdleState.EXPIRED


def test_masking() -> None:
    assert mask_id_number(SYNTHETIC_ID) == "9900**********0017"
    assert mask_name("王小明") == "王**"
    assert mask_name("John Smith") == "J*** S****"
    assert (
        mask_text(f"card {SYNTHETIC_ID} read for 王小明", frozenset({"王小明"}))
        == "card 9900**********0017 read for 王**"
    )
    assert (
        mask_text("order 20261128123456789012 ok") == "order 20261128123456789012 ok"
    )  # longer numbers untouched


def test_log_filter_masks_every_record(caplog: pytest.LogCaptureFixture) -> None:
    masking = MaskingFilter()
    masking.remember("李四")
    logger = logging.getLogger("test.masking")
    caplog.handler.addFilter(masking)
    try:
        with caplog.at_level(logging.INFO, logger="test.masking"):
            logger.info("read %s for %s", SYNTHETIC_ID, "李四")
            masking.forget()
            logger.info("after wipe %s", "李四")
    finally:
        caplog.handler.removeFilter(masking)
    assert caplog.messages[0] == "read 9900**********0017 for 李*"
    assert SYNTHETIC_ID not in caplog.text
    assert caplog.messages[1] == "after wipe 李四"  # forgotten names are no longer known


@pytest.mark.parametrize(
    ("ftype", "raw", "expected"),
    [
        ("phone", "13800138000", ("13800138000", None)),
        ("phone", "010-12345678", ("010-12345678", None)),
        ("phone", "1380013", (None, "field.error.phone")),
        ("number", "3", (3, None)),
        ("number", "x", (None, "field.error.number")),
        ("number", "9", (None, "field.error.range")),
        ("date", "1990-02-28", ("1990-02-28", None)),
        ("date", "1990-02-30", (None, "field.error.date")),
        ("choice", "b", ("b", None)),
        ("choice", "z", (None, "field.error.choice")),
        ("choice", "", (None, "field.error.required")),
    ],
)
def test_field_validation(ftype: str, raw: str, expected: tuple[object, str | None]) -> None:
    field = FormField.model_validate(
        {
            "id": "f",
            "type": ftype,
            "label": {"zh": "字段", "en": "Field"},
            "min": 1,
            "max": 5,
            "options": [{"value": "a", "zh": "甲", "en": "A"}, {"value": "b", "zh": "乙", "en": "B"}],
        }
    )
    assert validate_field(field, raw) == expected


def test_personal_values_are_masked_for_display() -> None:
    phone = FormField.model_validate(
        {"id": "p", "type": "phone", "personal": True, "label": {"zh": "电话", "en": "Phone"}}
    )
    assert display_value(phone, "13800138000", "zh") == "138****8000"


def test_every_message_exists_in_both_languages() -> None:
    messages = Messages.load()
    for lang in LANGUAGES:
        assert messages.missing(lang) == []
    assert messages.get("idle.body", "en", seconds=7) == "This visit ends and your data is cleared in 7 s"
    assert messages.get("no.such.key") == "no.such.key"
