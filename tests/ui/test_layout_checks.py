"""Layout checks over the screenshot tour (screens/harness/layout.py): every picture of the tour is
checked for clipped or ellipsised labels, overlapping touch targets, action-bar slots that move,
text contrast, lone characters on wrapped Chinese lines and glyphs missing from the font.

The matrix is language × text size × contrast × orientation (16 tours). CI runs a documented
subset (``CI_MODES``: three tours covering each value of each axis at least once, about a minute
each on the 2-core box); ``KIOSK_LAYOUT_MATRIX=full`` runs all 16. Each check is one test, so a
report names the check that failed with every finding of it; ``KIOSK_LAYOUT_REPORT=FILE`` writes
every finding to FILE.

Findings owned by another part of the work are listed in ``KNOWN_ELSEWHERE`` with what is left
to do; every other finding fails its check. The deliberate regressions at the bottom prove each
check can fail: one widget per defect is put
on a live screen and the check must name exactly that widget.
"""

from __future__ import annotations

import itertools
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from screens.harness.layout import CHECKS, Finding, LayoutAudit, Mode

pytestmark = pytest.mark.ui

XVFB_HEIGHT = 1080  # scripts/check's Xvfb screen is 1920x1080: a portrait window must fit in it
CI_MODES = (
    Mode("zh", large_text=False, high_contrast=False, landscape=True),
    Mode("en", large_text=True, high_contrast=False, landscape=True),
    Mode("zh", large_text=True, high_contrast=True, landscape=False),
)
FULL_MODES = tuple(
    Mode(lang, large, contrast, landscape)
    for lang, large, contrast, landscape in itertools.product(
        ("zh", "en"), (False, True), (False, True), (True, False)
    )
)

# Findings left to another part of the work, each with who owns it and what is left to do:
# (check, a regex on "shot where", why). Any other finding fails its check. Issue #18's own list
# (plate pad over the title row, English labels in 长辈模式, disabled service tiles, result words,
# the simulation dock, the PIN pad's bar) is fixed and empty; what remains is the payment and
# violations step and the vehicle record (screens/steps/lookups.kv), which another change reworks:
# in 长辈模式 English their content runs over the header, and a violation row's red text sits on
# its red selection.
LOOKUPS = "screens/steps/lookups.kv (reworked elsewhere)"
FOLLOW_UP = "#18 follow-up"
KNOWN_ELSEWHERE: tuple[tuple[str, str, str], ...] = (
    ("clipped", r"^\S+-\d+-payment ", LOOKUPS + ": the itemised list runs over the header in 长辈模式"),
    ("contrast", r"^\S+-\d+-payment ", LOOKUPS + ": the itemised list over the header; red on the selection"),
    ("contrast", r"^\S+-\d+-vehicle KLabel\('Please confirm the vehicle'\)",
     LOOKUPS + ": the vehicle record's heading runs over the header in 长辈模式 English"),
    # found by the merge of issue #19's services (listed in the #18 note, each still to fix):
    ("clipped|overlap|contrast", r"^\S+-\d+-payment-show-code ",
     LOOKUPS + ": 出示付款码 in English 长辈模式: the bill under the header, the demo button under the bar"),
    ("clipped", r"consent KLabel\('This service reads and submits'\)",
     FOLLOW_UP + ": the consent list of what a service takes outgrows the page in English 长辈模式 (reflow)"),
    ("clipped", r"^services-household KLabel\('Apply for a household registra",
     FOLLOW_UP + ": the household certificate's longer English help in 长辈模式"),
)  # fmt: skip


def _modes() -> tuple[Mode, ...]:
    return FULL_MODES if os.environ.get("KIOSK_LAYOUT_MATRIX") == "full" else CI_MODES


def _slot_texts(app: Any) -> dict[str, set[str]]:
    def both(*keys: str) -> set[str]:
        return {app.tr(key, lang) for key in keys for lang in ("zh", "en")}

    return {"back": both("app.back"), "exit": both("app.cancel"), "main": both("app.next")}


def _set_mode(pilot: Any, mode: Mode, size: tuple[int, int]) -> None:
    from kivy.core.window import Window

    app = pilot.app
    app.cancel()
    width, height = size
    portrait = (height, width) if width <= XVFB_HEIGHT else (round(XVFB_HEIGHT * height / width), XVFB_HEIGHT)
    Window.size = size if mode.landscape else portrait
    app.lang, app.large_text, app.high_contrast = mode.lang, mode.large_text, mode.high_contrast
    pilot.frames(3)
    assert app.landscape == mode.landscape


@pytest.fixture(scope="module")
def audit(pilot: Any) -> Iterator[LayoutAudit]:
    """The findings of the tour in every mode of the matrix (run once for the module)."""
    from kivy.core.window import Window

    from screens.harness.tour import picture_tour

    app = pilot.app
    pilot.wait_until(lambda: app.runtime.queue is not None, timeout_s=30, what="the request queue")
    size = tuple(Window.size)
    result = LayoutAudit(slot_texts=_slot_texts(app))
    try:
        for mode in _modes():
            _set_mode(pilot, mode, size)

            def shot(name: str) -> None:
                pilot.frames(3)
                result.check(name, Mode.of(app), pilot.image())

            picture_tour(pilot, shot, modes=False)
            pilot.errors.clear()  # the tour's own error screen
    finally:
        app.cancel()
        Window.size = size
        app.lang, app.large_text, app.high_contrast = "zh", False, False
        pilot.frames(3)
    if report := os.environ.get("KIOSK_LAYOUT_REPORT"):
        result.write_report(Path(report))
    yield result


def _report(findings: list[Finding]) -> str:
    lines = [str(f) for f in findings[:40]]
    if len(findings) > 40:
        lines.append(f"... and {len(findings) - 40} more")
    return "\n".join(lines)


def _known_elsewhere(finding: Finding) -> bool:
    text = f"{finding.shot} {finding.where}"
    return any(
        re.fullmatch(check, finding.check) and re.search(rx, text) for check, rx, _who in KNOWN_ELSEWHERE
    )


@pytest.mark.timeout(1200)  # the first one bears the module's tour: three modes of about 70 screens
@pytest.mark.parametrize("check", CHECKS)
def test_tour_has_no_layout_finding(audit: LayoutAudit, check: str) -> None:
    assert audit.shots > 60 * len(_modes())  # the whole tour was checked, not one screen
    findings = [f for f in audit.by_check()[check] if not _known_elsewhere(f)]
    assert not findings, f"{len(findings)} {check} findings:\n{_report(findings)}"


# -- deliberate regressions: each check must catch the defect put on screen -------------------------
@pytest.fixture
def home(kiosk: Any) -> Iterator[Any]:
    kiosk.app.begin()
    kiosk.wait_until(lambda: kiosk.screen == "home", what="the home screen")
    injected: list[Any] = []
    yield kiosk, injected
    for widget in injected:
        if widget.parent is not None:
            widget.parent.remove_widget(widget)
    kiosk.frames(2)


def _inject(pilot: Any, injected: list[Any], widget: Any, pos: tuple[float, float]) -> Any:
    from kivy.core.window import Window

    widget.pos = pos
    Window.add_widget(widget)
    injected.append(widget)
    pilot.frames(3)
    return widget


def _check(pilot: Any, injected: list[Any], check: str, audit: LayoutAudit | None = None) -> list[Finding]:
    audit = audit or LayoutAudit()
    found = audit.check("regression", Mode.of(pilot.app), pilot.image(), roots=injected)
    return [f for f in found if f.check == check]


def test_a_label_too_long_for_its_box_is_clipped(home: Any) -> None:
    from kivy.uix.label import Label

    pilot, injected = home
    label = Label(
        text="请将身份证放置在读卡区，或轻触屏幕开始办理业务" * 3, size_hint=(None, None), size=(300, 60)
    )
    label.text_size = label.size
    _inject(pilot, injected, label, (400, 400))
    assert [f.where for f in _check(pilot, injected, "clipped")] == [f"Label({label.text[:30]!r})"]


def test_a_shortened_label_is_ellipsised(home: Any) -> None:
    from kivy.uix.label import Label

    pilot, injected = home
    label = Label(text="公安自助服务终端" * 4, size_hint=(None, None), size=(300, 60), shorten=True)
    label.text_size = label.size
    _inject(pilot, injected, label, (400, 400))
    assert len(_check(pilot, injected, "ellipsised")) == 1


def test_low_contrast_text_is_caught_and_more_is_needed_in_large_text(home: Any) -> None:
    from kivy.graphics import Color, Rectangle
    from kivy.uix.label import Label

    pilot, injected = home
    label = Label(
        text="可用手机拍下二维码查询进度", size_hint=(None, None), size=(700, 80), color=(0.6, 0.6, 0.6, 1)
    )
    with label.canvas.before:
        Color(1, 1, 1, 1)
        Rectangle(pos=(400, 400), size=(700, 80))
    _inject(pilot, injected, label, (400, 400))
    found = _check(pilot, injected, "contrast")
    assert len(found) == 1 and "2.85:1" in found[0].detail  # grey 0.6 on white
    label.color = (0.35, 0.35, 0.35, 1)  # 7.5:1 on white: passes both limits
    pilot.frames(2)
    assert _check(pilot, injected, "contrast") == []
    label.color = (0.45, 0.45, 0.45, 1)  # 5.3:1: enough for normal text, not for 长辈模式
    pilot.frames(2)
    assert _check(pilot, injected, "contrast") == []
    pilot.app.large_text = True
    try:
        pilot.frames(2)
        assert len(_check(pilot, injected, "contrast")) == 1
    finally:
        pilot.app.large_text = False


def test_overlapping_buttons_are_caught(home: Any) -> None:
    from screens.widgets import KButton

    pilot, injected = home
    for text, pos in (("甲", (100, 100)), ("乙", (150, 120))):
        _inject(pilot, injected, KButton(text=text, size_hint=(None, None)), pos).size = (120, 60)
    pilot.frames(2)
    found = _check(pilot, injected, "overlap")
    assert len(found) == 1 and "乙" in found[0].detail


def test_a_moved_action_bar_slot_is_caught(home: Any) -> None:
    from screens.widgets import KButton

    pilot, injected = home
    audit = LayoutAudit()
    button = _inject(pilot, injected, KButton(text="下一步", size_hint=(None, None)), (300, 20))
    button.action_slot = "main"
    assert _check(pilot, injected, "action_bar", audit) == []
    button.pos = (250, 20)
    pilot.frames(2)
    found = _check(pilot, injected, "action_bar", audit)
    assert len(found) == 1 and "main slot" in found[0].detail


def test_a_lone_character_on_a_wrapped_line_is_caught(home: Any) -> None:
    from kivy.uix.label import Label

    pilot, injected = home
    label = Label(text="请放稳不要移动", size_hint=(None, None), size=(400, 200), font_size=60)
    _inject(pilot, injected, label, (400, 400))
    label.text_size = (label.font_size * 6.5, None)  # six characters a line: 动 alone on the second
    pilot.frames(3)
    found = _check(pilot, injected, "lone_char")
    assert len(found) == 1 and "动" in found[0].detail
    label.text_size = (label.font_size * 5.5, None)  # five a line: 移动 together
    pilot.frames(3)
    assert _check(pilot, injected, "lone_char") == []


def test_a_glyph_missing_from_the_font_is_caught_and_icons_are_not(home: Any) -> None:
    from kivy.uix.label import Label

    from screens import icons

    pilot, injected = home
    label = _inject(
        pilot, injected, Label(text="已选 \ue000", size_hint=(None, None), size=(400, 80)), (400, 400)
    )
    found = _check(pilot, injected, "glyph")
    assert len(found) == 1 and "U+E000" in found[0].detail
    label.markup = True
    label.text = f"已选 {icons.markup('check-bold')}"
    pilot.frames(2)
    assert _check(pilot, injected, "glyph") == []
    injected.append(
        _inject(pilot, injected, icons.Icon(icon="wallet", size_hint=(None, None), size=(80, 80)), (900, 400))
    )
    assert _check(pilot, injected, "glyph") == []


def test_contrast_is_judged_against_what_is_behind_the_glyphs(home: Any) -> None:
    """A large glyph covering most of its box is judged against the colour around it, not
    against itself (the home icons measured 1:1); text drawn in its background's colour is 1:1."""
    from kivy.graphics import Color, Rectangle

    from screens import icons

    pilot, injected = home
    label = icons.Icon(icon="square", font_size=190, size_hint=(None, None), size=(200, 200))
    label.color = (0.55, 0.25, 0, 1)
    with label.canvas.before:
        Color(1, 1, 1, 1)
        Rectangle(pos=(400, 400), size=(200, 200))
    _inject(pilot, injected, label, (400, 400))
    assert _check(pilot, injected, "contrast") == []  # dark orange on white: 7.4:1 > 4.5:1
    label.color = (1, 1, 1, 1)  # white on white: invisible
    pilot.frames(2)
    found = _check(pilot, injected, "contrast")
    assert len(found) == 1 and "1.00:1" in found[0].detail
