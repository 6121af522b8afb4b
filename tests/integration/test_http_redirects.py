"""The kiosk's HTTP client against real local HTTP servers (issue 21, item 6): a redirect is never
followed, neither by delivery (the row is dead-lettered with the cause) nor by a look-up
(BackendRejected), so a resident's envelope cannot be resent to another host or over plain http;
and a huge ``Retry-After`` waits at most the backoff ceiling instead of parking the queue."""

from __future__ import annotations

import json
import random
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from contract.signing import SigningKey
from kiosk.errors import BackendRejected
from kiosk.queue.client import BackendClient
from kiosk.queue.delivery import Backoff, HttpSender, deliver_one
from kiosk.queue.outbox import Attachment, Outbox

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-T1", b"k" * 32)
APPLICANT = {"id_number": "990000199001010009", "name": "张三丰", "identified_by": "card", "sex": "male"}
PHOTO = {"applicant": APPLICANT, "fields": {"spec": "passport", "photo_code": "P1"}}


@dataclass
class ScriptedServer:
    """A local HTTP server answering every request with one status and headers; records each
    request it gets (method, path, body size)."""

    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b"{}"
    seen: list[tuple[str, str, int]] = field(default_factory=list)
    url: str = ""


Serve = Callable[..., ScriptedServer]  # serve(status=..., headers=..., body=...)


def _handler(script: ScriptedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def _answer(self) -> None:
            size = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(size)
            script.seen.append((self.command, self.path, size))
            self.send_response(script.status)
            for name, value in script.headers.items():
                self.send_header(name, value)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(script.body)))
            self.end_headers()
            self.wfile.write(script.body)

        do_GET = do_POST = _answer  # http.server's names

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

    return Handler


@pytest.fixture
def serve() -> Iterator[Serve]:
    """Start as many scripted servers as a test needs; all are stopped after it."""
    servers: list[ThreadingHTTPServer] = []

    def start(**script_args: object) -> ScriptedServer:
        script = ScriptedServer(**script_args)  # type: ignore[arg-type]
        server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(script))
        server.daemon_threads = True
        threading.Thread(target=server.serve_forever, daemon=True).start()
        servers.append(server)
        script.url = f"http://127.0.0.1:{server.server_address[1]}"
        return script

    yield start
    for server in servers:
        server.shutdown()
        server.server_close()


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    with Outbox(tmp_path / "outbox.db", "KIOSK-T1") as box:
        yield box


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_delivery_never_follows_a_redirect_and_dead_letters_the_row_with_the_cause(
    serve: Serve, outbox: Outbox, status: int
) -> None:
    elsewhere = serve(status=201, body=b'{"receipt": "stolen"}')
    redirecting = serve(status=status, headers={"Location": f"{elsewhere.url}/v1/requests"})
    photo = Attachment("photo", "image/jpeg", b"\xff\xd8synthetic\xff\xd9")
    submitted = outbox.submit("photo.id_photo", 1, PHOTO, [photo])
    sender = HttpSender(redirecting.url, KEY)
    try:
        assert deliver_one(outbox, sender, Backoff(), time.time()) == 0.0
    finally:
        sender.close()
    assert [(m, p) for m, p, _ in redirecting.seen] == [("POST", "/v1/requests")]
    assert elsewhere.seen == []  # the body went nowhere else
    record = outbox.record(submitted.request_id)
    assert record is not None and record["status"] == "dead" and record["answer_status"] == status
    cause = f"backend redirected to {elsewhere.url}/v1/requests; redirects are refused"
    assert record["answer"] == cause and record["last_error"] == f"HTTP {status}"
    assert outbox.dead_letters()[0].answer == cause  # what technicians see


def test_a_redirected_look_up_raises_backend_rejected_and_is_not_followed(
    serve: Serve,
) -> None:
    elsewhere = serve(status=200, body=json.dumps({"violations": []}).encode())
    redirecting = serve(status=307, headers={"Location": f"{elsewhere.url}/v1/lookup/violations"})
    exchanges: list[tuple[bool, str]] = []
    client = BackendClient(redirecting.url, KEY, on_exchange=lambda ok, cause: exchanges.append((ok, cause)))
    try:
        with pytest.raises(
            BackendRejected, match=r"backend redirected to http://127\.0\.0\.1:\d+/v1/lookup/"
        ):
            client.violations(id_number=APPLICANT["id_number"])
        with pytest.raises(BackendRejected, match="redirects are refused"):
            client.request_status("0190a5c2-0000-7000-8000-000000000001")  # a GET, 404-tolerant call
    finally:
        client.close()
    assert [m for m, _, _ in redirecting.seen] == ["POST", "GET"]
    assert elsewhere.seen == []
    assert exchanges == [(True, "HTTP 307 (redirect refused)")] * 2  # reported to runtime.backend


def test_a_huge_retry_after_waits_at_most_the_backoff_ceiling(serve: Serve, outbox: Outbox) -> None:
    busy = serve(status=429, headers={"Retry-After": "999999999"})
    outbox.submit("photo.id_photo", 1, PHOTO)
    sender = HttpSender(busy.url, KEY)
    backoff = Backoff(base_s=0.5, cap_s=300, rng=random.Random(7))
    try:
        before = time.time()
        wait = deliver_one(outbox, sender, backoff, before)
    finally:
        sender.close()
    assert wait is not None and 0 < wait <= 300
    head = outbox.head()
    assert head is not None and head.attempts == 1
    assert head.next_attempt_ts <= time.time() + 300  # stored: a restart does not park it either
    assert len(busy.seen) == 1


def test_a_row_parked_beyond_the_ceiling_by_an_older_version_is_sent_now(
    serve: Serve, outbox: Outbox
) -> None:
    backend = serve(status=201, body=b'{"receipt": "r"}')
    submitted = outbox.submit("photo.id_photo", 1, PHOTO)
    outbox.defer(submitted.request_id, time.time() + 999999999, "HTTP 429")  # what the old code stored
    sender = HttpSender(backend.url, KEY)
    try:
        assert deliver_one(outbox, sender, Backoff(cap_s=300), time.time()) == 0.0
    finally:
        sender.close()
    assert (outbox.record(submitted.request_id) or {}).get("status") == "acknowledged"
