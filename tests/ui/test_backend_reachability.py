"""Backend reachability in the running app (kiosk/runtime.py BackendLink, screens/app.py): when the
backend stops answering, the services that must ask it something are shown disabled with the
reason while the others still start; once it answers again they come back, without a restart."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from kiosk.errors import BackendUnavailable
from tests.fault_proxy import FaultProxy

pytestmark = pytest.mark.ui

NEEDS_BACKEND = ("临时身份证明", "身份证换领/补领")  # identity check, payment
NO_BACKEND = "户籍证明"  # card, form, outbox, printer: nothing asked of the backend
REASON = "网络暂时不通"


@pytest.fixture
def backend(kiosk: Any) -> Iterator[FaultProxy]:
    """Every exchange of the running kiosk (look-ups, heartbeats, delivery) through a fault proxy in
    front of its real local backend; passing again and out of the way afterwards."""
    runtime = kiosk.app.runtime
    kiosk.wait_until(lambda: not runtime.pending_roles(), timeout_s=30, what="the devices")
    kiosk.wait_until(lambda: runtime.queue is not None, timeout_s=30, what="the request queue")
    services = runtime.queue
    sender = services.worker.sender
    original_url, original_sender = services.url, sender.url
    proxy = FaultProxy(original_url, hold_s=30).start()
    services.url, sender.url = proxy.url, proxy.url + "/v1/requests"
    try:
        yield proxy
    finally:
        proxy.set("pass")
        services.url, sender.url = original_url, original_sender
        ask(kiosk)  # the link is reachable again for the next test
        services.worker.wake()
        proxy.close()


def ask(kiosk: Any) -> bool:
    """One real exchange with the backend, as a heartbeat makes it; whether it answered."""
    client = kiosk.app.runtime.queue.new_client()
    try:
        client.request_status("0190f0c2-0000-7000-8000-000000000000")  # an id nobody filed
    except BackendUnavailable:
        return False
    finally:
        client.close()
    return True


def tile(kiosk: Any, title: str) -> Any:
    return kiosk.find(title, exact=True)


def test_backend_away_disables_only_the_services_that_need_it(kiosk: Any, backend: FaultProxy) -> None:
    runtime = kiosk.app.runtime
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    assert kiosk.screen == "services"
    assert all(tile(kiosk, title).available for title in (*NEEDS_BACKEND, NO_BACKEND))

    backend.set("reset")  # the backend is gone: every connection is cut
    assert not ask(kiosk)
    assert runtime.backend.reachable  # one lost exchange is not an outage
    assert not ask(kiosk)
    assert not runtime.backend.reachable
    for title in NEEDS_BACKEND:  # the open services screen follows without being touched
        kiosk.wait_until(lambda t=title: not tile(kiosk, t).available, timeout_s=10, what=f"{title} off")
        assert REASON in tile(kiosk, title).note
    assert tile(kiosk, NO_BACKEND).available

    kiosk.tap(tile(kiosk, NEEDS_BACKEND[0]))  # refused: the area stays, with the reason
    assert kiosk.screen == "services" and kiosk.app.flow is None
    kiosk.tap(tile(kiosk, NO_BACKEND))  # the others still start
    assert kiosk.screen == "step" and kiosk.app.flow.service.id == "household-certificate"
    kiosk.tap(kiosk.app.tr("app.back"), exact=True)
    assert kiosk.screen == "services" and kiosk.app.flow is None

    backend.set("pass")  # the backend answers again
    assert ask(kiosk) and runtime.backend.reachable
    for title in NEEDS_BACKEND:
        kiosk.wait_until(lambda t=title: tile(kiosk, t).available, timeout_s=10, what=f"{title} back")
        assert REASON not in tile(kiosk, title).note
    kiosk.tap(tile(kiosk, NEEDS_BACKEND[0]))
    assert kiosk.screen == "step" and kiosk.app.flow.service.id == "temp-id-certificate"
