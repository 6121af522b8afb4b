"""Replays, simulation-only routes and the key id → kiosk id mapping, on both stores.

Issue 20's reproductions: signed look-ups, payments, heartbeats, alerts and signed GETs accepted
the same signed request again for ±300 s (a heartbeat replayed 3 times counted 3 times; a payment
poll replayed 3 times turned a simulated payment paid); ``simulate-paid`` was open to any kiosk
key; ingest required ``kiosk_id == key_id`` although the kiosk config lets them differ.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests
from fastapi import APIRouter, Request
from fastapi.responses import Response

from backend.app import Backend
from backend.asgi import answer, documented, read_signed
from backend.keys import KeyRing
from backend.lookups import Lookups
from backend.models import Ok, Problem
from backend.server import make_server
from backend.store import Store, open_store
from contract.signing import SigningKey
from kiosk.queue.alerts import help_alert
from kiosk.queue.delivery import HttpSender, deliver_until_empty
from kiosk.queue.outbox import Outbox
from tests.integration.backend_server import serving

pytestmark = pytest.mark.integration

KEY = SigningKey("KEY-R1", b"r" * 32)
KIOSK_ID = "KIOSK-R1"  # the kiosk the key belongs to: not the key id


@dataclass
class Running:
    url: str
    store: Store


def _ring() -> KeyRing:
    ring = KeyRing()
    ring.add(KEY.key_id, KIOSK_ID, KEY.secret, source="test")
    return ring


@pytest.fixture
def server(store_url: str) -> Iterator[Running]:
    store = open_store(store_url)
    backend = Backend(store, _ring(), lookups=Lookups(paid_after_polls=2))
    with serving(backend) as httpd:
        yield Running(f"http://127.0.0.1:{httpd.server_port}", store)
    store.close()


def _send(url: str, method: str, path: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    return requests.request(method, url + path, data=body or None, headers=headers, timeout=5)


def _twice(server: Running, method: str, path: str, doc: object | None) -> tuple[int, int]:
    """Send one signed request, then the very same bytes and headers again: both statuses."""
    body = json.dumps(doc).encode() if doc is not None else b""
    headers = {"Content-Type": "application/json", **KEY.sign(method, path, body)}
    first = _send(server.url, method, path, body, headers)
    again = _send(server.url, method, path, body, headers)
    if again.status_code == 401:
        assert again.json()["error"] == "replayed_nonce"
    return first.status_code, again.status_code


def _payment(server: Running) -> str:
    body = json.dumps({"amount_fen": 100, "purpose": "t"}).encode()
    answer = _send(server.url, "POST", "/v1/payments", body, KEY.sign("POST", "/v1/payments", body))
    assert answer.status_code == 201, answer.text
    return str(answer.json()["payment_id"])


@pytest.mark.parametrize(
    ("method", "path", "doc"),
    [
        ("POST", "/v1/lookup/violations", {"plate": "京A12345"}),
        ("POST", "/v1/lookup/vehicle", {"plate": "京A12346"}),
        ("POST", "/v1/identity/verify", {"id_number": "990000199001010009", "photo_sha256": "a" * 64}),
        ("POST", "/v1/payments", {"amount_fen": 100}),
        ("GET", "/v1/requests/00000000-0000-7000-8000-000000000000", None),
        ("GET", "/v1/requests/by-tail/0123456789ab", None),
        ("POST", "/v1/heartbeat", {"kiosk_id": KIOSK_ID, "health": {}}),
        ("POST", "/v1/alerts", help_alert(KIOSK_ID, "home", "", "", 1_700_000_000.0)),
    ],
)
def test_a_replayed_signed_request_is_refused(server: Running, method: str, path: str, doc: object) -> None:
    first, again = _twice(server, method, path, doc)
    assert first in (200, 201, 404), first
    assert again == 401


def test_payment_routes_refuse_replays_and_a_replayed_poll_does_not_advance(server: Running) -> None:
    payment = _payment(server)
    path = f"/v1/payments/{payment}"
    headers = KEY.sign("GET", path, b"")
    assert _send(server.url, "GET", path, b"", headers).json()["status"] == "pending"  # poll 1 of 2
    for _ in range(3):
        assert _send(server.url, "GET", path, b"", headers).status_code == 401
    fresh = _send(server.url, "GET", path, b"", KEY.sign("GET", path, b""))
    assert fresh.json()["status"] == "paid"  # the second real poll, not the fourth
    assert _twice(server, "POST", f"/v1/payments/{_payment(server)}/cancel", None) == (200, 401)


def test_a_replayed_heartbeat_counts_once(server: Running) -> None:
    doc = {
        "kiosk_id": KIOSK_ID,
        "health": {"version": "t"},
        "analytics": [{"service": "s", "step": "-", "outcome": "started", "count": 1}],
    }
    body = json.dumps(doc).encode()
    headers = KEY.sign("POST", "/v1/heartbeat", body)
    statuses = [_send(server.url, "POST", "/v1/heartbeat", body, headers).status_code for _ in range(4)]
    assert statuses == [200, 401, 401, 401]
    (kiosk,) = server.store.kiosks()
    assert kiosk["kiosk_id"] == KIOSK_ID
    assert [s["count"] for s in kiosk["steps"]] == [1]


def test_a_replayed_submission_is_refused_and_stored_once(server: Running, tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.db", KIOSK_ID) as outbox:
        outbox.submit("system.test", 1, {"fields": {"note": "once"}}, test=True)
        pending = outbox.head()
    assert pending is not None
    headers = {**KEY.sign("POST", "/v1/requests", pending.body), "Idempotency-Key": pending.request_id}
    first = _send(server.url, "POST", "/v1/requests", pending.body, headers)
    again = _send(server.url, "POST", "/v1/requests", pending.body, headers)
    assert first.status_code == 201, first.text
    assert again.status_code == 401 and again.json()["error"] == "replayed_nonce"
    (stored,) = server.store.list()
    assert stored["kiosk_id"] == KIOSK_ID and stored["request_id"] == pending.request_id


def test_kiosk_ids_that_differ_from_the_key_id_are_delivered_through_the_mapping(
    server: Running, tmp_path: Path
) -> None:
    """The kiosk signs with key KEY-R1 and files as KIOSK-R1: stored, not dead-lettered; a body that
    claims the key id as its kiosk, or another kiosk, is refused."""
    with Outbox(tmp_path / "outbox.db", KIOSK_ID) as outbox:
        for i in range(3):
            outbox.submit("system.test", 1, {"fields": {"note": f"mapped {i}"}}, test=True)
        sender = HttpSender(server.url, KEY)
        try:
            assert deliver_until_empty(outbox, sender, timeout_s=30) == 3
        finally:
            sender.close()
        assert outbox.status().dead == 0
    assert {r["kiosk_id"] for r in server.store.list()} == {KIOSK_ID}
    for claimed in (KEY.key_id, "KIOSK-OTHER"):
        body = json.dumps({"kiosk_id": claimed, "health": {}}).encode()
        answer = _send(server.url, "POST", "/v1/heartbeat", body, KEY.sign("POST", "/v1/heartbeat", body))
        assert answer.status_code == 400, claimed


def test_simulate_paid_exists_only_with_simulate(store_url: str) -> None:
    for simulate in (False, True):
        store = open_store(store_url)
        backend = Backend(store, _ring(), simulate=simulate)
        with serving(backend) as httpd:
            running = Running(f"http://127.0.0.1:{httpd.server_port}", store)
            payment = _payment(running)
            path = f"/v1/payments/{payment}/simulate-paid"
            answer = _send(running.url, "POST", path, b"", KEY.sign("POST", path, b""))
            doc = requests.get(running.url + "/openapi.json", timeout=5).json()
        store.close()
        if simulate:
            assert answer.status_code == 200 and answer.json()["status"] == "paid"
            assert "/v1/payments/{payment_id}/simulate-paid" in doc["paths"]
        else:
            assert answer.status_code == 404
            assert "/v1/payments/{payment_id}/simulate-paid" not in doc["paths"]


def test_a_rotated_key_verifies_with_either_active_secret(store_url: str) -> None:
    new = SigningKey(KEY.key_id, b"n" * 32)
    ring = _ring()
    ring.add(new.key_id, KIOSK_ID, new.secret, source="test")
    store = open_store(store_url)
    with serving(Backend(store, ring)) as httpd:
        url = f"http://127.0.0.1:{httpd.server_port}"
        for key in (KEY, new):
            body = json.dumps({"kiosk_id": KIOSK_ID, "health": {}}).encode()
            answer = _send(url, "POST", "/v1/heartbeat", body, key.sign("POST", "/v1/heartbeat", body))
            assert answer.status_code == 200, answer.text
    retired = KeyRing()
    retired.add(new.key_id, KIOSK_ID, new.secret, source="test")  # the old secret retired
    with serving(Backend(store, retired)) as httpd:
        url = f"http://127.0.0.1:{httpd.server_port}"
        body = json.dumps({"kiosk_id": KIOSK_ID, "health": {}}).encode()
        answer = _send(url, "POST", "/v1/heartbeat", body, KEY.sign("POST", "/v1/heartbeat", body))
        assert answer.status_code == 401 and answer.json()["error"] == "bad_signature"
    store.close()


def test_nonces_are_purged_after_twice_the_skew_window(store_url: str) -> None:
    store = open_store(store_url)
    try:
        assert store.claim_nonce("K", "a" * 32, 1000)
        assert not store.claim_nonce("K", "a" * 32, 1000)  # per key...
        assert store.claim_nonce("OTHER", "a" * 32, 1000)  # ...so another key's nonce is its own
        store.purge_nonces(1001)
        assert store.claim_nonce("K", "a" * 32, 1000)  # purged: stale by then, refused as such
    finally:
        store.close()


def test_a_route_added_as_one_function_is_documented_signed_and_replay_safe(store_url: str) -> None:
    """The recipe of backend/asgi.py's docstring: one function on a router, mounted by create_app."""
    router = APIRouter()

    @router.get("/v1/example/{thing}", **documented("An example", {200: ("ok", Ok), 404: ("no", Problem)}))
    async def example(request: Request, thing: str) -> Response:
        await read_signed(request)
        return answer(200, {"ok": True})

    store = open_store(store_url)
    httpd = make_server(Backend(store, _ring()), "127.0.0.1", 0, routers=[router])
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        running = Running(f"http://127.0.0.1:{httpd.server_port}", store)
        assert _twice(running, "GET", "/v1/example/x", None) == (200, 401)
        assert _send(running.url, "GET", "/v1/example/x", b"", {}).status_code == 401  # unsigned
        doc = requests.get(running.url + "/openapi.json", timeout=5).json()
        op = doc["paths"]["/v1/example/{thing}"]["get"]
        assert set(op["responses"]) == {"200", "401", "404"} and op["security"] == [{"kioskHmac": []}]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        store.close()
