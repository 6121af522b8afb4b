"""Shared helpers of the UI fault matrix and the service failure tests: what a calm message is, the
fault proxy in front of the running kiosk's backend, outbox and backend counts, the end of a visit.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from backend.store import open_store
from tests.fault_proxy import FaultProxy

CJK = re.compile(r"[\u4e00-\u9fff]")
# what a resident must never read: exception names, protocol words, English error text
TECHNICAL = re.compile(
    r"Traceback|Exception|Error\b|error:|HTTP|errno|timed out|SSL|TLS|socket|None\b|\bnull\b|refused", re.I
)


def assert_calm(kiosk: Any, message: str) -> None:
    """``message`` is Chinese, non-technical; nothing technical is on screen either."""
    assert message and CJK.search(message), f"not a Chinese message: {message!r}"
    assert not TECHNICAL.search(message), f"technical words shown to the resident: {message!r}"
    shown = [t for t in kiosk.visible_texts() if TECHNICAL.search(t)]
    assert shown == [], f"technical text on screen: {shown!r}"


def assert_way_forward(kiosk: Any, *keys: str) -> None:
    """At least one of the buttons ``keys`` (message keys) can be tapped now."""
    for key in keys:
        try:
            widget = kiosk.find(kiosk.app.tr(key), exact=True)
        except AssertionError:
            continue
        if not widget.disabled and widget.opacity > 0:
            return
    raise AssertionError(f"no way forward on screen {kiosk.screen!r}: none of {keys} can be tapped")


def wait_devices(kiosk: Any, *roles: str) -> None:
    for role in roles:
        kiosk.wait_until(lambda r=role: r in kiosk.app.runtime.devices, timeout_s=30, what=f"the {role}")
    kiosk.wait_until(lambda: kiosk.app.runtime.queue is not None, timeout_s=30, what="the request queue")


def type_keys(kiosk: Any, keys: str) -> None:
    for key in keys:
        kiosk.tap(key, exact=True)


def queue(kiosk: Any) -> Any:
    return kiosk.app.runtime.queue


def outbox_total(kiosk: Any) -> int:
    status = queue(kiosk).status()
    return int(status.pending + status.acknowledged + status.dead)


def backend_requests(kiosk: Any) -> int:
    """Requests stored by the running kiosk's local reference backend (its SQLite store)."""
    local = queue(kiosk).local_backend
    store = open_store(local.store_url)
    try:
        return int(store.stats()["requests"])
    finally:
        store.close()


def wait_delivered(kiosk: Any, request_id: str, timeout_s: float = 30) -> None:
    outbox = queue(kiosk).outbox
    kiosk.wait_until(
        lambda: (outbox.record(request_id) or {}).get("status") == "acknowledged",
        timeout_s=timeout_s,
        what=f"delivery of {request_id}",
    )


def return_to_attract(kiosk: Any) -> None:
    """Finish the visit the way the kiosk does after the done screen (or cancel mid-way)."""
    session = kiosk.app.session
    if kiosk.screen == "done":
        kiosk.clock.advance(kiosk.app.runtime.config.session.attract_return_s + 1)
        kiosk.wait_until(lambda: kiosk.screen == "attract", what="the attract screen")
    elif kiosk.screen != "attract":
        step = kiosk.app.screen("step") if kiosk.screen == "step" else None
        leave = (
            "app.home" if step is not None and step.result is not None else "app.cancel"
        )  # a result: 返回首页
        kiosk.tap(kiosk.app.tr(leave), exact=True)
    assert kiosk.screen == "attract" and kiosk.app.session is None
    if session is not None:
        assert session.wiped and session.values == {} and session.identity is None
        assert session.photo_jpeg is None and session.artifacts == {}


@pytest.fixture
def proxy(kiosk: Any) -> Iterator[FaultProxy]:
    """A fault proxy between the running kiosk (delivery and look-ups) and its local backend."""
    wait_devices(kiosk)
    services = queue(kiosk)
    sender = services.worker.sender
    original_url, original_sender = services.url, sender.url
    fault_proxy = FaultProxy(original_url, hold_s=30).start()
    services.url = fault_proxy.url
    sender.url = fault_proxy.url + "/v1/requests"
    try:
        yield fault_proxy
    finally:
        fault_proxy.set("pass")
        services.url, sender.url = original_url, original_sender
        services.worker.wake()
        fault_proxy.close()


def reset_demo_fines(kiosk: Any) -> None:
    """The local backend's demo fines register as enrolled at start (backend/fines.py demo_enrol):
    an earlier test may have decided or paid the demo resident's fines in this session's backend."""
    from backend.fines import FinesRegister, demo_enrol

    store = open_store(queue(kiosk).local_backend.store_url)
    try:
        demo_enrol(FinesRegister(store))
    finally:
        store.close()
