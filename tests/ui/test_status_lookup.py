"""Request status look-up 办理进度查询 in the real app under Xvfb: from the home tile, by typed number
and by the simulated camera holding up a receipt, against the local backend; unknown numbers, a
foreign QR code, the backend down, the camera down; the session wiped at the end."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from contract.ids import uuid7
from drivers.base import DeviceHealth, Health
from kiosk.steps.status_scan import receipt_frame

pytestmark = pytest.mark.ui


def _queue(kiosk: Any) -> Any:
    kiosk.wait_until(lambda: kiosk.app.runtime.queue is not None, timeout_s=30, what="the request queue")
    return kiosk.app.runtime.queue


def _delivered_request(kiosk: Any) -> str:
    """A request filed and acknowledged by the local backend (what a receipt would be for)."""
    queue = _queue(kiosk)
    submitted = queue.outbox.submit("system.test", 1, {"fields": {"note": "status ui"}}, test=True)
    queue.worker.wake()
    kiosk.wait_until(
        lambda: (queue.outbox.record(submitted.request_id) or {}).get("status") == "acknowledged",
        timeout_s=20,
        what="delivery to the local backend",
    )
    return str(submitted.request_id)


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


def _type_number(kiosk: Any, step: Any, request_id: str, *, whole: bool = True) -> None:
    if step.mode == "scan":
        kiosk.tap("输入受理编号")
    assert step.mode == "type"
    if whole:
        kiosk.tap("输入完整编号")
    digits = request_id.replace("-", "").upper()
    for key in digits if whole else digits[-12:]:
        kiosk.tap(key, exact=True)
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
    request_id = _delivered_request(kiosk)
    step = _open_lookup(kiosk)
    assert step.mode == "scan" and step.camera_ok
    _type_number(kiosk, step, request_id)
    texts = _result(kiosk, step)
    assert "已受理，等待审核" in texts and "受理时间" in texts and "测试" not in texts
    digits = request_id.replace("-", "").upper()
    assert f"{digits[:8]}-…-{digits[-4:]}" in texts
    assert request_id not in texts and digits not in texts  # only the masked number stays on screen
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
    assert step.scanner is None and not step._held_up  # scanning stopped, the receipt put down
    kiosk.app.lang = "en"
    assert "Not approved" in " ".join(kiosk.visible_texts())
    kiosk.tap("Check another")
    assert step.mode == "scan" and step.view is None
    assert "photo not accepted" not in " ".join(kiosk.visible_texts())


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
    assert "未找到这个编号" in texts and "请核对回执上的编号" in texts


def test_last_group_of_the_number_is_enough(kiosk: Any) -> None:
    request_id = _delivered_request(kiosk)
    step = _open_lookup(kiosk)
    _type_number(kiosk, step, request_id, whole=False)
    texts = _result(kiosk, step)
    assert "已受理，等待审核" in texts
    digits = request_id.replace("-", "").upper()
    assert f"{digits[:8]}-…-{digits[-4:]}" in texts  # the backend said which request it is
    assert kiosk.app.session.artifacts["status_lookup"]["via"] == "typed_last_group"
    kiosk.tap("查询其他编号")
    _type_number(kiosk, step, str(uuid7()), whole=False)
    assert "未找到这个编号" in _result(kiosk, step)


def test_a_mistyped_number_is_caught_before_asking(kiosk: Any) -> None:
    step = _open_lookup(kiosk)
    kiosk.tap("输入受理编号")
    kiosk.tap("输入完整编号")
    for key in "0192F3A49B2C4D1E8F000A1B2C3D4E5F":  # version digit 4: not a receipt number
        kiosk.tap(key, exact=True)
    kiosk.tap("下一步")
    assert step.mode == "type" and "这不是一个有效的受理编号" in " ".join(kiosk.visible_texts())
    kiosk.tap("删除")
    assert step.typed.endswith("4E5_") and step.entry_problem == ""
    kiosk.tap("返回", exact=True)  # back inside the step: keypad -> camera
    assert step.mode == "scan"
    kiosk.tap("返回", exact=True)  # and from the start of the look-up, home
    assert kiosk.screen == "home" and kiosk.app.flow is None


def test_backend_down_shows_the_offline_message_then_retry_finds_it(kiosk: Any) -> None:
    import socket

    request_id = _delivered_request(kiosk)
    queue = _queue(kiosk)
    url = queue.url
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{probe.getsockname()[1]}"
    step = _open_lookup(kiosk)
    try:
        queue.url = dead  # look-ups now go nowhere (delivery keeps its own connection)
        _type_number(kiosk, step, request_id)
        texts = _result(kiosk, step)
        assert "暂时无法查询" in texts and "稍后再试" in texts and "重试" in texts
    finally:
        queue.url = url
    kiosk.tap("重试")
    assert "已受理，等待审核" in _result(kiosk, step)


def test_camera_down_opens_on_the_keypad(kiosk: Any) -> None:
    runtime = kiosk.app.runtime
    runtime.failures["camera"] = DeviceHealth(Health.DOWN, "no_camera", "unplugged (test)")
    try:
        step = _open_lookup(kiosk)
        assert step.mode == "type" and not step.camera_ok
        assert "扫描回执二维码" not in kiosk.visible_texts()
    finally:
        del runtime.failures["camera"]
