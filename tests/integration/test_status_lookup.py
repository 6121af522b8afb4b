"""Status look-up over the real wire: the kiosk's signed BackendClient against the reference backend
on 127.0.0.1 (a request delivered by the real outbox and sender, then moved along by staff), and
against servers that fail (HTTP 500, no answer in time, nobody listening)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from backend.app import Backend, make_server
from backend.store import Store, open_store
from contract.ids import uuid7
from contract.signing import SigningKey
from kiosk.queue.client import BackendClient
from kiosk.queue.delivery import HttpSender, deliver_until_empty
from kiosk.queue.outbox import Outbox
from kiosk.steps.status import look_up, look_up_holder, look_up_number

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-S1", b"s" * 32)


@pytest.fixture
def backend(store_url: str) -> Iterator[tuple[str, Store]]:
    store = open_store(store_url)
    httpd = make_server(Backend(store, {KEY.key_id: KEY.secret}), "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}", store
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        store.close()


def test_a_delivered_request_is_found_and_follows_the_staffs_decision(
    backend: tuple[str, Store], tmp_path: Path
) -> None:
    url, store = backend
    with Outbox(tmp_path / "outbox.db", KEY.key_id) as outbox:
        submitted = outbox.submit("system.test", 1, {"fields": {"note": "status"}}, test=True)
        request_id = submitted.request_id
        client = BackendClient(url, KEY)
        try:
            before = look_up(client, request_id, held_here=outbox.record)
            assert before.state == "queued_here"  # still only in this kiosk's outbox
            sender = HttpSender(url, KEY)
            try:
                assert deliver_until_empty(outbox, sender, timeout_s=10) == 1
            finally:
                sender.close()
            received = look_up(client, request_id, held_here=outbox.record)
            assert (received.state, received.request_type) == ("received", "system.test")
            assert received.received_at
            assert store.take("officer-1") is not None
            assert look_up(client, request_id).state == "in_progress"
            assert store.finish(request_id, "rejected", "材料不全 documents missing")
            rejected = look_up(client, request_id)
            assert (rejected.state, rejected.reason) == ("rejected", "材料不全 documents missing")
            assert look_up(client, str(uuid7()), held_here=outbox.record).state == "unknown"
        finally:
            client.close()


def test_the_acceptance_number_and_the_id_card_find_the_request(
    backend: tuple[str, Store], tmp_path: Path
) -> None:
    url, store = backend
    holder = "110101199003070015"
    applicant = {"id_number": holder, "name": "张三", "identified_by": "card"}
    cert = {"applicant": applicant, "fields": {"purpose": "school", "copies": 1, "phone": "13800000000"}}
    with Outbox(tmp_path / "outbox.db", KEY.key_id, kiosk_number=31) as outbox:
        made = [outbox.submit("household.household_certificate", 1, cert) for _ in range(3)]
        sender = HttpSender(url, KEY)
        try:
            assert deliver_until_empty(outbox, sender, timeout_s=10) == 3
        finally:
            sender.close()
        queued = outbox.submit("household.household_certificate", 1, cert)
        client = BackendClient(url, KEY)
        try:
            for submitted in made:
                view = look_up_number(client, submitted.number, held_here=outbox.record_by_number)
                assert (view.state, view.number) == ("received", submitted.number)
                assert store.find_by_number(submitted.number)["request_id"] == submitted.request_id  # type: ignore[index]
            # the fourth is still in this kiosk's outbox: on its way
            waiting = look_up_number(client, queued.number, held_here=outbox.record_by_number)
            assert (waiting.state, waiting.number) == ("queued_here", queued.number)
            listed = look_up_holder(client, holder)
            assert listed.state == "holder_list"
            assert [item.number for item in listed.items] == [m.number for m in reversed(made)]
            assert look_up_holder(client, "990000199001010009").state == "holder_none"
        finally:
            client.close()


def test_sqlite_resolves_the_last_group_through_its_index(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        with store.transaction() as cur:
            plan = cur.execute(
                "EXPLAIN QUERY PLAN SELECT request_id FROM requests WHERE substr(request_id, 25, 12) = ?",
                ("0a1b2c3d4e5f",),
            ).fetchall()
    finally:
        store.close()
    assert any("requests_tail" in str(row) for row in plan), plan


def test_a_refused_signature_reads_as_offline_for_the_resident(backend: tuple[str, Store]) -> None:
    url, _store = backend
    client = BackendClient(url, SigningKey(KEY.key_id, b"x" * 32))
    try:
        view = look_up(client, str(uuid7()))
    finally:
        client.close()
    assert view.state == "offline" and "401" in view.detail


class _Failing(BaseHTTPRequestHandler):
    mode = "500"

    def do_GET(self) -> None:
        if self.mode == "slow":
            time.sleep(1.5)
        self.send_response(500 if self.mode == "500" else 200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, format: str, *args: Any) -> None:
        pass


@pytest.mark.parametrize("mode", ["500", "slow"])
def test_backend_error_or_timeout_is_offline_quickly(mode: str) -> None:
    handler = type("Handler", (_Failing,), {"mode": mode})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    client = BackendClient(f"http://127.0.0.1:{httpd.server_port}", KEY, read_timeout_s=0.5)
    try:
        begun = time.monotonic()
        view = look_up(client, str(uuid7()))
        elapsed = time.monotonic() - begun
    finally:
        client.close()
        httpd.shutdown()
        httpd.server_close()
    assert view.state == "offline"
    assert ("500" in view.detail) if mode == "500" else ("timed out" in view.detail and elapsed < 1.4)


def test_nobody_listening_is_offline() -> None:
    with socket.socket() as probe:  # a port that was free a moment ago: nothing listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = BackendClient(f"http://127.0.0.1:{port}", KEY, connect_timeout_s=1)
    try:
        view = look_up(client, str(uuid7()))
    finally:
        client.close()
    assert view.state == "offline" and "unreachable" in view.detail
