"""Request status look-up 办理进度查询 in the real app under Xvfb: from the home tile, by the typed
acceptance number (受理号), by the simulated camera holding up a receipt and by laying the ID card
on the simulated reader, against the local backend; unknown numbers, a mistyped check digit, a
foreign QR code, the backend down, the camera down; the session wiped at the end."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from contract.ids import acceptance_number, uuid7
from drivers.base import DeviceHealth, Health
from kiosk.steps.status_scan import receipt_frame

pytestmark = pytest.mark.ui


def _queue(kiosk: Any) -> Any:
    kiosk.wait_until(lambda: kiosk.app.runtime.queue is not None, timeout_s=30, what="the request queue")
    return kiosk.app.runtime.queue


UUID_RE = re.compile(r"[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}")
CARD_HOLDER = "99010119800315031X"  # the simulator's "resident" card (drivers/idcard/sim_cards.toml)


def _submitted(kiosk: Any, request_type: str = "system.test", payload: Any = None, test: bool = True) -> Any:
    """A request filed and acknowledged by the local backend (what a receipt would be for)."""
    queue = _queue(kiosk)
    submitted = queue.outbox.submit(request_type, 1, payload or {"fields": {"note": "status ui"}}, test=test)
    queue.worker.wake()
    kiosk.wait_until(
        lambda: (queue.outbox.record(submitted.request_id) or {}).get("status") == "acknowledged",
        timeout_s=20,
        what="delivery to the local backend",
    )
    return submitted


def _delivered_request(kiosk: Any) -> str:
    return str(_submitted(kiosk).request_id)


def _grouped(number: str) -> str:
    return f"{number[:4]} {number[4:8]} {number[8:]}"


@contextmanager
def _backend_store(kiosk: Any) -> Iterator[Any]:
    """The local backend's store, as the officers' side would change it."""
    from backend.store import open_store

    store = open_store(_queue(kiosk).local_backend.store_url)
    try:
        yield store
    finally:
        store.close()


def _open_lookup(kiosk: Any) -> Any:
    kiosk.wait_until(lambda: "camera" in kiosk.app.runtime.devices, timeout_s=30, what="the simulated camera")
    kiosk.tap_at(300, 300)
    assert kiosk.screen == "home"
    kiosk.tap("办理进度查询")
    assert kiosk.screen == "step"
    step = kiosk.app.screen("step").widget
    kiosk.wait_until(lambda: step.mode in ("scan", "type"), what="the look-up step")
    return step


def _type_number(kiosk: Any, step: Any, number: str) -> None:
    if step.mode == "scan":
        kiosk.tap("输入受理号")
    assert step.mode == "type"
    for key in number:
        kiosk.tap(key, exact=True)
    assert step.typed == _grouped(number)  # grouped in fours as it is typed
    kiosk.tap("下一步")


def _result(kiosk: Any, step: Any) -> str:
    try:
        kiosk.wait_until(lambda: step.mode == "result", timeout_s=20, what="the status")
    except AssertionError as exc:  # say where it stood
        scanner = step.scanner
        raise AssertionError(
            f"{exc}: screen {kiosk.screen}, mode {step.mode}, hint {step.hint!r}, scanner running "
            f"{bool(scanner and scanner.running)}, decode ms {scanner.decode_ms[-3:] if scanner else []}, "
            f"errors {kiosk.errors!r}"
        ) from exc
    return " ".join(kiosk.visible_texts())


def test_typed_number_shows_the_status_and_the_session_is_wiped_after(kiosk: Any, tmp_path: Any) -> None:
    submitted = _submitted(kiosk)
    step = _open_lookup(kiosk)
    assert step.mode == "scan" and step.camera_ok
    _type_number(kiosk, step, submitted.number)
    texts = _result(kiosk, step)
    assert "已受理，等待审核" in texts and "受理时间" in texts and "测试" not in texts
    assert "受理号" in texts and _grouped(submitted.number) in texts
    assert not UUID_RE.search(texts)  # the request id never reaches the screen
    kiosk.screenshot(tmp_path / "result.png")
    session = kiosk.app.session
    assert session.artifacts["status_lookup"] == {"via": "typed", "state": "received"}
    analytics = kiosk.app.runtime.analytics
    finished_before = analytics.snapshot().get(("request-status", "done", "finished"), 0)
    kiosk.tap("完成")
    assert kiosk.screen == "done"
    assert "感谢您的使用，请收好回执。" in kiosk.visible_texts()
    kiosk.clock.advance(kiosk.app.runtime.config.session.attract_return_s + 1)
    kiosk.wait_until(lambda: kiosk.screen == "attract", what="the return to the attract screen")
    assert session.wiped and session.artifacts == {} and kiosk.app.session is None
    assert kiosk.app.screen("step").widget is None
    assert analytics.snapshot().get(("request-status", "done", "finished"), 0) == finished_before + 1


def test_scanning_a_receipt_shows_the_officers_decision(kiosk: Any) -> None:
    request_id = _delivered_request(kiosk)
    with _backend_store(kiosk) as store:
        assert store.take("officer-ui") is not None  # the oldest received: ours is the newest, so
        while (store.status(request_id) or {}).get("status") == "received":  # take until ours
            store.take("officer-ui")
        assert store.finish(request_id, "rejected", "照片不符合要求 photo not accepted")
    step = _open_lookup(kiosk)
    kiosk.wait_until(lambda: step.texture is not None, timeout_s=10, what="the live preview")
    assert "请将回执上的二维码对准摄像头" in kiosk.visible_texts()
    kiosk.tap("演示：出示一张回执")  # the simulated camera holds up the newest request's receipt
    texts = _result(kiosk, step)
    assert "未通过" in texts and "照片不符合要求 photo not accepted" in texts
    assert kiosk.app.session.artifacts["status_lookup"]["via"] == "scan"
    assert not UUID_RE.search(texts)  # the QR held the id; the screen shows the 受理号 only
    assert step.scanner is None and not step._held_up  # scanning stopped, the receipt put down
    kiosk.app.lang = "en"
    assert "Not approved" in " ".join(kiosk.visible_texts())
    kiosk.tap("Check another")
    assert step.mode == "scan" and step.view is None
    assert "photo not accepted" not in " ".join(kiosk.visible_texts())


def test_a_receipt_shown_to_the_qr_scanner_is_looked_up_too(kiosk: Any) -> None:
    request_id = _delivered_request(kiosk)
    scanner = kiosk.app.runtime.devices["scanner"]
    step = _open_lookup(kiosk)
    kiosk.wait_until(lambda: step.scanner is not None, timeout_s=10, what="the scan")
    scanner.present("https://example.org/not-a-receipt")  # another code: a hint, the scan goes on
    kiosk.wait_until(
        lambda: kiosk.app.tr("status.scan.not_receipt") in kiosk.visible_texts(),
        timeout_s=10,
        what="the hint",
    )
    base = kiosk.app.runtime.config.kiosk.status_base_url
    scanner.present(base + request_id)  # the receipt's QR held to the scanner's window
    texts = _result(kiosk, step)
    assert kiosk.app.session.artifacts["status_lookup"]["via"] == "scan"
    assert not UUID_RE.search(texts)
    assert step.scanner is None  # the camera's scan stopped with the scanner's find


def test_foreign_qr_code_gets_a_hint_and_an_unknown_number_says_so(kiosk: Any) -> None:
    step = _open_lookup(kiosk)
    camera = kiosk.app.runtime.devices["camera"]
    try:
        camera.hold_up(receipt_frame("wxp://f2f0payment-order-123"))
        kiosk.wait_until(lambda: "不是本机回执" in step.hint, timeout_s=10, what="the not-a-receipt hint")
        assert step.mode == "scan"
        unknown = str(uuid7())
        camera.hold_up(receipt_frame(kiosk.app.runtime.config.kiosk.status_base_url + unknown))
        texts = _result(kiosk, step)
    finally:
        camera.hold_up(None)
    assert "未找到这个受理号" in texts and "请核对回执上的受理号" in texts


def test_an_unknown_number_says_so(kiosk: Any) -> None:
    step = _open_lookup(kiosk)
    _type_number(kiosk, step, acceptance_number(999, dt.date(2020, 1, 2), 1))
    assert "未找到这个受理号" in _result(kiosk, step)


def test_a_mistyped_number_is_caught_before_asking(kiosk: Any) -> None:
    submitted = _submitted(kiosk)
    step = _open_lookup(kiosk)
    kiosk.tap("输入受理号")
    assert {"A", "F"}.isdisjoint(kiosk.visible_texts())  # a 0-9 pad: no letters to press
    number = submitted.number
    swapped = next(i for i in range(11) if number[i] != number[i + 1])
    typo = number[:swapped] + number[swapped + 1] + number[swapped] + number[swapped + 2 :]
    for key in typo:
        kiosk.tap(key, exact=True)
    kiosk.tap("下一步")
    assert step.mode == "type" and "受理号有一位输错了" in " ".join(kiosk.visible_texts())
    assert "status_lookup" not in kiosk.app.session.artifacts  # nothing was asked of the backend
    kiosk.tap("删除")
    assert step.typed.endswith("_") and step.entry_problem == ""
    kiosk.tap("返回", exact=True)  # back inside the step: keypad -> camera
    assert step.mode == "scan"
    kiosk.tap("返回", exact=True)  # and from the start of the look-up, home
    assert kiosk.screen == "home" and kiosk.app.flow is None


def test_backend_down_shows_the_offline_message_then_retry_finds_it(kiosk: Any) -> None:
    import socket

    submitted = _submitted(kiosk)
    queue = _queue(kiosk)
    url = queue.url
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    step = _open_lookup(kiosk)
    try:
        queue.url = dead  # look-ups now go nowhere (delivery keeps its own connection)
        _type_number(kiosk, step, submitted.number)
        texts = _result(kiosk, step)
        assert "暂时无法查询" in texts and "稍后再试" in texts and "重试" in texts
    finally:
        queue.url = url
    kiosk.tap("重试")
    assert "已受理，等待审核" in _result(kiosk, step)


def test_laying_the_id_card_lists_the_holders_own_requests_masked(kiosk: Any, tmp_path: Any) -> None:
    applicant = {"id_number": CARD_HOLDER, "name": "张三丰", "identified_by": "card"}
    cert = {"applicant": applicant, "fields": {"purpose": "school", "copies": 1, "phone": "13800000000"}}
    mine = _submitted(kiosk, "household.household_certificate", cert, test=False)
    step = _open_lookup(kiosk)
    assert step.card_ok and "也可以将身份证放在读卡区" in " ".join(kiosk.visible_texts())
    simulator = kiosk.app.runtime.devices["card_reader"].simulator
    simulator.place("resident")
    try:
        texts = _result(kiosk, step)
    finally:
        simulator.remove()
    assert "您的申请" in texts and _grouped(mine.number) in texts and "户籍证明" in texts
    assert CARD_HOLDER not in texts and "张三丰" not in texts and "张**" not in texts  # nothing personal
    assert not UUID_RE.search(texts)
    artifacts = kiosk.app.session.artifacts["status_lookup"]
    assert artifacts == {"via": "card", "state": "holder_list"} and CARD_HOLDER not in repr(artifacts)
    kiosk.screenshot(tmp_path / "holder.png")
    kiosk.tap("查询其他申请")
    kiosk.wait_until(lambda: step.mode == "scan", what="back to the scanner")
    kiosk.tap("演示：放上身份证")  # the simulated reader: the demo lays the synthetic card
    try:
        assert _grouped(mine.number) in _result(kiosk, step)
    finally:
        simulator.remove()
    kiosk.tap("完成")


def test_camera_down_opens_on_the_keypad(kiosk: Any) -> None:
    runtime = kiosk.app.runtime
    runtime.failures["camera"] = DeviceHealth(Health.DOWN, "no_camera", "unplugged (test)")
    try:
        step = _open_lookup(kiosk)
        assert step.mode == "type" and not step.camera_ok
        assert "扫描回执二维码" not in kiosk.visible_texts()
    finally:
        del runtime.failures["camera"]
