"""Help alerts: a resident touched 呼叫帮助 and staff must come to this kiosk.

An alert carries no personal data: the kiosk id, where the resident is (screen, service, step) and
when. It is committed to a small SQLite queue (``<data_dir>/alerts.db``, WAL, synchronous=FULL)
before the resident is told staff were notified, then a sender thread posts it, signed like
requests, to ``POST /v1/alerts`` and retries with capped exponential backoff until the backend
stores it. The alert id makes a retry harmless: the backend keeps one row per id.

A second touch while an alert from the same visit is still open raises nothing new (no spam).
"""

from __future__ import annotations

import json
import logging
import random
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kiosk.errors import BackendRejected, BackendUnavailable, KioskError

log = logging.getLogger(__name__)

_SCHEMA = """CREATE TABLE IF NOT EXISTS alerts (
    alert_id TEXT PRIMARY KEY, raised_at TEXT NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
)"""


@dataclass(frozen=True)
class Alert:
    alert_id: str
    kiosk_id: str
    screen: str
    service: str
    step: str
    raised_at: str  # UTC, ISO 8601

    def document(self) -> dict[str, str]:
        """The wire body of ``POST /v1/alerts`` (schema in the backend's OpenAPI document)."""
        return {
            "alert_id": self.alert_id,
            "kiosk_id": self.kiosk_id,
            "kind": "help",
            "screen": self.screen,
            "service": self.service,
            "step": self.step,
            "raised_at": self.raised_at,
        }


class AlertQueue:
    """The durable queue of help alerts and the thread that delivers them."""

    def __init__(
        self,
        path: Path,
        kiosk_id: str,
        client_factory: Callable[[], Any] | None = None,
        *,
        retry_base_s: float = 1.0,
        retry_cap_s: float = 60.0,
    ) -> None:
        self.path = path
        self.kiosk_id = kiosk_id
        self.client_factory = client_factory
        self.retry_base_s = retry_base_s
        self.retry_cap_s = retry_cap_s
        self.last_error = ""
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._db.execute(_SCHEMA)
        except sqlite3.Error as exc:
            raise KioskError(f"alert queue {path} cannot be opened: {exc}") from exc

    # -- raising (UI thread: one small committed insert) ---------------------------------------

    def raise_help(self, screen: str, service: str = "", step: str = "") -> Alert:
        alert = Alert(
            alert_id=str(uuid.uuid4()),
            kiosk_id=self.kiosk_id,
            screen=screen,
            service=service,
            step=step,
            raised_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        with self._lock:
            self._db.execute(
                "INSERT INTO alerts (alert_id, raised_at, body) VALUES (?, ?, ?)",
                (alert.alert_id, alert.raised_at, json.dumps(alert.document())),
            )
        log.warning("help requested at %s (service %s, step %s): alert %s queued",
                    screen, service or "-", step or "-", alert.alert_id)  # fmt: skip
        self._wake.set()
        return alert

    def pending(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute(
                "SELECT alert_id, raised_at, attempts, last_error FROM alerts WHERE status = 'pending'"
                " ORDER BY raised_at"
            ).fetchall()
        return [dict(zip(("alert_id", "raised_at", "attempts", "last_error"), r, strict=True)) for r in rows]

    def status_of(self, alert_id: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT status FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
        return None if row is None else str(row[0])

    # -- delivery (its own thread) -------------------------------------------------------------

    def send_pending(self) -> int:
        """Try every pending alert once (on the calling thread). Returns how many were stored."""
        if self.client_factory is None:
            return 0
        with self._lock:
            rows = self._db.execute(
                "SELECT alert_id, body FROM alerts WHERE status = 'pending' ORDER BY raised_at"
            ).fetchall()
        if not rows:
            return 0
        sent = 0
        try:
            client = self.client_factory()
        except BackendUnavailable as exc:
            self.last_error = str(exc)
            return 0
        try:
            for alert_id, body in rows:
                try:
                    client.alert(json.loads(body))
                except BackendUnavailable as exc:
                    self._failed(alert_id, str(exc), permanent=False)
                    break  # the backend is away: the rest wait for the next try
                except BackendRejected as exc:
                    self._failed(alert_id, str(exc), permanent=True)
                    continue
                with self._lock:
                    self._db.execute(
                        "UPDATE alerts SET status = 'sent', attempts = attempts + 1, last_error = ''"
                        " WHERE alert_id = ?",
                        (alert_id,),
                    )
                sent += 1
                self.last_error = ""
                log.info("help alert %s delivered", alert_id)
        finally:
            client.close()
        return sent

    def _failed(self, alert_id: str, error: str, *, permanent: bool) -> None:
        self.last_error = error
        status = "rejected" if permanent else "pending"
        with self._lock:
            self._db.execute(
                "UPDATE alerts SET status = ?, attempts = attempts + 1, last_error = ? WHERE alert_id = ?",
                (status, error[:500], alert_id),
            )
        log.error("help alert %s not delivered (%s): %s", alert_id, status, error)

    def start(self, client_factory: Callable[[], Any] | None = None) -> None:
        if client_factory is not None:
            self.client_factory = client_factory
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="alerts", daemon=True)
            self._thread.start()
        self._wake.set()

    def _run(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.send_pending()
            except Exception:  # a bug here must not silence help requests for good
                log.exception("alert delivery failed unexpectedly")
            if self.pending():
                failures += 1
                delay = random.uniform(0, min(self.retry_cap_s, self.retry_base_s * 2**failures))
                self._wake.wait(max(delay, 0.05))
            else:
                failures = 0
                self._wake.wait(30.0)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        with self._lock:
            self._db.close()


def wait_until_sent(queue: AlertQueue, alert_id: str, timeout_s: float = 10.0) -> bool:
    """For tests and the technician CLI: poll until the alert left the queue."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if queue.status_of(alert_id) == "sent":
            return True
        time.sleep(0.05)
    return False
