"""The real kiosk app under Xvfb, driven by touches through the window."""

from __future__ import annotations

import re
from typing import Any

import pytest

from kiosk.visit.privacy import mask_id_number, mask_name
from tests.ui.faults import reset_demo_fines

pytestmark = pytest.mark.ui


def start_form_service(kiosk: Any) -> None:
    kiosk.tap_at(300, 300)  # anywhere on the attract screen
    assert kiosk.screen == "home"
    kiosk.tap("户籍业务")
    assert kiosk.screen == "services"
    kiosk.tap("表单测试业务")
    assert kiosk.screen == "step"
    kiosk.tap("我已阅读并同意")


def type_digits(kiosk: Any, digits: str) -> None:
    for digit in digits:
        kiosk.tap(digit, exact=True)


def test_form_only_path_from_attract_to_done_and_back(kiosk: Any) -> None:
    start_form_service(kiosk)
    assert "用途" in kiosk.visible_texts()
    kiosk.tap("入学")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    assert "份数" in kiosk.visible_texts()
    type_digits(kiosk, "7")
    kiosk.tap("下一步")
    assert "数值超出范围" in kiosk.visible_texts()  # 7 copies is more than 5
    kiosk.tap("删除")
    type_digits(kiosk, "2")
    kiosk.tap("下一步")
    type_digits(kiosk, "13800138000")
    assert "138 0013 8000" in kiosk.visible_texts()
    kiosk.tap("下一步")
    assert "迁入日期" in kiosk.visible_texts()
    kiosk.tap("+")  # year 1990 -> 1991
    kiosk.tap("下一步")
    assert kiosk.screen == "review"
    texts = kiosk.visible_texts()
    assert "138****8000" in texts and "13800138000" not in " ".join(texts)  # masked on review
    assert "入学" in texts and "2" in texts and "1991-01-01" in texts and "￥5.00" in texts
    session = kiosk.app.session
    assert session.values == {
        "purpose": "school",
        "copies": 2,
        "phone": "13800138000",
        "moved_in": "1991-01-01",
    }
    kiosk.tap("确认无误，提交")
    assert kiosk.screen == "done"
    kiosk.clock.advance(kiosk.app.runtime.config.session.attract_return_s + 1)
    kiosk.wait_until(lambda: kiosk.screen == "attract", what="return to the attract screen")
    assert kiosk.app.session is None and session.values == {} and session.wiped
    counts = kiosk.app.runtime.analytics.snapshot()
    assert counts[("test-form-only", "done", "finished")] >= 1
    assert counts[("test-form-only", "-", "started")] >= 1


def test_back_goes_to_the_previous_question_then_the_previous_step(kiosk: Any) -> None:
    start_form_service(kiosk)
    kiosk.tap("其他")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    assert "份数" in kiosk.visible_texts()
    kiosk.tap("返回", exact=True)
    assert "用途" in kiosk.visible_texts()
    kiosk.tap("返回", exact=True)
    assert "个人信息使用告知" in kiosk.visible_texts()


def test_idle_timeout_warns_then_wipes_the_session(kiosk: Any) -> None:
    start_form_service(kiosk)
    kiosk.tap("入学")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    type_digits(kiosk, "3")
    session = kiosk.app.session
    cfg = kiosk.app.runtime.config.session
    kiosk.clock.advance(cfg.idle_timeout_s - cfg.idle_warning_s + 1)
    kiosk.wait_until(lambda: kiosk.app._idle_view is not None, what="the idle warning")
    assert any("秒后将结束办理" in t for t in kiosk.visible_texts())
    kiosk.clock.advance(cfg.idle_warning_s)
    kiosk.wait_until(lambda: kiosk.screen == "attract", what="the attract screen after timeout")
    assert kiosk.app.session is None and kiosk.app._idle_view is None
    assert session.wiped and session.values == {}
    assert kiosk.app.manager.get_screen("step").widget is None  # nothing of the form is left
    assert kiosk.app.runtime.analytics.snapshot()[("test-form-only", "details", "timed_out")] >= 1


def test_idle_warning_continue_keeps_the_session(kiosk: Any) -> None:
    start_form_service(kiosk)
    kiosk.tap("入学")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    cfg = kiosk.app.runtime.config.session
    kiosk.clock.advance(cfg.idle_timeout_s - cfg.idle_warning_s + 1)
    kiosk.wait_until(lambda: kiosk.app._idle_view is not None, what="the idle warning")
    kiosk.tap("继续办理")
    assert kiosk.app._idle_view is None and kiosk.screen == "step"
    assert kiosk.app.session.values == {}  # answers are stored when the step completes
    assert "份数" in kiosk.visible_texts()


def test_cancel_anywhere_ends_the_visit(kiosk: Any) -> None:
    start_form_service(kiosk)
    session = kiosk.app.session
    kiosk.tap("退出", exact=True)
    assert kiosk.screen == "attract" and session.wiped


def test_language_switch_on_every_screen(kiosk: Any) -> None:
    kiosk.tap("English")
    assert "Place your ID card on the reader" in kiosk.visible_texts()
    kiosk.tap_at(300, 300)
    assert "Choose a service area" in kiosk.visible_texts()
    kiosk.tap("Household registration")
    assert "Form test service" in kiosk.visible_texts()
    kiosk.tap("中文")
    assert "表单测试业务" in kiosk.visible_texts() and "请选择业务类别" not in kiosk.visible_texts()


def test_large_text_scales_the_whole_theme(kiosk: Any) -> None:
    kiosk.tap_at(300, 300)
    title = kiosk.find("请选择业务类别")
    normal = title.font_size
    kiosk.tap("长辈模式")
    assert title.font_size == pytest.approx(normal * 1.5)
    assert "标准模式" in kiosk.visible_texts()
    kiosk.tap("标准模式")
    assert title.font_size == pytest.approx(normal)


def test_the_services_list_opens_at_its_first_service_for_every_visit(kiosk: Any) -> None:
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    scroll = kiosk.app.screen("services").ids.scroll
    scroll.scroll_y = 0  # the last resident scrolled to the bottom of the list
    kiosk.frames(2)
    assert not any(t == "户籍证明" for t in kiosk.visible_texts())
    kiosk.app.cancel()
    kiosk.frames(2)
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.frames(2)
    assert scroll.scroll_y == 1 and "户籍证明" in kiosk.visible_texts()


def test_unavailable_service_shows_its_reason_and_does_not_start(kiosk: Any) -> None:
    from drivers.base import DeviceHealth, Health

    failures = kiosk.app.runtime.failures
    failures["printer"] = DeviceHealth(Health.DOWN, "paper_out", "test: no paper")
    try:
        kiosk.tap_at(300, 300)
        kiosk.tap("户籍业务")
        tile = kiosk.find("户籍证明", exact=True)
        assert not tile.available and "打印机维护中" in tile.note
        kiosk.tap(tile)
        assert kiosk.screen == "services" and kiosk.app.flow is None
        assert kiosk.find("表单测试业务").available  # the rest of the kiosk keeps working
    finally:
        del failures["printer"]


def test_unexpected_error_in_a_step_shows_the_calm_error_screen(
    kiosk: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    start_form_service(kiosk)
    session = kiosk.app.session

    def broken(*_args: Any, **_kwargs: Any) -> None:
        error = RuntimeError("simulated bug in a step")
        error.expected_by_test = True  # type: ignore[attr-defined]
        raise error

    monkeypatch.setattr(kiosk.app.flow, "complete", broken)
    kiosk.tap("入学")  # the last field? no: the form moves on; complete() is only called at the end
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    type_digits(kiosk, "1")
    kiosk.tap("下一步")
    type_digits(kiosk, "13800138000")
    kiosk.tap("下一步")
    kiosk.tap("下一步")  # date
    assert kiosk.screen == "error"
    assert "抱歉，出了点问题" in kiosk.visible_texts()
    assert session.wiped and kiosk.app.session is None


def test_plate_step_offers_provinces_then_checks_the_format(kiosk: Any) -> None:
    kiosk.tap_at(300, 300)
    kiosk.tap("车驾管业务")
    kiosk.tap("车牌测试业务")
    assert "请先选择省份简称" in kiosk.visible_texts()
    assert "A" not in kiosk.visible_texts()  # letters only after the province
    kiosk.tap("粤", exact=True)
    assert "A" in kiosk.visible_texts() and "京" not in kiosk.visible_texts()
    for key in "B1234":
        kiosk.tap(key, exact=True)
    kiosk.tap("下一步")
    assert "车牌号码位数不足" in kiosk.visible_texts() and kiosk.screen == "step"
    kiosk.tap("5", exact=True)
    kiosk.tap("下一步")
    assert kiosk.screen == "review"
    assert kiosk.app.session.values["plate"] == "粤B12345"


def test_maintenance_gesture_pin_lockout_and_dashboard(kiosk: Any) -> None:
    from kiosk.maintenance.gate import hash_pin

    gate = kiosk.app.runtime.gate
    gate.pin_hash = hash_pin("135790")
    gate.lockout_after = 2
    try:
        from kivy.core.window import Window

        for _ in range(5):
            kiosk.tap_at(20, Window.height - 20)  # top-left corner
        assert kiosk.screen == "maintenance_pin" and kiosk.app.session is None
        for attempt in ("111111", "222222"):
            for digit in attempt:
                kiosk.tap(digit, exact=True)
            kiosk.tap("确定")
            kiosk.wait_until(lambda: not kiosk.app.screen("maintenance_pin").busy, what="the PIN check")
        assert any("错误次数过多" in t for t in kiosk.visible_texts())
        gate.unlock(by="tech-test")  # `kiosk-tech maintenance unlock` (the state is re-read from disk)
        for digit in "135790":
            kiosk.tap(digit, exact=True)
        kiosk.tap("确定")
        kiosk.wait_until(lambda: kiosk.screen == "maintenance", what="the maintenance screen")
        assert any("card_reader" in t and "simulated" in t for t in kiosk.visible_texts())
        kiosk.tap("维护记录")
        assert any("maintenance.enter" in t and "granted" in t for t in kiosk.visible_texts())
        kiosk.tap("退出维护")
        assert kiosk.screen == "attract"
    finally:
        gate.pin_hash = ""
        gate.unlock(by="tech-test")


def test_high_contrast_theme_repaints_every_screen(kiosk: Any) -> None:
    from screens.theme import HIGH_CONTRAST, STANDARD

    kiosk.tap("高对比")  # on the attract screen (the header keeps three controls)
    try:
        assert list(kiosk.app.c_bg) == HIGH_CONTRAST["c_bg"] and "标准色" in kiosk.visible_texts()
        kiosk.tap_at(300, 300)
        assert kiosk.screen == "home" and list(kiosk.app.c_text) == HIGH_CONTRAST["c_text"]
    finally:
        kiosk.app.high_contrast = False
    assert list(kiosk.app.c_bg) == STANDARD["c_bg"]


def test_submit_commits_to_the_outbox_before_done_and_delivery_follows(kiosk: Any) -> None:
    from types import SimpleNamespace

    kiosk.wait_until(lambda: kiosk.app.runtime.queue is not None, timeout_s=30, what="the request queue")
    queue = kiosk.app.runtime.queue
    before = queue.status().acknowledged
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("提交测试业务")
    kiosk.tap("入学")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    type_digits(kiosk, "1")
    kiosk.tap("下一步")
    type_digits(kiosk, "13800138000")
    kiosk.tap("下一步")
    # what the card step would have put there (synthetic identity)
    kiosk.app.session.identity = SimpleNamespace(
        name="张三丰", id_number="990000199001010017", sex="男", nation="汉",
        birth_date="1990-03-07", address="北京市东城区示例路1号", card_type="resident",
    )  # fmt: skip
    kiosk.tap("确认无误，提交")
    kiosk.wait_until(lambda: kiosk.screen == "done", timeout_s=10, what="the done screen")
    submitted = kiosk.app.session.artifacts["submitted"]
    assert any(_grouped(submitted.number) in t for t in kiosk.visible_texts())
    record = queue.outbox.record(submitted.request_id)
    assert record is not None and record["request_type"] == "household.household_certificate"
    kiosk.wait_until(
        lambda: queue.status().acknowledged > before, timeout_s=20, what="delivery to the local backend"
    )


def test_photo_step_guides_captures_and_accepts_a_compliant_photo(kiosk: Any) -> None:
    kiosk.wait_until(lambda: "camera" in kiosk.app.runtime.devices, timeout_s=30, what="the simulated camera")
    kiosk.tap_at(300, 300)
    kiosk.tap("证件照")
    kiosk.tap("拍照测试业务")
    step = kiosk.app.screen("step").widget
    kiosk.wait_until(lambda: step.texture is not None, timeout_s=10, what="the live preview")
    kiosk.wait_until(lambda: step.can_accept, timeout_s=30, what="an automatic capture")
    assert step.phase == "review"
    kiosk.tap("使用这张照片")
    assert kiosk.screen == "review"
    session = kiosk.app.session
    jpeg = session.photo_jpeg
    assert jpeg[:2] == b"\xff\xd8" and 14_000 <= len(jpeg) <= 20_000 * 1.5
    assert len(session.artifacts["photo"]["photo_code"]) == 19


def test_fines_by_plate_alone_show_no_movements_and_are_paid_only_after_identifying(kiosk: Any) -> None:
    plate = "京A12345"  # the demo register's car with four unpaid records (backend/fines.py)
    kiosk.wait_until(lambda: kiosk.app.runtime.queue is not None, timeout_s=30, what="the request queue")
    reset_demo_fines(kiosk)
    kiosk.tap_at(300, 300)
    kiosk.tap("车驾管业务")
    kiosk.tap("缴款测试业务")
    for key in plate:
        kiosk.tap(key, exact=True)
    kiosk.tap("下一步")
    kiosk.wait_until(lambda: "是这辆车" in kiosk.visible_texts(), timeout_s=10, what="the vehicle record")
    kiosk.tap("是这辆车")
    step = kiosk.app.screen("step").widget
    kiosk.wait_until(lambda: len(step.items) == 4, timeout_s=10, what="the car's four records")
    assert {v["why_not"] for v in step.items} == {"needs_card"} and step.chosen == []
    kiosk.tap(step.ids.rows.children[-1])  # a stranger's plate: nothing can be chosen
    assert step.chosen == []
    joined = " ".join(kiosk.visible_texts())
    assert "2026-10-12" not in joined and "08:41" not in joined  # no times of a car's movements
    assert kiosk.app.session.artifacts.get("submitted") is None


def test_read_card_step_refuses_an_expired_card_then_reads_a_valid_one(kiosk: Any) -> None:
    kiosk.wait_until(
        lambda: "card_reader" in kiosk.app.runtime.devices, timeout_s=30, what="the simulated reader"
    )
    simulator = kiosk.app.runtime.devices["card_reader"].simulator
    simulator.remove()
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("读卡测试业务")
    step = kiosk.app.screen("step").widget
    assert step.state == "waiting" and "模拟放置身份证（演示）" in kiosk.visible_texts()
    simulator.place("resident_expired")
    kiosk.wait_until(lambda: step.state == "problem", timeout_s=10, what="the refusal of an expired card")
    assert kiosk.app.session.identity is None
    simulator.remove()
    kiosk.wait_until(lambda: step.state == "waiting", timeout_s=10, what="ready for another card")
    kiosk.tap("模拟放置身份证（演示）")
    kiosk.wait_until(lambda: step.state == "read", timeout_s=10, what="the card to be read")
    card = kiosk.app.session.identity
    assert card.name and card.id_number
    shown = " ".join(kiosk.visible_texts())
    assert card.id_number not in shown and card.id_number[-4:] in shown  # masked on screen
    kiosk.wait_until(lambda: kiosk.screen == "review", timeout_s=10, what="the review screen")
    simulator.remove()


def test_laying_a_card_on_the_attract_screen_begins_a_visit(kiosk: Any) -> None:
    kiosk.wait_until(
        lambda: "card_reader" in kiosk.app.runtime.devices, timeout_s=30, what="the simulated reader"
    )
    simulator = kiosk.app.runtime.devices["card_reader"].simulator
    simulator.remove()
    kiosk.frames(30)
    assert kiosk.screen == "attract"
    simulator.place("resident")
    try:
        kiosk.wait_until(lambda: kiosk.screen == "home", timeout_s=10, what="the home screen")
        assert kiosk.app.session is not None
    finally:
        simulator.remove()


def _household_certificate_to_print(kiosk: Any, before_submit: Any = None) -> Any:
    """Walk the real household-certificate service up to its print step, as a resident would."""
    for role in ("card_reader", "printer"):
        kiosk.wait_until(lambda r=role: r in kiosk.app.runtime.devices, timeout_s=30, what=role)
    kiosk.wait_until(lambda: kiosk.app.runtime.queue is not None, timeout_s=30, what="the request queue")
    kiosk.app.runtime.devices["card_reader"].simulator.remove()
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("户籍证明", exact=True)
    notice = " ".join(kiosk.visible_texts())  # what this service takes, the face first
    assert notice.index("现场人脸图像") < notice.index("身份证信息") and "敏感个人信息" in notice
    kiosk.tap("我已阅读并同意")
    kiosk.tap("模拟放置身份证（演示）")
    kiosk.wait_until(
        lambda: kiosk.screen == "step" and kiosk.app.flow.step.id == "for_whom", timeout_s=45, what="the form"
    )
    kiosk.tap("本人", exact=True)
    kiosk.tap(kiosk.app.tr("app.next"))  # for oneself: no member's number, no household check
    kiosk.tap("亲属关系证明")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    type_digits(kiosk, "2")
    kiosk.tap("下一步")
    type_digits(kiosk, "13800138000")
    kiosk.tap("下一步")
    assert kiosk.screen == "review"
    identity, texts = kiosk.app.session.identity, kiosk.visible_texts()
    assert mask_name(identity.name) in texts and mask_id_number(identity.id_number) in texts  # masked
    assert not any(identity.id_number in t or identity.name in t for t in texts)
    if before_submit is not None:
        before_submit()
    kiosk.tap("确认无误，提交")
    kiosk.wait_until(lambda: kiosk.app.flow.step.kind == "print", timeout_s=15, what="the print step")
    return kiosk.app.runtime.devices["printer"]


def test_household_certificate_end_to_end_prints_a_receipt(kiosk: Any) -> None:
    kiosk.wait_until(lambda: "printer" in kiosk.app.runtime.devices, timeout_s=30, what="the printer")
    jobs_before = kiosk.app.runtime.devices["printer"].printed  # every job (the list keeps the last ones)
    printer = _household_certificate_to_print(kiosk)
    kiosk.wait_until(lambda: kiosk.screen == "done", timeout_s=20, what="the done screen")
    assert printer.printed == jobs_before + 1
    submitted = kiosk.app.session.artifacts["submitted"]
    grouped = _grouped(submitted.number)
    assert grouped.encode() in printer.jobs[-1]  # the receipt carries the 受理号, grouped in fours
    assert printer.jobs[-1].count(submitted.request_id.encode()) == 1  # the UUID only in the QR link
    assert (printer.folder / f"job-{printer.printed:04d}.png").exists()  # a preview people can see
    texts = " ".join(kiosk.visible_texts())
    assert f"受理号：{grouped}" in texts
    _assert_no_uuid(kiosk)
    kiosk.app.runtime.devices["card_reader"].simulator.remove()


UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")


def _grouped(number: str) -> str:
    assert len(number) == 12 and number.isdigit()
    return f"{number[:4]} {number[4:8]} {number[8:]}"


def _assert_no_uuid(kiosk: Any) -> None:
    """No widget on the window holds a UUID in its text, shown or hidden."""
    texts = [str(getattr(w, "text", "")) for w in kiosk.walk()]
    leaks = [t for t in texts if UUID_RE.search(t)]
    assert not leaks, leaks


def test_a_failure_after_submitting_shows_the_number_on_the_error_screen(kiosk: Any) -> None:
    kiosk.wait_until(lambda: "printer" in kiosk.app.runtime.devices, timeout_s=30, what="the printer")
    printer = kiosk.app.runtime.devices["printer"]
    try:
        _household_certificate_to_print(kiosk, before_submit=lambda: printer.inject("paper_out"))
        step = kiosk.app.screen("step").widget
        kiosk.wait_until(lambda: step.phase == "failed", timeout_s=20, what="the paper-out message")
        number = kiosk.app.session.artifacts["submitted"].number
        kiosk.app.fail(RuntimeError("test: something broke after the submission"))
        assert kiosk.screen == "error" and kiosk.app.session is None  # the visit was wiped
        texts = " ".join(kiosk.visible_texts())
        assert f"您的业务已提交，受理号：{_grouped(number)}" in texts
        _assert_no_uuid(kiosk)
        kiosk.clock.advance(kiosk.app.runtime.config.session.attract_return_s + 1)
        kiosk.wait_until(lambda: kiosk.screen == "attract", what="the return to the attract screen")
        assert kiosk.app.screen("error").number == ""
    finally:
        printer.clear()
        kiosk.app.runtime.devices["card_reader"].simulator.remove()


def test_paper_out_shows_the_number_and_a_qr_then_reprints(kiosk: Any) -> None:
    kiosk.wait_until(lambda: "printer" in kiosk.app.runtime.devices, timeout_s=30, what="the printer")
    printer = kiosk.app.runtime.devices["printer"]
    try:
        _household_certificate_to_print(kiosk, before_submit=lambda: printer.inject("paper_out"))
        step = kiosk.app.screen("step").widget
        kiosk.wait_until(lambda: step.phase == "failed", timeout_s=20, what="the paper-out message")
        submitted = kiosk.app.session.artifacts["submitted"]
        request_id = submitted.request_id
        texts = " ".join(kiosk.visible_texts())
        assert f"受理号：{_grouped(submitted.number)}" in texts and step.qr_texture is not None
        assert "请记下受理号" in texts and "已提交" in texts  # one name for the number; the good news first
        _assert_no_uuid(kiosk)
        assert kiosk.app.runtime.queue.outbox.record(request_id) is not None  # nothing lost
        printer.clear("paper_out")
        kiosk.tap(kiosk.app.tr("printing.reprint"))
        kiosk.wait_until(
            lambda: kiosk.screen == "done", timeout_s=20, what="the done screen after reprinting"
        )
    finally:
        printer.clear()
        kiosk.app.runtime.devices["card_reader"].simulator.remove()
