"""Licence-plate input rules."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kiosk.services.plates import LETTERS, PROVINCES, next_keys, normalise_plate, plate_kind, plate_problem


@pytest.mark.parametrize(
    ("plate", "kind"),
    [
        ("京A12345", "ordinary"),
        ("粤B8K2D9", "ordinary"),
        ("京AD12345", "new_energy_small"),
        ("苏EF1234 5".replace(" ", ""), "new_energy_small"),
        ("沪A12345D", "new_energy_large"),
        ("鲁B1234挂", "special"),
        ("京a·12345", "ordinary"),
    ],
)
def test_valid_plates(plate: str, kind: str) -> None:
    assert plate_kind(plate) == kind
    assert plate_problem(plate) is None


@pytest.mark.parametrize(
    ("plate", "problem"),
    [
        ("", "plate.error.empty"),
        ("AB12345", "plate.error.province"),
        ("京112345", "plate.error.office"),
        ("京A1234O", "plate.error.i_o"),
        ("京A1234", "plate.error.short"),
        ("京A1234567", "plate.error.long"),
        ("京AZ12345", "plate.error.format"),  # 8 characters but Z cannot start a new-energy part
        ("京A12345X", "plate.error.format"),
    ],
)
def test_invalid_plates_say_why(plate: str, problem: str) -> None:
    assert plate_problem(plate) == problem


def test_keyboard_offers_only_what_may_come_next() -> None:
    assert next_keys("") == PROVINCES
    assert next_keys("京") == LETTERS
    assert "挂" in next_keys("鲁B1234") and "挂" not in next_keys("鲁B123")
    assert next_keys("京AD12345") == ""


@given(st.text(max_size=12))
def test_checks_never_raise(text: str) -> None:
    problem = plate_problem(text)
    assert (problem is None) == (plate_kind(text) is not None)
    assert normalise_plate(normalise_plate(text)) == normalise_plate(text)
