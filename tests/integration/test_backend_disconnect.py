"""A client that vanishes mid-request (the kiosk timed out, lost its link, or was switched off) is a
one-line log entry on the backend, not a stack trace on stderr, and the server keeps answering."""

from __future__ import annotations

import logging
import socket
import struct
import time
from pathlib import Path

import pytest
import requests

from backend.app import Backend, make_server
from backend.store import open_store
from contract.signing import SigningKey
from tests.conftest import wait_until
from tests.integration.backend_server import serving

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-A1", b"a" * 32)


def _reset_mid_body(port: int) -> None:
    """Send the head of a submit and a tenth of its body, then drop the link with a TCP reset."""
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        b"Content-Length: 1000\r\n\r\n" + b"{" * 100
    )
    time.sleep(0.1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_client_reset_mid_request_is_logged_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'backend.db'}")
    with serving(Backend(store, {KEY.key_id: KEY.secret})) as httpd:
        with caplog.at_level(logging.INFO, logger="backend.app"):
            _reset_mid_body(httpd.server_port)
            wait_until(
                lambda: any("went away" in r.getMessage() for r in caplog.records), what="the reset logged"
            )
        line = next(r.getMessage() for r in caplog.records if "went away" in r.getMessage())
        assert "ConnectionResetError" in line and "127.0.0.1" in line
        assert not any(r.exc_info for r in caplog.records), "a client leaving is not an error with a stack"
        assert "Traceback" not in capfd.readouterr().err
        answer = requests.get(f"http://127.0.0.1:{httpd.server_port}/healthz", timeout=5)
        assert answer.status_code == 200
        assert store.list() == []  # nothing half-stored from the cut body
    store.close()


def test_any_other_error_keeps_its_stack_for_the_operator(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'backend.db'}")
    httpd = make_server(Backend(store, {KEY.key_id: KEY.secret}), "127.0.0.1", 0)
    try:
        with caplog.at_level(logging.INFO, logger="backend.app"):
            try:
                raise KeyError("a bug in a handler")
            except KeyError:
                httpd.handle_error(None, ("127.0.0.1", 40000))
        (record,) = [r for r in caplog.records if r.name == "backend.app"]
        assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[0] is KeyError
    finally:
        httpd.server_close()
        store.close()
