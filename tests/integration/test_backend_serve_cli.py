"""``kiosk-backend serve`` as an operator starts it: the staff token never on the command line,
key files refused when unusable, ``--simulate`` for the test hooks, and the kiosk's local backend.

Issue 20: the staff token was passed on the command line (visible in ``ps``) and compared with
``!=``; an empty key file enrolled the key ``b""``.
"""

from __future__ import annotations

import hmac
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from backend.app import Backend
from backend.store import open_store
from contract.signing import SigningKey
from kiosk.queue.local_backend import LocalBackend
from tests.integration.backend_server import serving

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "staff-token-0123456789abcdef"
KEY = SigningKey("KEY-S1", b"s" * 32)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "KIOSK_BACKEND_STAFF_TOKEN"}
    env["PYTHONPATH"] = str(ROOT)
    return {**env, **extra}


@contextmanager
def _serve(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, int]]:
    cmd = [
        sys.executable,
        "-m",
        "backend",
        "serve",
        "--store",
        f"sqlite:///{tmp_path / 'b.db'}",
        "--port",
        "0",
    ]
    proc = subprocess.Popen([*cmd, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env or _env())
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("listening on "), (line, proc.stderr.read().decode() if proc.stderr else "")
        yield line.split()[2], proc.pid
    finally:
        proc.terminate()
        proc.wait(10)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


def _take(url: str, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    return requests.post(url + "/v1/jobs/take", data=b"{}", headers=headers, timeout=5).status_code


def test_a_staff_token_on_the_command_line_is_refused(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "backend", "serve", "--store", f"sqlite:///{tmp_path / 'b.db'}",
         "--staff-token", TOKEN],
        capture_output=True, text=True, env=_env(), timeout=30,
    )  # fmt: skip
    assert done.returncode == 1
    assert "--staff-token-file" in done.stderr and "KIOSK_BACKEND_STAFF_TOKEN" in done.stderr
    assert TOKEN not in done.stderr


@pytest.mark.parametrize("source", ["env", "file"])
def test_the_staff_token_comes_from_a_file_or_the_environment(tmp_path: Path, source: str) -> None:
    if source == "file":
        token_file = tmp_path / "staff.token"
        token_file.write_text(TOKEN + "\n", encoding="utf-8")
        ctx = _serve(tmp_path, "--staff-token-file", str(token_file))
    else:
        ctx = _serve(tmp_path, env=_env(KIOSK_BACKEND_STAFF_TOKEN=TOKEN))
    with ctx as (url, pid):
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert TOKEN.encode() not in cmdline  # what `ps` shows
        assert _take(url, TOKEN) == 204
        assert _take(url, TOKEN[:-1] + "x") == 401
        assert _take(url, "") == 401


def test_without_a_token_the_staff_api_is_off(tmp_path: Path) -> None:
    with _serve(tmp_path) as (url, _):
        assert _take(url, TOKEN) == 404


def test_the_staff_token_is_compared_in_constant_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    compared: list[tuple[bytes, bytes]] = []
    real = hmac.compare_digest

    def spy(a: bytes, b: bytes) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr("backend.asgi.hmac.compare_digest", spy)
    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    with serving(Backend(store, {}, staff_token=TOKEN)) as httpd:
        assert _take(f"http://127.0.0.1:{httpd.server_port}", "guess") == 401
    store.close()
    assert (b"Bearer guess", f"Bearer {TOKEN}".encode()) in compared


@pytest.mark.parametrize("content", ["", "00ff"])
def test_an_empty_or_short_key_file_stops_serve_with_one_line(tmp_path: Path, content: str) -> None:
    key = tmp_path / "kiosk.hex"
    key.write_text(content, encoding="ascii")
    done = subprocess.run(
        [sys.executable, "-m", "backend", "serve", "--store", f"sqlite:///{tmp_path / 'b.db'}",
         "--trust-key", f"K1={key}"],
        capture_output=True, text=True, env=_env(), timeout=30,
    )  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "kiosk.hex" in done.stderr, done.stderr
    assert "empty" in done.stderr or "too short" in done.stderr


def test_the_kiosk_local_backend_passes_simulate_and_its_kiosk_id(tmp_path: Path) -> None:
    key_file = tmp_path / "hmac.key"
    key_file.write_text(KEY.secret.hex(), encoding="ascii")
    with LocalBackend(tmp_path / "backend", {f"{KEY.key_id}:KIOSK-S1": key_file}) as local:
        assert "--simulate" in local.command()
        body = json.dumps({"amount_fen": 5}).encode()
        created = requests.post(
            local.url + "/v1/payments", data=body, headers=KEY.sign("POST", "/v1/payments", body), timeout=5
        ).json()
        path = f"/v1/payments/{created['payment_id']}/simulate-paid"
        paid = requests.post(local.url + path, headers=KEY.sign("POST", path, b""), timeout=5)
        assert paid.status_code == 200 and paid.json()["status"] == "paid"
        beat = json.dumps({"kiosk_id": "KIOSK-S1", "health": {}}).encode()
        answer = requests.post(
            local.url + "/v1/heartbeat", data=beat, headers=KEY.sign("POST", "/v1/heartbeat", beat), timeout=5
        )
        assert answer.status_code == 200, answer.text


def test_serve_without_simulate_has_no_simulate_paid(tmp_path: Path) -> None:
    key_file = tmp_path / "hmac.key"
    key_file.write_text(KEY.secret.hex(), encoding="ascii")
    with _serve(tmp_path, "--trust-key", f"{KEY.key_id}={key_file}") as (url, _):
        body = json.dumps({"amount_fen": 5}).encode()
        created = requests.post(
            url + "/v1/payments", data=body, headers=KEY.sign("POST", "/v1/payments", body), timeout=5
        ).json()
        path = f"/v1/payments/{created['payment_id']}/simulate-paid"
        assert requests.post(url + path, headers=KEY.sign("POST", path, b""), timeout=5).status_code == 404
