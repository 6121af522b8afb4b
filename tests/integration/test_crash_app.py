"""Crash consistency of the real kiosk app: SIGKILL during submit, during printing, during delivery,
and of the backend mid-delivery, at seeded random moments, repeated; then 0 requests lost and 0
duplicated, and after each crash the kiosk comes back on the attract screen with no trace of the
killed visit.

The kiosk is the real app in a child process (``tests/integration/crash_kiosk.py``: real window
under the same Xvfb display, simulated devices, the self-test machinery playing a resident through
``household-certificate``); the reference backend is a separate process (SQLite store in tmp), so
killing one never kills the other. Moments to kill at are found from what the child reports on
stdout (the step it shows, "submitted" shown) plus a seeded random delay.

Short in CI; ``KIOSK_CRASH_RUNS`` (kiosk runs, each usually ending in a kill) and
``KIOSK_CRASH_SEED`` (to replay) make it long.
"""

from __future__ import annotations

import json
import os
import queue
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kiosk.tech.config_init import init_site
from tests.integration.test_crash_delivery import Proc, _free_port

REPO = Path(__file__).resolve().parents[2]
RUNS = int(os.environ.get("KIOSK_CRASH_RUNS", "4"))
SEED = int(os.environ.get("KIOSK_CRASH_SEED", str(random.randrange(1 << 30))))
# each run (a kiosk start, one or two visits, a kill) takes 5-20 s on a loaded 2-core machine
pytestmark = [pytest.mark.integration, pytest.mark.slow, pytest.mark.timeout(max(300, RUNS * 40))]
SERVICE = "household-certificate"
PHASES = ("submit", "print", "delivery", "backend")
# the simulated card's identity (drivers/idcard/sim_cards.toml, card.resident): never on screen
# after a restart
PERSONAL = ("张三丰", "99010119800315031X", "0315031X")


class KioskChild:
    """The kiosk app in a child process; its stdout events arrive on a queue."""

    def __init__(
        self, site: Path, env: dict[str, str], log: Path, sessions: int, service: str = SERVICE
    ) -> None:
        cmd = [sys.executable, "-m", "tests.integration.crash_kiosk", "--config", str(site)]
        cmd += ["--service", service, "--sessions", str(sessions)]
        self.log = log.open("ab")
        self.p = subprocess.Popen(cmd, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=self.log)
        self.events: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.p.stdout is not None
        try:
            for line in self.p.stdout:
                try:
                    self.events.put(json.loads(line))
                except ValueError:
                    continue  # a library printing to stdout
        except (OSError, ValueError):
            pass  # the pipe was closed after a kill
        self.events.put({"event": "exit"})

    def wait_for(self, wanted: Any, timeout_s: float = 90) -> dict[str, Any]:
        """The first event for which ``wanted(event)`` holds (or the child's exit)."""
        deadline = time.monotonic() + timeout_s
        while True:
            left = deadline - time.monotonic()
            assert left > 0, f"kiosk child: nothing matching within {timeout_s} s; saw {self.seen[-5:]}"
            try:
                event = self.events.get(timeout=left)
            except queue.Empty:
                continue
            self.seen.append(event)
            if event["event"] == "exit" or wanted(event):
                return event

    def drain_events(self) -> None:
        while not self.events.empty():
            self.seen.append(self.events.get_nowait())

    def kill(self) -> None:
        if self.p.poll() is None:
            self.p.send_signal(signal.SIGKILL)
        self.p.wait()
        if self.p.stdout is not None:
            self.p.stdout.close()
        self.log.close()

    def shown(self) -> set[str]:
        self.drain_events()
        return {e["request_id"] for e in self.seen if e["event"] == "submitted_shown"}


def _outbox_ids(path: Path) -> dict[str, str]:
    if not path.exists():
        return {}
    with sqlite3.connect(path, timeout=30) as db:
        return dict(db.execute("SELECT request_id, status FROM requests").fetchall())


def _backend_rows(path: Path) -> list[tuple[str, str, int]]:
    with sqlite3.connect(path, timeout=30) as db:
        return db.execute("SELECT request_id, kiosk_id, sequence FROM requests").fetchall()


def _assert_clean_start(event: dict[str, Any]) -> None:
    assert event["event"] == "started", event
    assert event["screen"] == "attract" and not event["session"], event
    shown = "\n".join(event["texts"])
    assert not [p for p in PERSONAL if p in shown], f"personal data on the first screen: {shown!r}"


def test_kiosk_app_sigkill_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    rng = random.Random(SEED)
    print(f"crash-app seed {SEED} ({RUNS} runs)")
    port = _free_port()
    site = init_site(tmp_path / "kiosk", backend=f"http://127.0.0.1:{port}", kiosk_id="KIOSK-CRASHAPP")
    store = tmp_path / "backend.db"
    env = dict(
        os.environ, PYTHONPATH=str(REPO), KIOSK__BACKEND__RETRY_BASE_S="0.05", KIOSK__BACKEND__RETRY_CAP_S="1"
    )
    backend = Proc(
        [sys.executable, "-m", "backend", "serve", "--store", f"sqlite:///{store}", "--host", "127.0.0.1",
         "--port", str(port), "--trust", str(site.parent), "--answer-delay-ms", "300"],
        env, tmp_path / "backend.log",
    )  # fmt: skip
    outbox_path = site.parent / "data" / "outbox.db"
    shown: set[str] = set()  # requests whose "submitted" a resident saw
    kills = {phase: 0 for phase in PHASES}
    started = time.monotonic()
    children: list[KioskChild] = []
    backend.ensure()
    try:
        for run in range(RUNS):
            phase = PHASES[run % len(PHASES)] if run < len(PHASES) else rng.choice(PHASES)
            child = KioskChild(site, env, tmp_path / "kiosk.log", sessions=2)
            children.append(child)
            _assert_clean_start(child.wait_for(lambda e: e["event"] == "started"))
            if phase in ("submit", "print"):
                child.wait_for(lambda e, s=phase: e["event"] == "screen" and e["step"] == s)
                time.sleep(rng.uniform(0.0, 0.4))
            else:  # delivery is in flight while the backend waits 300 ms before answering
                child.wait_for(lambda e: e["event"] == "submitted_shown")
                time.sleep(rng.uniform(0.0, 0.5))
            if phase == "backend":
                backend.kill()
                time.sleep(rng.uniform(0.1, 1.0))
                backend.ensure()
                end = child.wait_for(lambda e: e["event"] == "drained", timeout_s=180)
                assert end["event"] == "drained", f"kiosk did not recover from a backend crash (seed {SEED})"
                child.p.wait(timeout=60)
            else:
                child.kill()
            kills[phase] += 1
            shown |= child.shown()
            committed = _outbox_ids(outbox_path)
            assert shown <= set(committed), f"'submitted' shown for an uncommitted request (seed {SEED})"
        # restart the kiosk once more: it comes up clean and delivers what the crashes left behind
        child = KioskChild(site, env, tmp_path / "kiosk.log", sessions=0)
        children.append(child)
        _assert_clean_start(child.wait_for(lambda e: e["event"] == "started"))
        assert child.wait_for(lambda e: e["event"] == "drained", timeout_s=180)["event"] == "drained"
        child.p.wait(timeout=60)
    finally:
        for child in children:
            child.kill()
        backend.kill()
    committed = _outbox_ids(outbox_path)
    rows = _backend_rows(store)
    ids = [r[0] for r in rows]
    sequences = [(r[1], r[2]) for r in rows]
    lost = set(committed) - set(ids)
    duplicated = len(ids) - len(set(ids)) + len(sequences) - len(set(sequences))
    unknown = set(ids) - set(committed)
    stats = json.loads(
        subprocess.run(
            [sys.executable, "-m", "backend", "stats", "--store", f"sqlite:///{store}", "--json"],
            env=env, cwd=REPO, capture_output=True, check=True, text=True,
        ).stdout
    )  # fmt: skip
    print(
        f"crash-app seed {SEED}: {RUNS} runs, kills {kills}, {len(committed)} requests committed, "
        f"{len(shown)} shown as submitted, lost={len(lost)}, duplicated={duplicated}, "
        f"duplicates absorbed by the backend={stats['duplicates']}, {time.monotonic() - started:.0f} s"
    )
    assert set(committed.values()) <= {"acknowledged"}, f"outbox not settled: {committed} (seed {SEED})"
    assert not lost and not unknown and duplicated == 0, f"seed {SEED}: {lost=} {unknown=} {duplicated=}"
    assert shown <= set(ids) and len(committed) >= len(shown) >= 1
