"""TLS between the kiosk and the backend: verified against an explicit CA, refused otherwise, and
client certificates when the backend requires them. Certificates are made with the openssl CLI."""

from __future__ import annotations

import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from backend.app import Backend, make_server, tls_context
from backend.store import open_store
from contract.signing import SigningKey
from kiosk.queue.delivery import HttpSender
from kiosk.queue.outbox import Outbox, PendingRequest

pytestmark = pytest.mark.integration
KEY = SigningKey("KIOSK-TLS", b"t" * 32)


def _self_signed(folder: Path, name: str, san: str) -> tuple[Path, Path]:
    cert, key = folder / f"{name}.pem", folder / f"{name}.key"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            f"/CN={name}",
            "-addext",
            f"subjectAltName={san}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def pki(tmp_path: Path) -> dict[str, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("the openssl command is not installed")
    server_cert, server_key = _self_signed(tmp_path, "server", "IP:127.0.0.1")
    other_cert, _ = _self_signed(tmp_path, "other", "IP:127.0.0.1")
    client_cert, client_key = _self_signed(tmp_path, "kiosk", "DNS:kiosk-tls")
    return {
        "server_cert": server_cert,
        "server_key": server_key,
        "other_cert": other_cert,
        "client_cert": client_cert,
        "client_key": client_key,
    }


@contextmanager
def _serve(tmp_path: Path, pki: dict[str, Path], client_ca: str = "") -> Iterator[str]:
    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    tls = tls_context(str(pki["server_cert"]), str(pki["server_key"]), client_ca)
    httpd = make_server(Backend(store, {KEY.key_id: KEY.secret}), "127.0.0.1", 0, tls)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        store.close()


@pytest.fixture
def head(tmp_path: Path) -> Iterator[PendingRequest]:
    with Outbox(tmp_path / "o.db", KEY.key_id) as box:
        box.submit("system.test", 1, {"fields": {"note": "tls"}}, test=True)
        item = box.head()
        assert item is not None
        yield item


def test_tls_is_verified_against_the_configured_ca(
    tmp_path: Path, pki: dict[str, Path], head: PendingRequest
) -> None:
    with _serve(tmp_path, pki) as url:
        trusted = HttpSender(url, KEY, ca_file=str(pki["server_cert"]))
        system_store = HttpSender(url, KEY)
        wrong_ca = HttpSender(url, KEY, ca_file=str(pki["other_cert"]))
        try:
            assert trusted.send(head).http_status == 201
            for sender in (system_store, wrong_ca):
                outcome = sender.send(head)
                assert outcome.verdict == "retry" and outcome.text.startswith("TLS failure")
        finally:
            for s in (trusted, system_store, wrong_ca):
                s.close()


def test_client_certificates_when_the_backend_requires_them(
    tmp_path: Path, pki: dict[str, Path], head: PendingRequest
) -> None:
    with _serve(tmp_path, pki, client_ca=str(pki["client_cert"])) as url:
        without = HttpSender(url, KEY, ca_file=str(pki["server_cert"]))
        with_cert = HttpSender(
            url,
            KEY,
            ca_file=str(pki["server_cert"]),
            client_cert=(str(pki["client_cert"]), str(pki["client_key"])),
        )
        try:
            assert without.send(head).verdict == "retry"
            assert with_cert.send(head).http_status == 201
        finally:
            without.close()
            with_cert.close()


def test_the_serve_command_speaks_https(tmp_path: Path, pki: dict[str, Path], head: PendingRequest) -> None:
    import os
    import sys

    repo = Path(__file__).resolve().parents[2]
    key_file = tmp_path / "kiosk.key"
    key_file.write_text(KEY.secret.hex())
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "backend",
            "serve",
            "--store",
            f"sqlite:///{tmp_path / 'cli.db'}",
            "--port",
            "0",
            "--trust-key",
            f"{KEY.key_id}={key_file}",
            "--tls-cert",
            str(pki["server_cert"]),
            "--tls-key",
            str(pki["server_key"]),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=dict(os.environ, PYTHONPATH=str(repo)),
        cwd=repo,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        assert line.startswith("listening on https://127.0.0.1:"), proc.stderr.read() if proc.stderr else line
        sender = HttpSender(line.removeprefix("listening on "), KEY, ca_file=str(pki["server_cert"]))
        try:
            assert sender.send(head).http_status == 201
        finally:
            sender.close()
    finally:
        proc.terminate()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream:
                stream.close()
    assert proc.returncode == 0  # SIGTERM is a clean stop
