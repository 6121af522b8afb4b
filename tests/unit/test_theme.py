"""Colour themes meet contrast rules (text on its background)."""

from __future__ import annotations

import pytest

from screens.theme import HIGH_CONTRAST, STANDARD, contrast_ratio

PAIRS = [("c_text", "c_bg"), ("c_text", "c_card"), ("c_on_primary", "c_primary"), ("c_text", "c_secondary")]


@pytest.mark.parametrize(("fg", "bg"), PAIRS)
def test_standard_theme_meets_wcag_aa(fg: str, bg: str) -> None:
    assert contrast_ratio(STANDARD[fg], STANDARD[bg]) >= 4.5


@pytest.mark.parametrize(("fg", "bg"), PAIRS)
def test_high_contrast_theme_meets_wcag_aaa(fg: str, bg: str) -> None:
    assert contrast_ratio(HIGH_CONTRAST[fg], HIGH_CONTRAST[bg]) >= 7.0


def test_both_themes_define_the_same_colours() -> None:
    assert set(STANDARD) == set(HIGH_CONTRAST)
