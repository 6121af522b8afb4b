"""Scale-out's proof: ``kiosk-backend serve --workers 2`` on PostgreSQL (and on SQLite, where
several workers are not the deployment but must be as safe), a kiosk delivering N
requests, and worker processes killed with SIGKILL mid-ingest (each answer is held back a few
milliseconds after the commit, so a kill often lands between storing a request and answering it);
the supervisor starts a new worker, the kiosk retries, and the store holds every request exactly
once while the kiosk has every one acknowledged.

Small by default (CI); scale with ``KIOSK_WORKER_CRASH_N`` and ``KIOSK_WORKER_CRASH_KILLS``.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from backend.store import open_store
from contract.signing import SigningKey
from kiosk.queue.delivery import Backoff, HttpSender, deliver_until_empty
from kiosk.queue.outbox import Outbox
from tests.conftest import wait_until

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
N = int(os.environ.get("KIOSK_WORKER_CRASH_N", "120"))
KILLS = int(os.environ.get("KIOSK_WORKER_CRASH_KILLS", "4"))
KEY = SigningKey("KEY-W1", b"w" * 32)
KIOSK_ID = "KIOSK-W1"


def _workers(parent: int) -> list[int]:
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    return [int(pid) for pid in children]


def test_a_worker_killed_mid_ingest_loses_and_doubles_nothing(tmp_path: Path, store_url: str) -> None:
    key_file = tmp_path / "k.hex"
    key_file.write_text(KEY.secret.hex(), encoding="ascii")
    cmd = [
        sys.executable, "-m", "backend", "serve", "--store", store_url, "--port", "0", "--workers", "2",
        "--answer-delay-ms", "15", "--trust-key", f"{KEY.key_id}:{KIOSK_ID}={key_file}",
    ]  # fmt: skip
    log = (tmp_path / "serve.log").open("wb")
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=log, env={**os.environ, "PYTHONPATH": str(REPO)}
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert line.startswith("listening on "), line
        url = line.split()[2]
        wait_until(lambda: len(_workers(proc.pid)) == 2, timeout_s=20, what="two workers")
        with Outbox(tmp_path / "outbox.db", KIOSK_ID) as outbox:
            ids = [
                outbox.submit("system.test", 1, {"fields": {"note": f"crash {i}"}}, test=True).request_id
                for i in range(N)
            ]
            sender = HttpSender(url, KEY, read_timeout_s=5)
            delivered: list[int] = []
            thread = threading.Thread(
                target=lambda: delivered.append(
                    deliver_until_empty(
                        outbox, sender, backoff=Backoff(base_s=0.02, cap_s=0.2), timeout_s=120
                    )
                )
            )
            thread.start()
            rng = random.Random(N)
            killed = []
            store = open_store(store_url)
            try:
                for k in range(KILLS):
                    target = (k + 1) * N // (KILLS + 1)  # spread the kills over the delivery
                    wait_until(
                        lambda t=target: store.stats()["requests"] >= t, timeout_s=60, what=f"{target}"
                    )
                    victim = rng.choice(_workers(proc.pid))
                    os.kill(victim, signal.SIGKILL)
                    killed.append(victim)
                    wait_until(
                        lambda v=victim: v not in _workers(proc.pid) and len(_workers(proc.pid)) == 2,
                        timeout_s=20,
                        what="the killed worker replaced",
                    )
                thread.join(150)
                assert not thread.is_alive()
                sender.close()
                stored = store.list(limit=N + 10)
                stats = store.stats()
            finally:
                store.close()
            status = outbox.status()
        assert len(killed) == KILLS
        print(f"\n{KILLS} workers killed; {stats['duplicates']} stored-but-unanswered requests absorbed")
        assert sorted(r["request_id"] for r in stored) == sorted(ids)  # each once: the primary key
        assert stats["requests"] == N
        assert status.acknowledged == N and status.pending == 0 and status.dead == 0
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
        log.close()
        if proc.stdout is not None:
            proc.stdout.close()
