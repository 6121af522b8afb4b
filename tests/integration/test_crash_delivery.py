"""The issue's proof: N requests, the delivery process and the backend each killed with SIGKILL at
random moments many times and restarted, until the outbox is empty; then the backend holds exactly
N distinct requests and the kiosk N acknowledged.

Small by default (CI); scale with ``KIOSK_CRASH_N`` (requests), ``KIOSK_CRASH_KILLS`` (kills) and
``KIOSK_CRASH_SEED`` (to replay a run).
"""

from __future__ import annotations

import json
import os
import random
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.config.model import load_config
from kiosk.queue.delivery import open_outbox
from kiosk.tech.config_init import init_site

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
N = int(os.environ.get("KIOSK_CRASH_N", "150"))
KILLS = int(os.environ.get("KIOSK_CRASH_KILLS", "12"))
SEED = int(os.environ.get("KIOSK_CRASH_SEED", str(random.randrange(1 << 30))))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Proc:
    """A restartable child process."""

    def __init__(self, cmd: list[str], env: dict[str, str], log: Path) -> None:
        self.cmd, self.env, self.log = cmd, env, log
        self.p: subprocess.Popen[bytes] | None = None

    def ensure(self) -> None:
        if self.p is None or self.p.poll() is not None:
            with self.log.open("ab") as fh:
                self.p = subprocess.Popen(self.cmd, env=self.env, stdout=fh, stderr=fh, cwd=REPO)

    def kill(self) -> None:
        if self.p is not None and self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
            self.p.wait()

    def exited_ok(self) -> bool:
        return self.p is not None and self.p.poll() == 0


def test_exactly_once_in_effect_through_sigkills(tmp_path: Path, store_url: str) -> None:
    rng = random.Random(SEED)
    port = _free_port()
    site = init_site(tmp_path / "kiosk", backend=f"http://127.0.0.1:{port}", kiosk_id="KIOSK-CRASH")
    config = load_config(site, validate_devices=False, environ={})
    batches = [range(k, N, KILLS) for k in range(KILLS)]  # submissions keep arriving between crashes
    env = dict(
        os.environ, PYTHONPATH=str(REPO), KIOSK__BACKEND__RETRY_BASE_S="0.05", KIOSK__BACKEND__RETRY_CAP_S="1"
    )
    backend = Proc(
        [
            sys.executable,
            "-m",
            "backend",
            "serve",
            "--store",
            store_url,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--trust",
            str(site.parent),
            "--answer-delay-ms",
            "10",
        ],
        env,
        tmp_path / "backend.log",
    )
    deliverer = Proc(
        [
            sys.executable,
            "-m",
            "kiosk.tech",
            "queue",
            "deliver",
            "--until-empty",
            "--config",
            str(site),
        ],
        env,
        tmp_path / "deliver.log",
    )
    try:
        for batch in batches:
            with open_outbox(config) as outbox:
                for i in batch:
                    outbox.submit("system.test", 1, {"fields": {"note": f"crash {i}"}}, test=True)
            backend.ensure()
            deliverer.ensure()
            time.sleep(rng.uniform(0.05, 0.8))  # a random moment to crash at (not a timing assertion)
            victim = rng.choice(["backend", "deliverer", "both"])
            if victim in ("backend", "both"):
                backend.kill()
            if victim in ("deliverer", "both"):
                deliverer.kill()
        deadline = time.monotonic() + 120
        while True:  # now let them finish: restart whatever stops until the outbox is empty
            backend.ensure()
            if deliverer.exited_ok():
                with open_outbox(config) as outbox:
                    if outbox.status().pending == 0:
                        break
            deliverer.ensure()
            assert time.monotonic() < deadline, f"outbox not empty in time (seed {SEED})"
            time.sleep(0.05)
    finally:
        deliverer.kill()
        backend.kill()
    with open_outbox(config) as outbox:
        status = outbox.status()
    stats = json.loads(
        subprocess.run(
            [sys.executable, "-m", "backend", "stats", "--store", store_url, "--json"],
            env=env,
            cwd=REPO,
            capture_output=True,
            check=True,
            text=True,
        ).stdout
    )
    print(f"seed {SEED}: {N} requests, {KILLS} kills, {stats['duplicates']} duplicates absorbed")
    assert (status.pending, status.acknowledged, status.dead) == (0, N, 0), f"seed {SEED}"
    assert stats["requests"] == N, f"seed {SEED}"
