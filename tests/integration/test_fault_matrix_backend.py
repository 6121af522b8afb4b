"""Fault matrix, delivery level: every backend fault on the wire × the kiosk's two ways of talking
to the backend (the delivery thread and the signed look-ups).

A real reference backend (SQLite store) listens behind :class:`tests.fault_proxy.FaultProxy`; the
kiosk's real :class:`DeliveryWorker` + :class:`HttpSender` and :class:`BackendClient` talk to the
proxy over real sockets. Each cell injects one fault, checks the kiosk neither loses, duplicates
nor dead-letters anything while it lasts, clears it, and checks every request reached the backend
exactly once. The matrix is generated from the tables below, so its size is countable:
``len(BACKEND_FAULTS) * len(CHANNELS)``.
"""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.app import Backend, make_server, tls_context
from backend.store import Store, open_store
from contract.signing import SigningKey
from kiosk.errors import BackendError
from kiosk.queue.client import BackendClient
from kiosk.queue.delivery import Backoff, DeliveryWorker, HttpSender
from kiosk.queue.outbox import Outbox
from tests.conftest import wait_until
from tests.fault_proxy import FaultProxy

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-FAULTS", b"f" * 32)
READ_TIMEOUT_S = 0.6  # the kiosk's read timeout in these cells (a held request times out fast)

# backend fault -> what it looks like on the wire (documentation for the report and the ids)
BACKEND_FAULTS: dict[str, str] = {
    "timeout": "request read, never answered",
    "http500": "500 Internal Server Error",
    "http503": "503 with Retry-After",
    "http429": "429 with Retry-After",
    "reset": "connection reset (RST) before an answer",
    "lost_answer": "backend stored it, the answer was lost (reset)",
    "tls": "TLS handshake with a certificate the kiosk does not trust",
    "wrong_key": "signature refused by the backend (401)",
    "clock_skew": "timestamp 15 min old, refused by the backend (401)",
}
CHANNELS = ("delivery", "lookup")
MATRIX = [(fault, channel) for fault in BACKEND_FAULTS for channel in CHANNELS]
REQUESTS_PER_CELL = 3


def _self_signed(folder: Path, name: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
         "-addext", "subjectAltName=IP:127.0.0.1"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@dataclass
class Rig:
    store: Store
    proxy: FaultProxy
    ca_file: str | None


@pytest.fixture
def rig(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    fault = request.node.callspec.params["fault"]
    store = open_store(f"sqlite:///{tmp_path / 'backend.db'}")
    httpd = make_server(Backend(store, {KEY.key_id: KEY.secret}), "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    ca_file = None
    tls = untrusted = None
    if fault == "tls":  # this cell's kiosk talks HTTPS to the proxy, as to a production backend
        if shutil.which("openssl") is None:
            pytest.skip("the openssl command is not installed")
        cert, key = _self_signed(tmp_path, "proxy")
        other_cert, other_key = _self_signed(tmp_path, "impostor")
        tls, untrusted = tls_context(str(cert), str(key)), tls_context(str(other_cert), str(other_key))
        ca_file = str(cert)
    proxy = FaultProxy(f"http://127.0.0.1:{httpd.server_port}", tls=tls, untrusted=untrusted, hold_s=10)
    proxy.start()
    try:
        yield Rig(store, proxy, ca_file)
    finally:
        proxy.close()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        store.close()


def test_matrix_size_is_the_product_of_its_tables() -> None:
    print(f"\nbackend fault matrix: {len(BACKEND_FAULTS)} faults x {len(CHANNELS)} channels = {len(MATRIX)}")
    assert len(MATRIX) == len(BACKEND_FAULTS) * len(CHANNELS) == 18


@pytest.mark.parametrize(("fault", "channel"), MATRIX)
def test_backend_fault(fault: str, channel: str, rig: Rig, tmp_path: Path) -> None:
    if channel == "delivery":
        _delivery_cell(fault, rig, tmp_path)
    else:
        _lookup_cell(fault, rig)


def _delivery_cell(fault: str, rig: Rig, tmp_path: Path) -> None:
    proxy = rig.proxy
    sender = HttpSender(
        proxy.url, KEY, ca_file=rig.ca_file, connect_timeout_s=2, read_timeout_s=READ_TIMEOUT_S
    )
    with Outbox(tmp_path / "outbox.db", KEY.key_id) as outbox:
        worker = DeliveryWorker(outbox, sender, backoff=Backoff(base_s=0.05, cap_s=0.3))
        proxy.set(fault)
        ids = [
            outbox.submit("system.test", 1, {"fields": {"note": f"{fault} {i}"}}, test=True).request_id
            for i in range(REQUESTS_PER_CELL)
        ]
        worker.start()
        try:
            assert proxy.wait_for(fault, 2), f"the {fault} fault was never met"
            during = outbox.status()
            assert (during.pending, during.acknowledged, during.dead) == (REQUESTS_PER_CELL, 0, 0)
            if fault != "lost_answer":
                assert rig.store.stats()["requests"] == 0  # nothing got through the fault
            proxy.set("pass")
            worker.wake()
            wait_until(lambda: outbox.status().pending == 0, 20, "delivery after the fault cleared")
        finally:
            worker.stop()
            sender.close()
        after = outbox.status()
        assert (after.pending, after.acknowledged, after.dead) == (0, REQUESTS_PER_CELL, 0)
        stats = rig.store.stats()
        assert stats["requests"] == REQUESTS_PER_CELL  # exactly once: none lost, none twice
        for request_id in ids:
            assert rig.store.status(request_id) is not None
        if fault == "lost_answer":
            assert stats["duplicates"] >= 1  # the retry was recognised, not stored again


def _lookup_cell(fault: str, rig: Rig) -> None:
    proxy = rig.proxy
    client = BackendClient(
        proxy.url, KEY, ca_file=rig.ca_file, connect_timeout_s=2, read_timeout_s=READ_TIMEOUT_S
    )
    try:
        proxy.set(fault)
        with pytest.raises(BackendError) as caught:
            client.vehicle("京A10000")
        # the proxy counts a failed TLS handshake on its own thread, maybe after the client gave up
        assert proxy.wait_for(fault, timeout_s=5)
        assert "990000199001010017" not in str(caught.value)  # the cause names no personal data
        proxy.set("pass")
        vehicle = client.vehicle("京A10000")  # the same client works again once the fault clears
        assert vehicle is not None and vehicle["plate"] == "京A10000"
    finally:
        client.close()
