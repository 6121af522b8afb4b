"""Maintenance access for technicians: a hashed PIN, lockout with growing delay, an audit log.

The PIN is stored only as a memory-hard scrypt hash (stdlib ``hashlib.scrypt``: 16 MiB and ~50 ms
per guess on a kiosk's CPU) in the site configuration. After ``lockout_after`` wrong PINs in a row
the pad refuses input for a delay that doubles with every further failure; the counter survives a
restart (it lives in the data folder). Every entry attempt and every maintenance action is appended
to ``audit.jsonl`` in the data folder and fsync'ed, without personal data.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kiosk.maintenance.textfiles import tail_lines

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PIN_LENGTH = 6


def hash_pin(pin: str, *, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` (base64), for the ``maintenance.pin_hash`` config key."""
    if not (pin.isdigit() and len(pin) >= MIN_PIN_LENGTH):
        raise ValueError(f"a maintenance PIN is at least {MIN_PIN_LENGTH} digits")
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_pin(pin: str, stored: str) -> bool:
    """True when ``pin`` matches ``stored`` (constant-time compare); False for any malformed hash."""
    try:
        scheme, n, r, p, salt_b64, hash_b64 = stored.split("$")
        if scheme != "scrypt":
            return False
        salt, expected = base64.b64decode(salt_b64), base64.b64decode(hash_b64)
        digest = hashlib.scrypt(
            pin.encode(), salt=salt, n=int(n), r=int(r), p=int(p), dklen=len(expected), maxmem=2**26
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(digest, expected)


class AuditLog:
    """Append-only JSON lines, one per event, each fsync'ed.

    :meth:`record` writes before returning (PIN attempts, settings, the command line);
    :meth:`record_later` is for the UI thread (tab switches, page results): the entry is stamped
    now and written, in order, by one writer thread, so an fsync on a slow SD card (tens of ms)
    never costs a frame. :meth:`tail` and :meth:`flush` wait for entries still queued.
    """

    def __init__(self, path: Path, clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        self._lock = threading.Lock()
        self._queue: queue.Queue[str] = queue.Queue()
        self._writer: threading.Thread | None = None
        self._writer_lock = threading.Lock()

    def record(self, action: str, outcome: str = "ok", **detail: Any) -> None:
        self.flush()  # entries queued earlier stay earlier in the file
        self._append(self._line(action, outcome, detail))

    def record_later(self, action: str, outcome: str = "ok", **detail: Any) -> None:
        """Stamp the entry now, write and fsync it on the writer thread (never blocks)."""
        with self._writer_lock:
            self._queue.put(self._line(action, outcome, detail))
            if self._writer is None:
                self._writer = threading.Thread(target=self._write_queued, name="audit-writer", daemon=True)
                self._writer.start()

    def flush(self, timeout_s: float = 5.0) -> bool:
        """Wait until every queued entry is on disk (False if that took longer than ``timeout_s``)."""
        deadline = time.monotonic() + timeout_s
        while self._queue.unfinished_tasks:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.002)
        return True

    def close(self) -> None:
        """At exit: the entries still queued are written (or the technician's log says they were not)."""
        if not self.flush():
            log.error(
                "audit log %s: %d entries still queued at exit", self.path, self._queue.unfinished_tasks
            )

    def _write_queued(self) -> None:
        while True:
            try:
                line = self._queue.get(timeout=30)
            except queue.Empty:  # idle: the thread ends; the next entry starts a new one
                with self._writer_lock:
                    if self._queue.empty():
                        self._writer = None
                        return
                continue
            try:
                self._append(line)
            except OSError as exc:  # a full or read-only disk: say so, keep the kiosk running
                log.error("audit log %s: entry not written (%s): %s", self.path, exc, line.strip())
            finally:
                self._queue.task_done()

    def _line(self, action: str, outcome: str, detail: dict[str, Any]) -> str:
        entry = {"at": round(self.clock(), 3), "action": action, "outcome": outcome, **detail}
        return json.dumps(entry, ensure_ascii=False, sort_keys=True) + "\n"

    def _append(self, line: str) -> None:
        with self._lock:
            self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o600)
            try:
                status = os.fstat(fd)
                if status.st_mode & 0o077:  # made readable by an older version: owner-only now
                    os.fchmod(fd, 0o600)
                size = status.st_size
                if size and os.pread(fd, 1, size - 1) != b"\n":
                    line = "\n" + line  # a power cut tore the last entry: keep this one on its own line
                os.write(fd, line.encode())
                os.fsync(fd)
            finally:
                os.close(fd)

    def tail(self, count: int = 100) -> list[dict[str, Any]]:
        """The last ``count`` entries, newest last; reads only the end (maintenance/textfiles.py).
        A line that is not a JSON object (torn by a power cut mid-write) is skipped, not fatal."""
        self.flush()
        entries: list[dict[str, Any]] = []
        for line in tail_lines(self.path, count):
            try:
                entry = json.loads(line)
            except ValueError:
                continue
            if isinstance(entry, dict):
                entries.append(entry)
        return entries


@dataclass(frozen=True)
class Attempt:
    """The answer to a PIN entry: granted, or refused with how long the pad stays locked."""

    granted: bool
    locked_for_s: float = 0.0
    failures: int = 0
    reason: str = ""  # "wrong_pin" | "locked" | "no_pin_configured"


class MaintenanceGate:
    """Decides whether a PIN opens maintenance mode, with lockout and audit."""

    def __init__(
        self,
        pin_hash: str,
        state_file: Path,
        audit: AuditLog,
        *,
        lockout_after: int = 5,
        base_delay_s: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.pin_hash = pin_hash
        self.state_file = state_file
        self.audit = audit
        self.lockout_after = lockout_after
        self.base_delay_s = base_delay_s
        self.clock = clock
        self._state = self._load()

    def _load(self) -> dict[str, float]:
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            return {"failures": float(data["failures"]), "locked_until": float(data["locked_until"])}
        except (OSError, ValueError, KeyError, TypeError):
            return {"failures": 0.0, "locked_until": 0.0}

    def _save(self) -> None:
        self.state_file.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(self._state), encoding="utf-8")
        tmp.replace(self.state_file)

    @property
    def failures(self) -> int:
        return int(self._state["failures"])

    def locked_for(self) -> float:
        return max(0.0, self._state["locked_until"] - self.clock())

    def try_pin(self, pin: str) -> Attempt:
        """Check a PIN (slow by design: call it from a worker thread, not the UI thread)."""
        if not self.pin_hash:
            self.audit.record("maintenance.enter", "refused", reason="no_pin_configured")
            return Attempt(False, reason="no_pin_configured")
        wait = self.locked_for()
        if wait > 0:
            self.audit.record("maintenance.enter", "refused", reason="locked", locked_for_s=round(wait))
            return Attempt(False, wait, self.failures, "locked")
        if verify_pin(pin, self.pin_hash):
            self._state = {"failures": 0.0, "locked_until": 0.0}
            self._save()
            self.audit.record("maintenance.enter", "granted")
            return Attempt(True)
        self._state["failures"] += 1
        failures = self.failures
        locked = 0.0
        if failures >= self.lockout_after:
            locked = self.base_delay_s * 2 ** (failures - self.lockout_after)
            self._state["locked_until"] = self.clock() + locked
        self._save()
        self.audit.record("maintenance.enter", "refused", reason="wrong_pin", failures=failures)
        return Attempt(False, locked, failures, "wrong_pin")
