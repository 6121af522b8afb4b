"""Fault matrix, UI level: every device × every fault its simulator can inject, and every backend
fault on the wire × the steps that talk to the backend, each in the middle of a real session of a
real service in the real app (Xvfb).

Each cell asserts: the resident reads a calm Chinese message and has a way forward (retry, read
again, reprint, finish, back, cancel); no request is lost or duplicated (outbox and backend store
counts move by exactly the requests of the visit once the fault clears); the kiosk is back on the
attract screen at the end with the session wiped. The cells come from the tables below
(``len(MATRIX)`` is the matrix size). Delivery-level cells (TLS, lost answers, look-ups without a
window) are in tests/integration/test_fault_matrix_backend.py.
"""

from __future__ import annotations

from typing import Any

import pytest

from contract.ids import group_number
from tests.fault_proxy import FaultProxy
from tests.ui.faults import (
    assert_calm,
    assert_way_forward,
    backend_requests,
    outbox_total,
    proxy,  # noqa: F401 - fixture
    queue,
    reset_demo_fines,
    return_to_attract,
    type_keys,
    wait_delivered,
    wait_devices,
)

pytestmark = pytest.mark.ui

DEVICE_FAULTS: dict[str, tuple[str, ...]] = {
    "card_reader": ("corrupt", "noise", "silence", "truncate", "remove_mid_read", "status", "unplug"),
    "camera": ("gone", "black", "frozen"),
    "printer": ("paper_out", "cover_open", "offline", "disconnect", "silent"),
}
# backend faults the running kiosk can meet over its plain-HTTP loopback link (TLS is a
# delivery-level cell) × the steps where a resident waits on the backend
BACKEND_FAULTS = ("timeout", "http500", "http503", "http429", "reset", "wrong_key", "clock_skew")
BACKEND_STEPS = ("violations", "submit")
# the backend itself answers 401 to these (signature, stale timestamp): refused, not unreachable
REFUSED_BY_BACKEND = ("wrong_key", "clock_skew")
MATRIX = [(d, f) for d, faults in DEVICE_FAULTS.items() for f in faults] + [
    (f"backend@{s}", f) for s in BACKEND_STEPS for f in BACKEND_FAULTS
]


def test_matrix_size() -> None:
    devices = sum(len(f) for f in DEVICE_FAULTS.values())
    print(
        f"\nUI fault matrix: {devices} device cells + {len(BACKEND_FAULTS)}x{len(BACKEND_STEPS)} backend = {len(MATRIX)}"
    )
    assert len(MATRIX) == devices + len(BACKEND_FAULTS) * len(BACKEND_STEPS) == 29


# -- card reader ------------------------------------------------------------------------------------


def _to_card_step(kiosk: Any) -> Any:
    wait_devices(kiosk, "card_reader", "printer")
    simulator = kiosk.app.runtime.devices["card_reader"].simulator
    simulator.remove()
    simulator.clear_faults()
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("户籍证明", exact=True)
    kiosk.tap("我已阅读并同意")
    step = kiosk.app.screen("step").widget
    kiosk.wait_until(lambda: step.state == "waiting", timeout_s=10, what="the reader waiting for a card")
    return simulator, step


# What the resident meets when the fault hits every reply (more than the driver's retries), injected
# while the step waits for a card: the reader keeps polling (find card) meanwhile, so a fault on
# every reply fails the poll itself and the reader counts as down, whether or not the card is
# already there; noise before a reply the driver skips; only the read itself finds the card gone.
CARD_OUTCOME = {
    "corrupt": "no_reader",
    "noise": "read",
    "silence": "no_reader",
    "truncate": "no_reader",
    "remove_mid_read": "problem",  # "read again"; the card is gone, so the step then waits again
    "status": "no_reader",  # SW3 0x41 to the poll: the reader, not the card, is in trouble
    "unplug": "no_reader",
}


@pytest.mark.parametrize("fault", DEVICE_FAULTS["card_reader"])
def test_card_reader_fault(kiosk: Any, fault: str) -> None:
    expected = CARD_OUTCOME[fault]
    simulator, step = _to_card_step(kiosk)
    seen: list[tuple[str, str]] = []  # (state, message) as the step showed them, in order
    step.bind(message=lambda widget, message: seen.append((widget.state, message)))
    try:
        if fault == "unplug":
            simulator.unplug()
        else:
            simulator.inject(fault, count=50)  # more than the driver's retries: the resident sees it
            simulator.place("resident")
        # the first outcome the step shows, recorded as it happens (a state may pass quickly)
        kiosk.wait_until(
            lambda: any(state in ("problem", "no_reader", "read") for state, _ in seen),
            timeout_s=20,
            what=f"the {fault} fault",
        )
        state, message = next((s, m) for s, m in seen if s in ("problem", "no_reader", "read"))
        assert state == expected, f"{fault}: the step showed {state!r} ({message!r}), expected {expected!r}"
        if expected == "read":  # absorbed by the driver: the visit goes straight on
            simulator.clear_faults()
        else:
            assert_calm(kiosk, message)
            assert_way_forward(kiosk, "app.back", "app.cancel", "app.home")
            if fault == "unplug":
                simulator.replug()
            simulator.remove()
            simulator.clear_faults()
            kiosk.wait_until(lambda: step.state == "waiting", timeout_s=20, what="ready for the card again")
            simulator.place("resident")  # the resident tries again: the read succeeds
        kiosk.wait_until(
            lambda: kiosk.app.flow is not None and kiosk.app.flow.step.id == "for_whom",
            timeout_s=45,  # after the face check, which passes by itself in simulation
            what="the form after reading the card",
        )
        assert kiosk.app.session.identity is not None
    finally:
        simulator.clear_faults()
        simulator.remove()
    return_to_attract(kiosk)


# -- camera -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fault", DEVICE_FAULTS["camera"])
def test_camera_fault(kiosk: Any, fault: str) -> None:
    from drivers.camera.simulator import Fault

    wait_devices(kiosk, "camera", "printer")
    camera = kiosk.app.runtime.devices["camera"]
    before_outbox, before_backend = outbox_total(kiosk), backend_requests(kiosk)
    kiosk.tap_at(300, 300)
    kiosk.tap("证件照", exact=True)
    kiosk.tap("证件照", exact=True)
    kiosk.tap(kiosk.app.tr("consent.agree"))  # the photo is personal data: consent first
    kiosk.tap("居民身份证", exact=True)
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    step = kiosk.app.screen("step").widget
    kiosk.wait_until(lambda: step.texture is not None, timeout_s=10, what="the live preview")
    camera.inject(Fault(fault))  # mid-session: the resident is in front of the camera
    try:
        # a streaming camera that vanishes is being reconnected (drivers/camera/threaded.py)
        wanted = {
            "gone": "photo.camera.reconnecting",
            "black": "photo.camera.black",
            "frozen": "photo.camera.frozen",
        }
        text = kiosk.app.tr(wanted[fault])
        kiosk.wait_until(lambda: step.hint == text, timeout_s=20, what=f"the {fault} camera message")
        assert_calm(kiosk, step.hint)
        assert not step.can_accept and step.shots == 0  # nothing captured from a broken picture
        assert_way_forward(kiosk, "app.back", "app.cancel", "app.home")
    finally:
        camera.inject(None)
    kiosk.wait_until(lambda: step.can_accept, timeout_s=40, what="a capture once the camera recovered")
    kiosk.tap(kiosk.app.tr("photo.accept"), exact=True)
    kiosk.wait_until(lambda: kiosk.screen == "done", timeout_s=30, what="submit, print and done")
    request_id = kiosk.app.session.artifacts["submitted"].request_id
    return_to_attract(kiosk)
    wait_delivered(kiosk, request_id)
    assert outbox_total(kiosk) == before_outbox + 1
    assert backend_requests(kiosk) == before_backend + 1


# -- receipt printer ----------------------------------------------------------------------------------


def _household_to_print(kiosk: Any, printer: Any, fault: str) -> None:
    simulator = kiosk.app.runtime.devices["card_reader"].simulator
    simulator.remove()
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("户籍证明", exact=True)
    kiosk.tap("我已阅读并同意")
    kiosk.tap(kiosk.app.tr("readcard.demo_card"))
    kiosk.wait_until(
        lambda: kiosk.app.flow.step.id == "for_whom",
        timeout_s=45,
        what="the form after the card and face check",
    )
    simulator.remove()
    kiosk.tap("本人", exact=True)
    kiosk.tap(kiosk.app.tr("app.next"))  # for oneself
    kiosk.tap("亲属关系证明")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    type_keys(kiosk, "1")
    kiosk.tap(kiosk.app.tr("app.next"))
    type_keys(kiosk, "13800138000")
    kiosk.tap(kiosk.app.tr("app.next"))
    assert kiosk.screen == "review"
    printer.inject(fault)
    kiosk.tap("确认无误，提交")


@pytest.mark.parametrize("fault", DEVICE_FAULTS["printer"])
def test_printer_fault(kiosk: Any, fault: str) -> None:
    wait_devices(kiosk, "card_reader", "printer")
    printer = kiosk.app.runtime.devices["printer"]
    before_outbox, before_backend, jobs = outbox_total(kiosk), backend_requests(kiosk), printer.printed
    try:
        _household_to_print(kiosk, printer, fault)
        kiosk.wait_until(lambda: kiosk.app.flow.step.kind == "print", timeout_s=15, what="the print step")
        step = kiosk.app.screen("step").widget
        kiosk.wait_until(lambda: step.phase == "failed", timeout_s=20, what=f"the {fault} message")
        assert_calm(kiosk, step.message)
        submitted = kiosk.app.session.artifacts["submitted"]
        request_id = submitted.request_id
        assert any(
            group_number(submitted.number) in t for t in kiosk.visible_texts()
        )  # the 受理号 to note down
        assert step.qr_texture is not None
        assert_way_forward(kiosk, "printing.reprint")
        assert_way_forward(kiosk, "app.finish")
        assert outbox_total(kiosk) == before_outbox + 1  # already safe before the paper
        printer.clear()
        kiosk.tap(kiosk.app.tr("printing.reprint"), exact=True)
        kiosk.wait_until(lambda: kiosk.screen == "done", timeout_s=20, what="done after reprinting")
        assert printer.printed == jobs + 1  # one receipt came out, once
    finally:
        printer.clear()
    return_to_attract(kiosk)
    wait_delivered(kiosk, request_id)
    assert outbox_total(kiosk) == before_outbox + 1  # reprinting did not submit again
    assert backend_requests(kiosk) == before_backend + 1


# -- backend ----------------------------------------------------------------------------------------


def _traffic_fine_to_violations(kiosk: Any) -> Any:
    wait_devices(kiosk, "printer")
    reset_demo_fines(kiosk)
    kiosk.tap_at(300, 300)
    kiosk.tap("车驾管业务")
    kiosk.tap("交通违法处理缴款", exact=True)
    kiosk.tap("只查车牌号", exact=True)
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    type_keys(kiosk, "京A12345")  # the demo register's car with four records (backend/fines.py)
    kiosk.tap(kiosk.app.tr("app.next"))
    return kiosk.app.screen("step").widget


@pytest.mark.parametrize("fault", BACKEND_FAULTS)
def test_backend_fault_at_violations(kiosk: Any, proxy: FaultProxy, fault: str) -> None:  # noqa: F811
    proxy.set(fault)
    step = _traffic_fine_to_violations(kiosk)
    kiosk.wait_until(lambda: step.offline or step.refused, timeout_s=30, what=f"the {fault} message")
    assert proxy.hits[fault] >= 1 and not step.items
    assert_calm(kiosk, step.message)
    proxy.set("pass")
    if fault in REFUSED_BY_BACKEND:  # refused (the kiosk's key or clock): asking again cannot mend it
        assert step.refused and not step.offline
        assert kiosk.app.screen("step").result is not None  # the result template, not a dead end
        assert_way_forward(kiosk, "assist.help")
        assert_way_forward(kiosk, "app.home")
        kiosk.tap(kiosk.app.tr("app.home"), exact=True)
        assert kiosk.screen == "attract" and kiosk.app.session is None
        return
    else:  # the backend could not be reached: try again later, the retry button
        assert step.offline and not step.refused
        assert_way_forward(kiosk, "lookup.retry")
        kiosk.tap(kiosk.app.tr("lookup.retry"), exact=True)
    kiosk.wait_until(lambda: len(step.items) == 4, timeout_s=20, what="the car's records after the fault")
    return_to_attract(kiosk)


@pytest.mark.parametrize("fault", BACKEND_FAULTS)
def test_backend_fault_at_submit(kiosk: Any, proxy: FaultProxy, fault: str) -> None:  # noqa: F811
    from types import SimpleNamespace

    before_outbox, before_backend = outbox_total(kiosk), backend_requests(kiosk)
    proxy.set(fault)
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("提交测试业务")
    kiosk.tap("入学")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    type_keys(kiosk, "1")
    kiosk.tap(kiosk.app.tr("app.next"))
    type_keys(kiosk, "13800138000")
    kiosk.tap(kiosk.app.tr("app.next"))
    kiosk.app.session.identity = SimpleNamespace(
        name="张三丰", id_number="990000199001010017", sex="男", nation="汉",
        birth_date="1990-03-07", address="北京市东城区示例路1号", card_type="resident",
    )  # fmt: skip
    kiosk.tap("确认无误，提交")
    kiosk.wait_until(lambda: kiosk.screen == "done", timeout_s=10, what="the done screen")
    submitted = kiosk.app.session.artifacts["submitted"]
    request_id = submitted.request_id
    assert any(
        group_number(submitted.number) in t for t in kiosk.visible_texts()
    )  # submitted = in the outbox
    kiosk.wait_until(lambda: proxy.hits[fault] >= 1, timeout_s=20, what=f"delivery meeting {fault}")
    record = queue(kiosk).outbox.record(request_id)
    assert record is not None and record["status"] == "pending"  # kept, neither lost nor dead
    return_to_attract(kiosk)
    proxy.set("pass")
    queue(kiosk).worker.wake()
    wait_delivered(kiosk, request_id, timeout_s=60)
    assert outbox_total(kiosk) == before_outbox + 1
    assert backend_requests(kiosk) == before_backend + 1
