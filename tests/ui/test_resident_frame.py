"""The resident's frame (docs/ux.md): the three-slot action bar at the same place on every step in
every mode, back and leave disabled while the kiosk works, the result template for stops, the
header's full name never cut, 长辈模式 at least 1.5x with more time, secondary text at 7:1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from screens.harness.tour_steps import StepTour
from screens.theme import HIGH_CONTRAST, STANDARD, contrast_ratio

pytestmark = pytest.mark.ui

SLOTS = ("back", "leave", "main")


def _rects(app: Any, bar: Any) -> dict[str, tuple[int, int, int, int]]:
    out = {}
    for slot in SLOTS:
        button = bar.ids[slot]
        x, y = button.to_window(button.x, button.y)
        out[slot] = (round(x), round(y), round(button.width), round(button.height))
    return out


def _walk_steps(kiosk: Any) -> dict[str, Any]:
    """Every step of two services (held work: busy states are pictured), with the action bar's
    slot rectangles and state at each."""
    app = kiosk.app
    seen: dict[str, Any] = {}

    def shot(name: str) -> None:
        kiosk.frames(2)
        if app.manager.current != "step":
            return
        host = app.screen("step")
        bar = host.ids.action_bar
        seen[name] = {
            "rects": _rects(app, bar),
            "busy": host.busy,
            "back": (bar.ids.back.opacity > 0, bar.ids.back.disabled),
            "leave": (bar.ids.leave.opacity > 0, bar.ids.leave.disabled),
            "result": host.result,
            "kind": app.flow.step.kind if app.flow else "",
        }

    tour = StepTour(app, kiosk, shot)
    for service_id in ("temp-id-certificate", "traffic-fine"):
        service = app.catalogue[service_id]
        for number, step in enumerate(service.steps, 1):
            tour.picture(service, step, f"{service_id}-{number:02d}-{step.id}")
    return seen


@pytest.mark.parametrize(("lang", "large"), [("zh", False), ("en", True)])
def test_action_bar_slots_are_at_the_same_place_on_every_step(kiosk: Any, lang: str, large: bool) -> None:
    app = kiosk.app
    kiosk.wait_until(lambda: app.runtime.queue is not None, timeout_s=30, what="the request queue")
    app.lang, app.large_text = lang, large
    try:
        seen = _walk_steps(kiosk)
    finally:
        app.lang, app.large_text = "zh", False
    shown = {name: s for name, s in seen.items() if s["result"] is None}
    assert len(shown) >= 8, sorted(seen)
    positions = {slot: {s["rects"][slot] for s in shown.values()} for slot in SLOTS}
    for slot in SLOTS:
        assert len(positions[slot]) == 1, (slot, positions[slot])
    back, leave, main = (positions[s].pop() for s in SLOTS)
    assert back[0] < leave[0] < main[0] and back[1] == leave[1] == main[1]  # left, middle, right
    # back and leave are shown disabled while the kiosk works
    busy = [s for s in shown.values() if s["busy"]]
    assert {s["kind"] for s in busy} >= {"submit", "face_check"}, [s["kind"] for s in busy]
    for state in busy:
        assert state["back"][1] and state["leave"][1], state
    # nothing to undo after submitting: no back on submit, payment and print
    for state in shown.values():
        if state["kind"] in ("submit", "payment", "print"):
            assert not state["back"][0], state


def test_large_text_is_elder_mode_at_least_one_and_a_half_with_more_time(kiosk: Any) -> None:
    app = kiosk.app
    kiosk.tap_at(300, 300)
    title = kiosk.find(app.tr("home.title"))
    normal = title.font_size
    timeout = app.visit.idle.timeout_s
    kiosk.tap(app.tr("app.large_text_on"), exact=True)
    try:
        assert app.text_scale >= 1.5 and title.font_size >= normal * 1.5 - 0.01
        assert app.visit.time_scale >= 1.5
        app.start_service("test-form-only")
        assert app.visit.idle.timeout_s >= timeout * 1.5 - 0.01
    finally:
        app.large_text = False
        app.cancel()
    assert app.visit.time_scale == 1.0


def _header_name(kiosk: Any) -> Any:
    name = kiosk.app.tr("app.name")
    return next(w for w in kiosk.walk() if getattr(w, "text", None) == name and w.opacity > 0)


@pytest.mark.parametrize("screen", ["attract", "home", "step"])
def test_header_name_is_never_cut(kiosk: Any, screen: str) -> None:
    app = kiosk.app
    if screen != "attract":
        kiosk.tap_at(300, 300)
    if screen == "step":
        app.start_service("test-form-only")
    try:
        for lang in ("zh", "en"):
            for large in (False, True):
                app.lang, app.large_text = lang, large
                kiosk.frames(4)
                label = _header_name(kiosk)
                assert not label.shorten
                lines = [ln for ln in label._label._cached_lines if ln.words]
                shown = "".join(w.text for ln in lines for w in ln.words).replace(" ", "")
                assert shown == app.tr("app.name").replace(" ", ""), (lang, large, shown)
                assert label.texture_size[0] <= label.width + 1 and label.height >= label.texture_size[1]
                x, _y = label.to_window(label.x, label.y)
                assert x >= 0 and x + label.width <= kiosk.app.root.width
                # at most three header controls
                bar = label.parent.parent
                controls = [
                    w for w in bar.children if w is not label.parent and w.opacity > 0 and w.width > 0
                ]
                assert len(controls) <= 3, [getattr(w, "text", "") for w in controls]
    finally:
        app.lang, app.large_text = "zh", False
        app.cancel()


def test_secondary_text_has_seven_to_one_contrast() -> None:
    for theme in (STANDARD, HIGH_CONTRAST):
        for background in ("c_bg", "c_card", "c_secondary"):
            assert contrast_ratio(theme["c_muted"], theme[background]) >= 7.0, (background, theme)


def _to_health_stop(kiosk: Any) -> Any:
    app = kiosk.app
    service = app.catalogue["driving-licence-renewal"]
    health = next(s for s in service.steps if s.id == "health")
    from screens.harness.tour_steps import flow_at

    flow = flow_at(app, service, health)
    assert flow is not None
    app.show_route()
    kiosk.tap("是", exact=True)
    kiosk.tap(app.tr("app.next"))
    kiosk.tap("否", exact=True)  # selected, not yet answered
    assert app.screen("step").result is None
    kiosk.tap(app.tr("app.next"))
    return app.screen("step")


def test_a_rule_that_stops_the_service_is_a_result_screen(kiosk: Any) -> None:
    app = kiosk.app
    host = _to_health_stop(kiosk)
    assert host.result is not None and host.result.kind == "problem"
    texts = kiosk.visible_texts()
    assert app.tr("result.service_stops.title") in texts
    assert app.tr("health.declaration_stops") in texts
    for key in ("app.home", "assist.help", "result.change_answer"):
        assert app.tr(key) in texts, key
    assert "是" not in texts and "否" not in texts  # no answers that still work under the stop
    assert host.ids.action_bar.opacity == 0
    assert "hearing_ok" not in app.session.values
    kiosk.tap(app.tr("result.change_answer"), exact=True)  # a mistaken touch can be corrected
    assert host.result is None and "否" in kiosk.visible_texts()
    kiosk.tap("否", exact=True)
    kiosk.tap(app.tr("app.next"))
    assert host.result is not None
    kiosk.tap(app.tr("app.home"), exact=True)
    assert kiosk.screen == "attract" and app.session is None


def test_result_panel_buttons_and_lookup_results() -> None:
    from kiosk.steps.backend_step import REFUSED, LookupState
    from screens.steps.base import LOOKUP_RESULTS, lookup_result

    refused = lookup_result(LookupState(phase=REFUSED, message_key="lookup.not_verified"))
    assert refused is not None and refused.kind == "problem" and refused.help and refused.retry_key
    assert lookup_result(LookupState(message_key="lookup.verifying")) is None
    for key in ("lookup.vehicle_unknown", "lookup.payment_expired", "queue.lookup_unavailable"):
        assert LOOKUP_RESULTS[key].kind == "problem" and LOOKUP_RESULTS[key].help
    nothing = LOOKUP_RESULTS["lookup.violations_none"]
    assert nothing.kind == "ok" and not nothing.help  # good news: not a problem, no alarm


def test_no_character_alone_on_the_last_wrapped_line(kiosk: Any) -> None:
    from kivy.core.window import Window
    from kivy.uix.label import Label

    from screens.widgets import KLabel, lone_last_line

    text = "请将身份证放稳不要移动"
    label = KLabel(text=text, size_hint=(None, None))
    Window.add_widget(label)
    try:
        label.font_size = 40
        kiosk.frames(2)
        em = label._label.get_extents("请")[0]
        label.width = em * 10 + 4  # ten characters fit on a line: the eleventh would be alone
        plain = Label(text=text, font_size=40, text_size=(label.width, None))  # what Kivy alone does
        plain.texture_update()
        assert lone_last_line(plain)
        kiosk.frames(6)
        assert not lone_last_line(label) and label.narrow > 0
        lines = [ln for ln in label._label._cached_lines if ln.words]
        assert len(lines) == 2 and len("".join(w.text for w in lines[-1].words)) >= 2
        # a short tail after a comma: the break moves to the comma ("...自" / "动继续" before)
        label.text = "请用手机扫描二维码付款，付款成功后自动继续"
        label.width = em * 18 + 4
        kiosk.frames(6)
        lines = ["".join(w.text for w in ln.words) for ln in label._label._cached_lines if ln.words]
        assert lines == ["请用手机扫描二维码付款，", "付款成功后自动继续"], lines
    finally:
        Window.remove_widget(label)


SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _clipped(kiosk: Any) -> list[str]:
    """Visible labels whose text does not fit their box (cut or spilling out)."""
    from kivy.uix.label import Label

    bad = []
    for widget in kiosk.walk():
        if not isinstance(widget, Label) or not widget.text or widget.opacity == 0 or widget.width < 2:
            continue
        if (
            widget.shorten
            or widget.texture_size[1] > widget.height + 2
            or (widget.text_size[0] and widget.texture_size[0] > widget.width + 2)
        ):
            bad.append(widget.text)
    return bad


@pytest.mark.parametrize("contrast", [False, True])
def test_elder_mode_form_and_review_reflow_without_clipping(kiosk: Any, contrast: bool) -> None:
    app = kiosk.app
    mode = "high-contrast" if contrast else "large-text"
    app.high_contrast = contrast
    try:
        kiosk.tap_at(300, 300)
        if contrast:
            kiosk.screenshot(SHOTS / "a11y-high-contrast-home.png")
        app.large_text = True
        kiosk.frames(3)
        assert _clipped(kiosk) == []
        kiosk.screenshot(SHOTS / f"a11y-{'high-contrast-large-text' if contrast else 'large-text'}-home.png")
        app.large_text = not contrast
        kiosk.tap("户籍业务")
        kiosk.tap("表单测试业务")
        kiosk.tap(app.tr("consent.agree"))
        kiosk.tap("入学")
        kiosk.tap(app.tr("app.next"))
        kiosk.tap("2", exact=True)
        kiosk.tap(app.tr("app.next"))
        for key in "1380013":
            kiosk.tap(key, exact=True)
        kiosk.tap(app.tr("app.next"))  # too short: the error shows above the pad
        kiosk.frames(3)
        assert _clipped(kiosk) == []
        kiosk.screenshot(SHOTS / f"a11y-{mode}-form{'' if contrast else '-phone'}.png")
        for key in "8000":
            kiosk.tap(key, exact=True)
        kiosk.tap(app.tr("app.next"))
        kiosk.tap(app.tr("app.next"))  # the date as offered
        assert kiosk.screen == "review"
        kiosk.frames(3)
        assert _clipped(kiosk) == []
        kiosk.screenshot(SHOTS / f"a11y-{mode}-review.png")
    finally:
        app.large_text = app.high_contrast = False
        app.cancel()
