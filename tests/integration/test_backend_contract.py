"""The backend's contract, run against both stores: SQLite always, PostgreSQL when
``KIOSK_TEST_PG_URL`` is set (scripts/test-services.sh). A real HTTP server on 127.0.0.1, the
kiosk's real HttpSender and outbox."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from backend.app import Backend, make_server
from backend.store import Store, open_store
from contract.signing import SigningKey
from kiosk.queue.delivery import HttpSender
from kiosk.queue.outbox import Outbox

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-C1", b"c" * 32)
APPLICANT = {"id_number": "990000199001010009", "name": "李四", "identified_by": "card"}
CERT = {"applicant": APPLICANT, "fields": {"purpose": "school", "copies": 1, "phone": "13800000000"}}


@dataclass
class Running:
    url: str
    store: Store
    store_url: str
    backend: Backend


@pytest.fixture
def server(store_url: str) -> Iterator[Running]:
    store = open_store(store_url)
    backend = Backend(store, {KEY.key_id: KEY.secret}, staff_token="staff-t")
    httpd = make_server(backend, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield Running(f"http://127.0.0.1:{httpd.server_port}", store, store_url, backend)
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        store.close()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.db", KEY.key_id) as box:
        yield box


def _post(
    url: str, body: bytes, key: SigningKey = KEY, idem: str | None = None, **sign: float
) -> requests.Response:
    headers = key.sign("POST", "/v1/requests", body, **sign)  # type: ignore[arg-type]
    headers["Idempotency-Key"] = idem if idem is not None else json.loads(body)["request_id"]
    return requests.post(url + "/v1/requests", data=body, headers=headers, timeout=5)


def test_new_then_duplicate_then_same_id_with_other_body(server: Running, outbox: Outbox) -> None:
    outbox.submit("household.household_certificate", 1, CERT)
    head = outbox.head()
    assert head is not None
    first = _post(server.url, head.body)
    assert first.status_code == 201
    receipt = first.json()
    assert receipt["request_id"] == head.request_id and receipt["sequence"] == 1
    again = _post(server.url, head.body)
    assert again.status_code == 200 and again.json() == receipt  # the same receipt
    changed = json.loads(head.body)
    changed["payload"]["fields"]["copies"] = 2
    other = _post(server.url, json.dumps(changed).encode())
    assert other.status_code == 422
    stats = server.store.stats()
    assert stats["requests"] == 1 and stats["duplicates"] == 1


def test_signature_problems_are_refused(server: Running, outbox: Outbox) -> None:
    import time

    outbox.submit("household.household_certificate", 1, CERT)
    head = outbox.head()
    assert head is not None
    wrong = _post(server.url, head.body, key=SigningKey(KEY.key_id, b"w" * 32))
    assert wrong.status_code == 401 and wrong.json()["error"] == "bad_signature"
    stale = _post(server.url, head.body, now=time.time() - 3600)
    assert stale.status_code == 401 and stale.json()["error"] == "stale"
    headers = KEY.sign("POST", "/v1/requests", head.body)
    headers["Idempotency-Key"] = head.request_id
    ok = requests.post(server.url + "/v1/requests", data=head.body, headers=headers, timeout=5)
    replay = requests.post(server.url + "/v1/requests", data=head.body, headers=headers, timeout=5)
    assert ok.status_code == 201
    assert replay.status_code == 401 and replay.json()["error"] == "replayed_nonce"
    assert server.store.stats()["requests"] == 1


def test_bodies_that_break_the_contract_are_400(server: Running, outbox: Outbox) -> None:
    outbox.submit("household.household_certificate", 1, CERT)
    head = outbox.head()
    assert head is not None
    env = json.loads(head.body)
    assert _post(server.url, head.body, idem="not-the-id").status_code == 400
    bad = dict(env, payload={"applicant": APPLICANT, "fields": {"purpose": "fun"}})
    answer = _post(server.url, json.dumps(bad).encode())
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_body"
    other_kiosk = dict(env, kiosk_id="KIOSK-OTHER")
    assert _post(server.url, json.dumps(other_kiosk).encode()).json()["error"] == "kiosk_mismatch"
    assert _post(server.url, b"{not json", idem="x").status_code == 400
    assert server.store.stats()["requests"] == 0


def test_sender_and_outbox_against_the_backend(server: Running, outbox: Outbox) -> None:
    from kiosk.queue.delivery import deliver_until_empty

    for _ in range(5):
        outbox.submit("system.test", 1, {"fields": {"note": "t"}}, test=True)
    sender = HttpSender(server.url, KEY)
    try:
        assert deliver_until_empty(outbox, sender, timeout_s=10) == 5
    finally:
        sender.close()
    assert outbox.status().acknowledged == 5
    assert server.store.stats()["requests"] == 5


def test_wrong_key_down_backend_and_tls_failure_are_retries(server: Running, outbox: Outbox) -> None:
    outbox.submit("system.test", 1, {"fields": {"note": "t"}}, test=True)
    head = outbox.head()
    assert head is not None
    for sender in (
        HttpSender(server.url, SigningKey(KEY.key_id, b"x" * 32)),
        HttpSender("http://127.0.0.1:9", KEY, connect_timeout_s=1),
        HttpSender(server.url.replace("http://127.0.0.1", "https://localhost"), KEY, read_timeout_s=2),
    ):
        outcome = sender.send(head)
        sender.close()
        assert outcome.verdict == "retry", outcome
    assert "TLS" in outcome.text


def test_jobs_status_page_and_skip_locked(server: Running, outbox: Outbox) -> None:
    for _ in range(2):
        outbox.submit("household.household_certificate", 1, CERT)
    sender = HttpSender(server.url, KEY)
    from kiosk.queue.delivery import deliver_until_empty

    deliver_until_empty(outbox, sender, timeout_s=10)
    sender.close()
    second_store = open_store(server.store_url)  # another worker process's connection
    try:
        a = server.store.take("w1")
        b = second_store.take("w2")
        assert a and b and a["request_id"] != b["request_id"]
        assert server.store.take("w1") is None
        assert server.store.finish(a["request_id"], "done")
        assert second_store.finish(b["request_id"], "rejected", "照片不符合要求")
        assert not server.store.finish(a["request_id"], "rejected", "too late")
    finally:
        second_store.close()
    page = requests.get(f"{server.url}/status/{b['request_id']}", timeout=5)
    assert page.status_code == 200 and "未通过" in page.text and "照片不符合要求" in page.text
    assert "李四" not in page.text  # no personal data on the public page
    done = requests.get(f"{server.url}/status/{a['request_id']}", timeout=5)
    assert "已办结" in done.text
    assert (
        requests.get(f"{server.url}/status/{'0' * 8}-0000-7000-8000-{'0' * 12}", timeout=5).status_code == 404
    )
    assert server.store.stats()["by_status"] == {"received": 0, "in_progress": 0, "done": 1, "rejected": 1}


def test_staff_jobs_api_needs_the_token(server: Running) -> None:
    assert requests.post(server.url + "/v1/jobs/take", data=b"{}", timeout=5).status_code == 401
    r = requests.post(
        server.url + "/v1/jobs/take", data=b"{}", headers={"Authorization": "Bearer staff-t"}, timeout=5
    )
    assert r.status_code == 204


def _signed(url: str, method: str, path: str, data: dict[str, object] | None = None) -> requests.Response:
    body = json.dumps(data).encode() if data is not None else b""
    headers = KEY.sign(method, path, body)
    return requests.request(method, url + path, data=body, headers=headers, timeout=5)


def test_lookups_payments_and_identity(server: Running) -> None:
    v1 = _signed(server.url, "POST", "/v1/lookup/violations", {"plate": "京A12345"}).json()
    v2 = _signed(server.url, "POST", "/v1/lookup/violations", {"plate": "京A12345"}).json()
    assert v1 == v2 and isinstance(v1["violations"], list)
    assert _signed(server.url, "POST", "/v1/lookup/violations", {}).status_code == 400
    pay = _signed(server.url, "POST", "/v1/payments", {"amount_fen": 20000, "purpose": "fine"})
    assert pay.status_code == 201
    # found by schemathesis: JSON true passed for an amount (a bool is an int in Python)
    assert _signed(server.url, "POST", "/v1/payments", {"amount_fen": True}).status_code == 400
    assert _signed(server.url, "POST", "/v1/payments", {"amount_fen": 1, "purpose": 2.5}).status_code == 400
    pid = pay.json()["payment_id"]
    polls = [_signed(server.url, "GET", f"/v1/payments/{pid}").json()["status"] for _ in range(3)]
    assert polls == ["pending", "pending", "paid"]
    other = _signed(server.url, "POST", "/v1/payments", {"amount_fen": 100}).json()["payment_id"]
    assert _signed(server.url, "POST", f"/v1/payments/{other}/cancel", {}).json()["status"] == "cancelled"
    # a hash proves nothing about a face: refused (tests/integration/test_identity_verify.py: the rest)
    hash_only = _signed(
        server.url,
        "POST",
        "/v1/identity/verify",
        {"id_number": "990000199001010009", "photo_sha256": "a" * 64},
    )
    assert hash_only.json()["verified"] is False and hash_only.json()["reason"] == "photo_missing"
    assert "holder" not in hash_only.json()
    bad = _signed(
        server.url,
        "POST",
        "/v1/identity/verify",
        {"id_number": "990000199001010001", "photo_sha256": "a" * 64},
    )
    assert bad.json() | {"verification_id": ""} == {
        "verification_id": "",
        "verified": False,
        "reason": "id_number_invalid",
    }
    unsigned = requests.post(server.url + "/v1/lookup/vehicle", data=b"{}", timeout=5)
    assert unsigned.status_code == 401


def test_openapi_document_lists_the_routes_and_schemas(server: Running) -> None:
    doc = requests.get(server.url + "/openapi.json", timeout=5).json()
    assert doc["openapi"].startswith("3.")
    assert "/v1/requests" in doc["paths"] and "vehicle.plate_reissue.v1" in doc["components"]["schemas"]


def test_backend_client_lookups_and_its_errors(server: Running, outbox: Outbox) -> None:
    from kiosk.errors import BackendRejected, BackendUnavailable
    from kiosk.queue.client import BackendClient

    client = BackendClient(server.url, KEY)
    try:
        assert client.violations(plate="京A12345") == client.violations(plate="京A12345")
        order = client.create_payment(5000, "fine")
        assert [client.payment_status(order["payment_id"])["status"] for _ in range(3)][-1] == "paid"
        sub = outbox.submit("system.test", 1, {"fields": {"note": "t"}}, test=True)
        assert client.request_status(sub.request_id) is None  # not delivered yet
        with pytest.raises(BackendRejected, match="HTTP 400"):
            client.create_payment(0, "nothing")
    finally:
        client.close()
    wrong = BackendClient(server.url, SigningKey(KEY.key_id, b"q" * 32))
    with pytest.raises(BackendRejected, match="HTTP 401"):
        wrong.violations(plate="京A12345")
    wrong.close()
    down = BackendClient("http://127.0.0.1:9", KEY, connect_timeout_s=1)
    with pytest.raises(BackendUnavailable, match="unreachable"):
        down.vehicle("京A12345")
    down.close()


def test_a_slow_backend_times_out_then_the_retry_is_a_duplicate(server: Running, outbox: Outbox) -> None:
    outbox.submit("system.test", 1, {"fields": {"note": "t"}}, test=True)
    head = outbox.head()
    assert head is not None
    server.backend.answer_delay_s = 1.0  # stored, but the answer comes after the kiosk gave up
    sender = HttpSender(server.url, KEY, read_timeout_s=0.2)
    try:
        first = sender.send(head)
        assert first.verdict == "retry" and "timed out" in first.text
        server.backend.answer_delay_s = 0.0
        second = sender.send(head)
    finally:
        sender.close()
    assert second.verdict == "ack" and second.http_status == 200
    stats = server.store.stats()
    assert stats["requests"] == 1 and stats["duplicates"] == 1


def test_concurrent_workers_never_take_the_same_request(server: Running, outbox: Outbox) -> None:
    from kiosk.queue.delivery import deliver_until_empty

    for i in range(40):
        outbox.submit("system.test", 1, {"fields": {"note": f"job {i}"}}, test=True)
    sender = HttpSender(server.url, KEY)
    deliver_until_empty(outbox, sender, timeout_s=30)
    sender.close()
    taken: list[list[str]] = [[], [], [], []]

    def work(mine: list[str]) -> None:
        store = open_store(server.store_url)  # one connection per worker, as separate processes have
        try:
            while (job := store.take(f"w{id(mine)}")) is not None:
                mine.append(job["request_id"])
                store.finish(job["request_id"], "done")
        finally:
            store.close()

    threads = [threading.Thread(target=work, args=(mine,)) for mine in taken]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    everything = [rid for mine in taken for rid in mine]
    assert len(everything) == 40 and len(set(everything)) == 40
    assert server.store.stats()["by_status"]["done"] == 40


def test_heartbeats_keep_the_latest_health_and_sum_step_analytics(server: Running) -> None:
    import subprocess
    import sys

    from kiosk.queue.client import BackendClient
    from kiosk.queue.heartbeat import HeartbeatWorker
    from kiosk.visit.analytics import StepAnalytics

    analytics = StepAnalytics()
    analytics.record("traffic-fine", "-", "started")
    analytics.record("traffic-fine", "payment", "abandoned")
    health = {
        "version": "t",
        "uptime_s": 1.0,
        "devices": {"printer": {"state": "down", "code": "paper_out", "detail": ""}},
        "queue": {"pending": 2, "oldest_pending_age_s": 30.0},
    }
    worker = HeartbeatWorker(KEY.key_id, lambda: BackendClient(server.url, KEY), lambda: health, analytics)
    assert worker.beat()
    analytics.record("traffic-fine", "-", "started")
    assert worker.beat() and worker.sent == 2
    (kiosk,) = server.store.kiosks()
    assert kiosk["kiosk_id"] == KEY.key_id
    assert kiosk["health"]["devices"]["printer"]["code"] == "paper_out"
    assert {(s["step"], s["outcome"]): s["count"] for s in kiosk["steps"]} == {
        ("-", "started"): 2,
        ("payment", "abandoned"): 1,
    }
    # a heartbeat signed with the wrong key is refused; its counts wait for the next one
    analytics.record("id-photo", "photo", "timed_out")
    wrong = SigningKey(KEY.key_id, b"q" * 32)
    bad = HeartbeatWorker(KEY.key_id, lambda: BackendClient(server.url, wrong), lambda: health, analytics)
    assert not bad.beat() and "401" in bad.last_error
    assert analytics.snapshot() == {("id-photo", "photo", "timed_out"): 1}
    # a heartbeat claiming another kiosk's id is refused
    other = HeartbeatWorker("KIOSK-OTHER", lambda: BackendClient(server.url, KEY), lambda: health, analytics)
    assert not other.beat() and "400" in other.last_error
    # the department's view: silent kiosks flagged, where residents gave up
    result = subprocess.run(
        [sys.executable, "-m", "backend", "kiosks", "--store", server.store_url, "--json", "--silent-after", "0"],
        capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip
    fleet = json.loads(result.stdout)["kiosks"]
    assert fleet[0]["kiosk_id"] == KEY.key_id and fleet[0]["silent"] is True
    text = subprocess.run(
        [sys.executable, "-m", "backend", "kiosks", "--store", server.store_url],
        capture_output=True, text=True, timeout=60, check=True,
    ).stdout  # fmt: skip
    assert "traffic-fine / payment: abandoned 1" in text and "paper_out" in text


def test_unknown_kiosks_future_clocks_and_oversized_bodies_are_refused(
    server: Running, outbox: Outbox
) -> None:
    """The rest of the security list (issue #9): nothing from them is stored."""
    import time

    outbox.submit("household.household_certificate", 1, CERT)
    head = outbox.head()
    assert head is not None
    stranger = _post(server.url, head.body, key=SigningKey("KIOSK-STRANGER", KEY.secret))
    assert stranger.status_code == 401 and stranger.json()["error"] == "unknown_key"
    future = _post(server.url, head.body, now=time.time() + 3600)  # a kiosk clock an hour ahead
    assert future.status_code == 401 and future.json()["error"] == "stale"
    unsigned = requests.post(server.url + "/v1/requests", data=head.body, timeout=5)
    assert unsigned.status_code == 401
    huge = b"{" + b" " * (8 * 1024 * 1024) + b"}"  # one byte over the 8 MiB limit
    headers = KEY.sign("POST", "/v1/requests", huge)
    headers["Idempotency-Key"] = head.request_id
    try:
        answer = requests.post(server.url + "/v1/requests", data=huge, headers=headers, timeout=10)
    except requests.ConnectionError:
        pass  # the server may close before the client finished sending: refused either way
    else:
        assert answer.status_code == 413 and answer.json()["error"] == "bad_length"
    assert server.store.stats()["requests"] == 0
    assert _post(server.url, head.body).status_code == 201  # the genuine request still goes in
