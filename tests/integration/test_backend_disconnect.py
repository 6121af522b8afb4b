"""A client that vanishes mid-request (the kiosk timed out, lost its link, or was switched off) is a
one-line log entry on the backend, not a stack trace on stderr, and the server keeps answering."""

from __future__ import annotations

import json
import logging
import socket
import struct
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from backend.app import Backend
from backend.lookups import Lookups
from backend.store import open_store
from contract.signing import SigningKey
from tests.conftest import wait_until
from tests.integration.backend_server import serving

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-A1", b"a" * 32)


def _reset_mid_body(port: int) -> None:
    """Send the signed head of a submit and a tenth of its body, then drop the link with a TCP
    reset (signed: an unsigned head is refused before its body is read)."""
    body = b"{" * 1000
    head = "".join(f"{k}: {v}\r\n" for k, v in KEY.sign("POST", "/v1/requests", body).items())
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"POST /v1/requests HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + head.encode()
        + b"Content-Length: 1000\r\n\r\n"
        + body[:100]
    )
    time.sleep(0.2)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_a_client_reset_mid_request_is_logged_in_one_line(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'backend.db'}")
    with serving(Backend(store, {KEY.key_id: KEY.secret})) as httpd:
        with caplog.at_level(logging.INFO, logger="backend.server"):
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


class BrokenLookups(Lookups):
    def handle(
        self, method: str, path: str, data: dict[str, Any], kiosk_id: str = ""
    ) -> tuple[int, dict[str, Any]]:
        raise KeyError("a bug in a handler")


def test_any_other_error_keeps_its_stack_for_the_operator(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'backend.db'}")
    with serving(Backend(store, {KEY.key_id: KEY.secret}, lookups=BrokenLookups())) as httpd:
        url = f"http://127.0.0.1:{httpd.server_port}"
        body = json.dumps({"plate": "京A12345"}).encode()
        with caplog.at_level(logging.INFO):
            answer = requests.post(
                url + "/v1/lookup/vehicle", data=body, headers=KEY.sign("POST", "/v1/lookup/vehicle", body)
            )
            assert answer.status_code == 500
            wait_until(lambda: any(r.exc_info for r in caplog.records), what="the error logged")
        (record,) = [r for r in caplog.records if r.exc_info]
        assert record.levelno == logging.ERROR and record.exc_info and record.exc_info[0] is KeyError
        assert requests.get(url + "/healthz", timeout=5).status_code == 200
    store.close()
