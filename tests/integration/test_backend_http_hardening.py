"""The HTTP-level reproductions of issue 20, on raw sockets against the served backend.

On the old stdlib server each of these held a thread, answered twice on one connection or read
chunk data as a next request: 40 half-sent bodies held 40 threads indefinitely, each allowed to
buffer 8 MB before any authentication; a GET with a body produced two answers; ``Transfer-Encoding:
chunked`` was ignored; ``Content-Length: 1_0`` was accepted.
"""

from __future__ import annotations

import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from backend.app import Backend
from backend.server import BackendServer, Limits
from backend.store import open_store
from contract.signing import SigningKey
from tests.conftest import wait_until
from tests.integration.backend_server import serving

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-H1", b"h" * 32)
LIMITS = Limits(header_timeout_s=1.0, body_timeout_s=1.0, keep_alive_s=1.0)
SMUGGLED = b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[BackendServer]:
    store = open_store(f"sqlite:///{tmp_path / 'backend.db'}")
    with serving(Backend(store, {KEY.key_id: KEY.secret}), limits=LIMITS) as httpd:
        yield httpd
    store.close()


def _connect(server: BackendServer) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.server_port), timeout=5)
    sock.settimeout(5)
    return sock


def _read_until_closed(sock: socket.socket, timeout_s: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection (or ``timeout_s`` passes)."""
    sock.settimeout(0.2)
    data = b""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            continue
        except ConnectionResetError:
            break
        if not chunk:
            return data
        data += chunk
    raise AssertionError(f"the server kept the connection open; it sent {data!r}")


def _answers(data: bytes) -> list[int]:
    """Status codes of the HTTP answers in ``data`` (a status line may follow a body directly)."""
    return [int(code) for code in re.findall(rb"HTTP/1\.1 (\d{3}) ", data)]


def _signed_head(path: str, body: bytes, method: str = "POST") -> bytes:
    headers = "".join(f"{k}: {v}\r\n" for k, v in KEY.sign(method, path, body).items())
    return (
        f"{method} {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n{headers}"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode()


def test_forty_half_sent_bodies_time_out_and_do_not_pile_up(server: BackendServer) -> None:
    body = b'{"kiosk_id": "KIOSK-H1", "health": {}}' + b" " * 1000
    socks = []
    for _ in range(40):
        sock = _connect(server)
        sock.sendall(_signed_head("/v1/heartbeat", body) + body[:100])
        socks.append(sock)
    wait_until(lambda: server.open_connections >= 40, what="40 connections held")
    started = time.monotonic()
    wait_until(lambda: server.open_connections == 0, timeout_s=5, what="the half-sent bodies dropped")
    assert time.monotonic() - started < 4
    for sock in socks:
        assert _read_until_closed(sock, 2) == b""  # closed without an answer: nothing was complete
        sock.close()
    assert requests.get(f"http://127.0.0.1:{server.server_port}/healthz", timeout=5).status_code == 200


def test_half_sent_headers_time_out(server: BackendServer) -> None:
    socks = [_connect(server) for _ in range(20)]
    for sock in socks:
        sock.sendall(b"POST /v1/requests HTTP/1.1\r\nHost: x\r\nX-Kiosk-Key-Id: KIOSK")  # never ends
    silent = _connect(server)  # connected, sends nothing at all
    wait_until(lambda: server.open_connections >= 21, what="21 connections held")
    wait_until(lambda: server.open_connections == 0, timeout_s=5, what="the half-sent headers dropped")
    for sock in [*socks, silent]:
        assert _read_until_closed(sock, 2) == b""
        sock.close()


def test_trickled_headers_do_not_reset_the_deadline(server: BackendServer) -> None:
    """A byte every 0.3 s never completes the head: the deadline runs from the first byte."""
    sock = _connect(server)
    sent_at = time.monotonic()
    closed = False
    for byte in b"POST /v1/requests HTTP/1.1\r\nHost: xxxxxxxxxxxxxxxxxxxxxxxx":
        try:
            sock.sendall(bytes([byte]))
        except (BrokenPipeError, ConnectionResetError):
            closed = True
            break
        time.sleep(0.3)
        if server.open_connections == 0:
            closed = True
            break
    assert closed and time.monotonic() - sent_at < 3
    sock.close()


def test_an_unsigned_body_is_refused_before_it_is_read(server: BackendServer) -> None:
    """8 MB declared, no signature: 401 at once and the connection closed, the body never read."""
    sock = _connect(server)
    sock.sendall(b"POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Length: 8000000\r\n\r\n" + b"{" * 1000)
    data = _read_until_closed(sock, 3)
    assert _answers(data) == [401]
    assert b"connection: close" in data.lower()
    sock.close()


def test_a_body_over_the_limit_is_refused_unread(server: BackendServer) -> None:
    sock = _connect(server)
    head = _signed_head("/v1/heartbeat", b"x" * 16).replace(b"Content-Length: 16", b"Content-Length: 9000000")
    sock.sendall(head)
    assert _answers(_read_until_closed(sock, 3)) == [413]
    sock.close()


def test_chunked_bodies_are_refused_not_read_as_the_next_request(server: BackendServer) -> None:
    sock = _connect(server)
    chunk = SMUGGLED
    sock.sendall(
        b"POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
        + f"{len(chunk):x}\r\n".encode()
        + chunk
        + b"\r\n0\r\n\r\n"
        + SMUGGLED
    )
    assert _answers(_read_until_closed(sock)) == [411]  # one answer, then closed: nothing smuggled
    sock.close()


@pytest.mark.parametrize("te", [b"gzip", b"chunked, gzip", b"identity"])
def test_other_transfer_encodings_are_refused(server: BackendServer, te: bytes) -> None:
    sock = _connect(server)
    sock.sendall(
        b"POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te + b"\r\n\r\n" + SMUGGLED
    )
    answers = _answers(_read_until_closed(sock))
    assert len(answers) == 1 and answers[0] in (400, 411, 501)
    sock.close()


@pytest.mark.parametrize("length", [b"1_0", b"+10", b"0x0a", b"10, 11", b" 1 0"])
def test_malformed_content_lengths_are_refused(server: BackendServer, length: bytes) -> None:
    sock = _connect(server)
    sock.sendall(
        b"POST /v1/heartbeat HTTP/1.1\r\nHost: x\r\nContent-Length: " + length + b"\r\n\r\n" + SMUGGLED
    )
    assert _answers(_read_until_closed(sock)) == [400]
    sock.close()


def test_a_get_with_a_body_gets_one_answer(server: BackendServer) -> None:
    sock = _connect(server)
    body = SMUGGLED
    sock.sendall(_signed_head("/v1/requests/by-tail/0123456789ab", body, "GET") + body)
    assert _answers(_read_until_closed(sock)) == [400]
    sock.close()


def test_pipelined_requests_get_one_answer_each(server: BackendServer) -> None:
    """The framing is strict, not hostile to honest keep-alive: two requests, two answers."""
    sock = _connect(server)
    sock.sendall(SMUGGLED + SMUGGLED.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
    assert _answers(_read_until_closed(sock)) == [200, 200]
    sock.close()


def test_the_connection_limit_answers_503_past_it(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'backend.db'}")
    limits = Limits(header_timeout_s=5.0, max_connections=5)
    with serving(Backend(store, {KEY.key_id: KEY.secret}), limits=limits) as httpd:
        held = [_connect(httpd) for _ in range(5)]
        wait_until(lambda: httpd.open_connections >= 5, what="5 connections held")
        sock = _connect(httpd)
        sock.sendall(SMUGGLED.replace(b"\r\n\r\n", b"\r\nConnection: close\r\n\r\n"))
        assert _answers(_read_until_closed(sock)) == [503]
        for s in [*held, sock]:
            s.close()
        wait_until(lambda: httpd.open_connections == 0, what="the held connections closed")
        assert requests.get(f"http://127.0.0.1:{httpd.server_port}/healthz", timeout=5).status_code == 200
    store.close()
