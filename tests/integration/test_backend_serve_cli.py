"""``kiosk-backend serve`` as an operator starts it: no shared staff token (per-person tokens),
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

from backend import staff
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


@pytest.mark.parametrize("option", ["--staff-token", "--staff-token-file"])
def test_one_shared_staff_token_is_refused(tmp_path: Path, option: str) -> None:
    """Retired for per-person accounts and tokens (backend/staff.py): serve says what to do."""
    done = subprocess.run(
        [sys.executable, "-m", "backend", "serve", "--store", f"sqlite:///{tmp_path / 'b.db'}",
         option, TOKEN],
        capture_output=True, text=True, env=_env(), timeout=30,
    )  # fmt: skip
    assert done.returncode == 1
    assert "kiosk-backend staff token USER" in done.stderr
    assert TOKEN not in done.stderr


def test_a_persons_token_from_a_file_works_and_nothing_else_does(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    add = subprocess.run(
        [sys.executable, "-m", "backend", "staff", "add", "desk1", "--role", "reviewer", "--store", url],
        input="desk-password-1\n", capture_output=True, text=True, env=_env(), timeout=30,
    )  # fmt: skip
    assert add.returncode == 0, add.stderr
    token_file = tmp_path / "desk1.token"
    made = subprocess.run(
        [sys.executable, "-m", "backend", "staff", "token", "desk1", "--out", str(token_file), "--store", url],
        capture_output=True, text=True, env=_env(), timeout=30,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    token = token_file.read_text(encoding="ascii").strip()
    assert token not in made.stdout  # written to the file only
    with _serve(tmp_path) as (base, pid):
        assert token.encode() not in Path(f"/proc/{pid}/cmdline").read_bytes()  # what `ps` shows
        assert _take(base, token) == 204
        assert _take(base, token[:-1] + ("x" if token[-1] != "x" else "y")) == 401
        assert _take(base, TOKEN) == 401
        assert _take(base, "") == 401


def test_the_token_is_compared_in_constant_time(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    compared: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: str, b: str) -> bool:
        compared.append((a, b))
        return real(a, b)

    monkeypatch.setattr("backend.staff.hmac.compare_digest", spy)
    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    staff.add_account(store, "desk1", "reviewer", "desk-password-1")
    token = staff.create_token(store, "desk1")
    forged = token[:-4] + "AAAA"
    with serving(Backend(store, {})) as httpd:
        assert _take(f"http://127.0.0.1:{httpd.server_port}", forged) == 401
    store.close()
    assert len(compared) == 1 and compared[0][0] != compared[0][1]  # the stored hash vs the forged one's


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
