"""Maintenance access for technicians: a hashed PIN, a capped lockout, an audit log.

The PIN is stored only as a memory-hard scrypt hash (stdlib ``hashlib.scrypt``: 16 MiB and ~50 ms
per guess on a kiosk's CPU) in the site configuration. After ``lockout_after`` wrong PINs in a row
the pad refuses input for a delay that doubles with every further failure, up to ``lockout_max_s``
(an hour by default: a prankster tapping wrong PINs cannot lock the technicians out for days). The
counter survives a restart: it lives in ``maintenance-gate.json`` in the data folder, written to a
temporary file, fsync'ed, renamed over the old one and the folder fsync'ed, so a power cut leaves
the old state or the new one; a damaged file is read as "no failures" rather than crashing the pad.
Every check re-reads that file under a lock on the data folder, so ``kiosk-tech maintenance unlock``
(another process) takes effect at once. A lock that starts calls ``on_lockout`` (the composition
root raises a ``maintenance_lockout`` alert to the backend with it). Every entry attempt and every
maintenance action is appended to ``audit.jsonl`` in the data folder and fsync'ed, without
personal data.
"""

from __future__ import annotations

import base64
import fcntl
import hashlib
import hmac
import json
import logging
import math
import os
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.maintenance.textfiles import tail_lines

if TYPE_CHECKING:
    from kiosk.config.model import KioskConfig

log = logging.getLogger(__name__)

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
MIN_PIN_LENGTH = 6
STATE_FILE = "maintenance-gate.json"  # in the data folder: the wrong-PIN count and the lock
AUDIT_FILE = "audit.jsonl"  # in the data folder
MAX_FAILURES = 1_000_000  # a count read from the state file is clamped to this (no overflow)


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


@dataclass(frozen=True)
class Lockout:
    """A lock that just started (what ``on_lockout`` receives): no PIN, no personal data."""

    failures: int
    locked_for_s: float


@dataclass(frozen=True)
class Unlocked:
    """What ``kiosk-tech maintenance unlock`` cleared."""

    failures: int
    locked_for_s: float


_CLEAR = {"failures": 0.0, "locked_until": 0.0}


class MaintenanceGate:
    """Decides whether a PIN opens maintenance mode, with a capped lockout and audit.

    ``on_lockout`` (settable after construction: the queue starts later than the gate) is called
    on the checking thread each time a wrong PIN starts a lock; its failure is logged, never
    raised, since the lock itself is already on disk and audited.
    """

    def __init__(
        self,
        pin_hash: str,
        state_file: Path,
        audit: AuditLog,
        *,
        lockout_after: int = 5,
        base_delay_s: float = 30.0,
        lockout_max_s: float = 3600.0,
        clock: Callable[[], float] = time.time,
        on_lockout: Callable[[Lockout], None] | None = None,
    ) -> None:
        self.pin_hash = pin_hash
        self.state_file = state_file
        self.audit = audit
        self.lockout_after = lockout_after
        self.base_delay_s = base_delay_s
        self.lockout_max_s = max(lockout_max_s, base_delay_s)
        self.clock = clock
        self.on_lockout = on_lockout
        self._state = self._load()

    def _load(self) -> dict[str, float]:
        """The state on disk; a missing, torn or tampered file reads as no failures."""
        try:
            data = json.loads(self.state_file.read_text(encoding="utf-8"))
            failures, locked_until = float(data["failures"]), float(data["locked_until"])
        except FileNotFoundError:
            return dict(_CLEAR)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.warning(
                "maintenance gate state %s unreadable (%s): read as no failures", self.state_file, exc
            )
            return dict(_CLEAR)
        if not (math.isfinite(failures) and math.isfinite(locked_until)):
            log.warning("maintenance gate state %s holds a non-number: read as no failures", self.state_file)
            return dict(_CLEAR)
        return {"failures": float(min(max(int(failures), 0), MAX_FAILURES)), "locked_until": locked_until}

    def _save(self, state: dict[str, float]) -> None:
        """Write ``state`` so that a power cut leaves the old file or the new one, never a torn one:
        a temporary file, fsync'ed, renamed over the state file, then the folder fsync'ed."""
        folder = self.state_file.parent
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / (self.state_file.name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.write(fd, json.dumps(state).encode())
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, self.state_file)
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)  # the rename itself is on disk
        finally:
            os.close(dir_fd)
        self._state = state

    @contextmanager
    def _exclusive(self) -> Iterator[None]:
        """The state as on disk, read under an exclusive lock on the data folder: the app's check
        and a technician's ``unlock`` (another process) never overwrite each other."""
        folder = self.state_file.parent
        folder.mkdir(parents=True, exist_ok=True)
        dir_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(dir_fd, fcntl.LOCK_EX)
            self._state = self._load()
            cap = self.clock() + self.lockout_max_s
            if self._state["locked_until"] > cap:  # written before the cap, or the clock was set back
                self._save({**self._state, "locked_until": cap})
            yield
        finally:
            os.close(dir_fd)  # closing drops the lock

    @property
    def failures(self) -> int:
        return int(self._state["failures"])

    def locked_for(self) -> float:
        """Seconds the pad stays locked (as of the last check or unlock)."""
        return min(self.lockout_max_s, max(0.0, self._state["locked_until"] - self.clock()))

    def delay_after(self, failures: int) -> float:
        """The lock after ``failures`` wrong PINs in a row: 0 below ``lockout_after``, then
        ``base_delay_s`` doubling with each further failure, never more than ``lockout_max_s``."""
        if failures < self.lockout_after:
            return 0.0
        doublings = min(failures - self.lockout_after, 64)  # 2**64 * 1 s is far past any cap
        return min(self.lockout_max_s, self.base_delay_s * 2.0**doublings)

    def try_pin(self, pin: str) -> Attempt:
        """Check a PIN (slow by design: call it from a worker thread, not the UI thread)."""
        if not self.pin_hash:
            self.audit.record("maintenance.enter", "refused", reason="no_pin_configured")
            return Attempt(False, reason="no_pin_configured")
        with self._exclusive():
            wait = self.locked_for()
            if wait > 0:
                outcome = Attempt(False, wait, self.failures, "locked")
            elif verify_pin(pin, self.pin_hash):
                self._save(dict(_CLEAR))
                outcome = Attempt(True)
            else:
                failures = self.failures + 1
                locked = self.delay_after(failures)
                self._save(
                    {"failures": float(failures), "locked_until": self.clock() + locked if locked else 0.0}
                )
                outcome = Attempt(False, locked, failures, "wrong_pin")
        if outcome.granted:
            self.audit.record("maintenance.enter", "granted")
        elif outcome.reason == "locked":
            self.audit.record("maintenance.enter", "refused", reason="locked", locked_for_s=round(wait))
        else:
            detail: dict[str, Any] = (
                {"locked_for_s": round(outcome.locked_for_s)} if outcome.locked_for_s else {}
            )
            self.audit.record(
                "maintenance.enter", "refused", reason="wrong_pin", failures=outcome.failures, **detail
            )
            if outcome.locked_for_s:
                self._report(Lockout(outcome.failures, outcome.locked_for_s))
        return outcome

    def unlock(self, by: str, via: str = "kiosk-tech") -> Unlocked:
        """Clear the count and any lock (``kiosk-tech maintenance unlock``), audited with who ran it."""
        with self._exclusive():
            before = Unlocked(self.failures, round(self.locked_for(), 1))
            self._save(dict(_CLEAR))
        self.audit.record(
            "maintenance.unlock",
            by=by,
            via=via,
            failures=before.failures,
            locked_for_s=round(before.locked_for_s),
        )
        return before

    def _report(self, lockout: Lockout) -> None:
        if self.on_lockout is None:
            return
        try:
            self.on_lockout(lockout)
        except Exception:  # the lock is on disk and audited; a failing alert must not undo the answer
            log.exception("maintenance lockout alert not raised")


def gate_for(config: KioskConfig, audit: AuditLog | None = None) -> MaintenanceGate:
    """The gate over ``config``'s data folder (the app's and ``kiosk-tech``'s: one state, one audit)."""
    m = config.maintenance
    return MaintenanceGate(
        m.pin_hash,
        config.data_dir / STATE_FILE,
        audit or AuditLog(config.data_dir / AUDIT_FILE),
        lockout_after=m.lockout_after,
        base_delay_s=m.lockout_base_s,
        lockout_max_s=m.lockout_max_s,
    )
