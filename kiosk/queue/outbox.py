"""The durable outbox: every submitted request is committed here before the resident is told so.

One SQLite file (stdlib ``sqlite3``, WAL, ``synchronous=FULL``) per kiosk. :meth:`Outbox.submit`
freezes the request's envelope bytes (attachments inline, base64) and commits them in one
transaction; it returns only once the row is on disk, so "submitted" on screen is never a lie.
A help alert (a resident touched 呼叫帮助: kiosk, screen, service, step, no personal data) is a
row of the same table with ``kind = 'alert'``, committed the same way by :meth:`Outbox.submit_alert`
and delivered by the same thread to ``POST /v1/alerts``; its wire body is made in
``kiosk/queue/alerts.py``. The delivery thread takes pending alerts first (staff should not wait
behind a queue of forms), then the oldest pending request (strict FIFO among requests), and
records the backend's answer:

    pending ──201/200──► acknowledged   (body purged: personal data gone, receipt kept)
       │ ▲
       │ └─ retry-dead ── dead          (permanent 4xx or a redirect; the answer kept, the body
       └───other 4xx, 3xx───┘            purged after outbox.keep_dead_days)

Acknowledged rows (metadata and receipt only) are deleted once older than the configured
retention (:meth:`Outbox.prune_acknowledged`, run by the delivery thread); the newest row always
stays, so the sequence number (``max(seq) + 1``) never goes back. A dead letter's body (personal
data, photos) is purged after its own retention (:meth:`Outbox.purge_dead_bodies`): the row, its
metadata and the backend's refusal stay for technicians, but it can no longer be retried. Pending
requests are never pruned (kiosk/queue/retention.py applies both retentions).

Requests number 1, 2, 3... with no gap (the envelope carries the number, so the backend can tell a
missing request); alerts count down from -1 in the same column, so they order among themselves
without taking a request's number. The file is created owner-only (kiosk/queue/outbox_file.py).

Files made before alerts moved here have no ``kind`` column: opening one adds it (every old row
is a request), so an existing outbox keeps working.

Several processes may open the file (the app, ``kiosk-tech queue ...``); SQLite's locks keep
writes serial. A full disk refuses new submissions with :class:`StorageError` (nothing is lost);
a damaged file is detected at open and left in place for the technician.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import shutil
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from contract.ids import KIOSK_NUMBERS, acceptance_number, default_kiosk_number, uuid7
from contract.schemas import ENVELOPE_VERSION, validate_payload
from kiosk.errors import StorageError
from kiosk.queue.outbox_file import open_database
from kiosk.queue.outbox_file import storage_error as _storage_error
from kiosk.queue.rows import (
    ALERT,
    REQUEST,
    Attachment,
    DeadLetter,
    PendingRequest,
    QueueStatus,
    SubmittedRequest,
)

log = logging.getLogger(__name__)

_INSERT = (
    "INSERT INTO requests (seq, request_id, request_type, request_version, created_at, created_ts, test,"
    " status, body, kind, number) VALUES (?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)"
    " ON CONFLICT (request_id) DO NOTHING"
)


_NEXT_ALERT_SEQ = "SELECT min(coalesce(min(seq), 0), 0) - 1 FROM requests"  # alerts: -1, -2, ...


class Outbox:
    """The kiosk's queue of submitted requests. Thread-safe; one instance per process."""

    def __init__(
        self,
        path: Path,
        kiosk_id: str,
        *,
        min_free_bytes: int = 0,
        check: bool = True,
        kiosk_number: int | None = None,
    ) -> None:
        self.path = Path(path)
        self.kiosk_id = kiosk_id
        # the kiosk number of every acceptance number (受理号) made here (``kiosk.number``)
        self.kiosk_number = default_kiosk_number(kiosk_id) if kiosk_number is None else kiosk_number
        if not 0 <= self.kiosk_number < KIOSK_NUMBERS:
            raise ValueError(f"kiosk number {self.kiosk_number} outside 0..{KIOSK_NUMBERS - 1}")
        self.min_free_bytes = min_free_bytes
        self._lock = threading.Lock()
        self._db = open_database(self.path, check=check)  # created owner-only (kiosk/queue/outbox_file.py)
        try:
            self._next_seq = self._db.execute("SELECT coalesce(max(seq), 0) + 1 FROM requests").fetchone()[0]
        except sqlite3.Error as exc:
            self._db.close()
            raise _storage_error(self.path, exc) from exc

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def __enter__(self) -> Outbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- submitting ---------------------------------------------------------------------------

    def submit(
        self,
        request_type: str,
        version: int,
        payload: Mapping[str, Any],
        attachments: Sequence[Attachment] = (),
        *,
        test: bool = False,
        request_id: str | None = None,
    ) -> SubmittedRequest:
        """Validate, freeze and durably commit one request; blocking (call from a worker thread).
        ``request_id`` is a UUIDv7 reserved earlier in the visit (by the face check: the backend's
        signed certificate names it); None makes a new one here.

        Raises SchemaViolation for a payload that does not match its schema (a programming error),
        StorageError when the disk is full or the file unusable (the screen says so calmly).
        """
        validate_payload(request_type, version, payload)
        if self.min_free_bytes:
            try:
                free = shutil.disk_usage(self.path.parent).free
            except OSError as exc:
                raise StorageError(f"outbox {self.path}: cannot check free space ({exc})") from exc
            if free < self.min_free_bytes:
                raise StorageError(
                    f"outbox {self.path}: disk full ({free // 1_000_000} MB free, "
                    f"{self.min_free_bytes // 1_000_000} MB required), new submissions refused"
                )
        request_id = request_id or str(uuid7())
        now = time.time()
        created_at = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now % 1 * 1e6):06d}Z"
        files = [
            {
                "name": a.name,
                "media_type": a.media_type,
                "sha256": a.sha256,
                "size": len(a.data),
                "data_b64": base64.b64encode(a.data).decode("ascii"),
            }
            for a in attachments
        ]
        day = dt.date.fromtimestamp(now)  # the kiosk's local date: the resident's day

        def number_for(seq: int) -> str:
            return acceptance_number(self.kiosk_number, day, seq)

        envelope: dict[str, Any] = {
            "envelope_version": ENVELOPE_VERSION,
            "request_id": request_id,
            "kiosk_id": self.kiosk_id,
            "acceptance_number": "",
            "sequence": 0,
            "created_at": created_at,
            "request_type": request_type,
            "request_version": version,
            "test": test,
            "payload": payload,
            "attachments": files,
        }

        def frozen(seq: int) -> bytes:
            envelope["sequence"] = seq
            envelope["acceptance_number"] = number_for(seq)
            return json.dumps(envelope, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

        row = (request_id, request_type, version, created_at, now, int(test))
        return self._insert(REQUEST, row, frozen, number_for)

    def submit_alert(self, alert_id: str, document: Mapping[str, Any], created_ts: float) -> SubmittedRequest:
        """Durably commit one help alert (its ``POST /v1/alerts`` body, frozen); blocking. Returns
        once the row is on disk, so "staff were notified" is never a lie. An ``alert_id`` already
        here is not added again (a repeated import). Not held to ``min_free_bytes``: a few hundred
        bytes must not keep staff from a resident who needs them."""
        body = json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        created_at = str(document.get("raised_at", ""))
        request_type = f"alert.{document.get('kind', 'help')}"  # alert.help, alert.maintenance_lockout
        return self._insert(ALERT, (alert_id, request_type, 1, created_at, created_ts, 0), lambda _seq: body)

    def _insert(
        self,
        kind: str,
        row: tuple[str, str, int, str, float, int],
        body_for: Callable[[int], bytes],
        number_for: Callable[[int], str] | None = None,
    ) -> SubmittedRequest:
        """One committed row with the next sequence number (``body_for(seq)`` freezes its body,
        ``number_for(seq)`` makes its acceptance number). ``row``: request_id, request_type, version,
        created_at, created_ts, test."""
        request_id, created_at = row[0], row[3]
        alert = kind == ALERT
        next_free = _NEXT_ALERT_SEQ if alert else "SELECT coalesce(max(seq), 0) + 1 FROM requests"
        with self._lock:
            with self._transaction() as db:
                seq = db.execute(next_free).fetchone()[0] if alert else self._next_seq
                while True:
                    try:
                        number = number_for(seq) if number_for is not None else None
                        done = db.execute(_INSERT, (seq, *row, body_for(seq), kind, number))
                        break
                    except sqlite3.IntegrityError:
                        # another process (kiosk-tech) took this number: read the real next one
                        seq = db.execute(next_free).fetchone()[0]
                if not done.rowcount:  # this id was stored before: keep the first row
                    seq, number = db.execute(
                        "SELECT seq, number FROM requests WHERE request_id = ?", (request_id,)
                    ).fetchone()
            if not alert:  # only once committed: a failed commit must not skip a number
                self._next_seq = max(self._next_seq, seq + 1)
        return SubmittedRequest(request_id, seq, created_at, number or "")

    # -- delivering ---------------------------------------------------------------------------

    def head(self) -> PendingRequest | None:
        """The oldest pending help alert, else the oldest pending request (strict FIFO among
        requests: nothing behind one is sent before it)."""
        row = self._query_one(
            "SELECT request_id, seq, body, attempts, next_attempt_ts, kind FROM requests"
            " WHERE status = 'pending' ORDER BY kind = 'request', abs(seq) LIMIT 1"
        )
        return PendingRequest(row[0], row[1], bytes(row[2]), row[3], row[4], row[5]) if row else None

    def acknowledge(self, request_id: str, http_status: int, receipt: str) -> None:
        """Store the backend's receipt and purge the body (the personal data) in one commit, then
        checkpoint and truncate the write-ahead log, which still holds the body's old pages."""
        self._write(
            "UPDATE requests SET status = 'acknowledged', body = NULL, answer_status = ?, answer = ?,"
            " last_error = '', settled_ts = ? WHERE request_id = ? AND status = 'pending'",
            (http_status, receipt, time.time(), request_id),
        )
        self._scrub_log()

    def _scrub_log(self) -> None:
        """Copy the log into the database file (where secure_delete zeroed the purged body) and cut
        it to zero bytes. A reader in another process can make SQLite skip it: the next one will."""
        with self._lock:
            try:
                # never wait for another process's reader here: the UI thread may need the lock
                self._db.execute("PRAGMA busy_timeout = 0")
                try:
                    busy = self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()[0]
                finally:
                    self._db.execute("PRAGMA busy_timeout = 30000")
            except sqlite3.Error as exc:
                raise _storage_error(self.path, exc) from exc
        if busy:
            log.info("outbox %s: log not truncated (a reader is busy); next receipt retries", self.path)

    def defer(self, request_id: str, next_attempt_ts: float, error: str) -> None:
        """Record a failed attempt; the request stays at the head until ``next_attempt_ts``."""
        self._write(
            "UPDATE requests SET attempts = attempts + 1, next_attempt_ts = ?, last_error = ?"
            " WHERE request_id = ? AND status = 'pending'",
            (next_attempt_ts, error[:500], request_id),
        )

    def dead_letter(self, request_id: str, http_status: int, answer: str) -> None:
        """A permanent refusal: keep the body and the backend's answer for the technician."""
        self._write(
            "UPDATE requests SET status = 'dead', attempts = attempts + 1, answer_status = ?, answer = ?,"
            " last_error = ?, settled_ts = ? WHERE request_id = ? AND status = 'pending'",
            (http_status, answer[:4000], f"HTTP {http_status}", time.time(), request_id),
        )

    def retry_dead(self, request_id: str | None = None) -> int:
        """Put dead-lettered requests back in the queue (in their original order): all of them, or
        only ``request_id``. Returns how many were queued again (not those whose body was purged)."""
        sql = (  # a purged dead letter has no body left to send: it stays dead
            "UPDATE requests SET status = 'pending', next_attempt_ts = 0, answer_status = NULL,"
            " answer = NULL, settled_ts = NULL WHERE status = 'dead' AND body IS NOT NULL"
        )
        if request_id is None:
            return self._write(sql, ())
        return self._write(sql + " AND request_id = ?", (request_id,))

    def dead_letters(self, limit: int = 50) -> list[DeadLetter]:
        """The dead-lettered requests, oldest first, with the backend's answer (no body)."""
        with self._lock:
            try:
                rows = self._db.execute(
                    "SELECT request_id, seq, request_type, attempts, answer_status, coalesce(answer, ''),"
                    " coalesce(settled_ts, 0), body IS NULL FROM requests WHERE status = 'dead'"
                    " ORDER BY seq LIMIT ?",
                    (limit,),
                ).fetchall()
            except sqlite3.Error as exc:
                raise _storage_error(self.path, exc) from exc
        return [DeadLetter(r[0], r[1], r[2], r[3], r[4] or 0, r[5], r[6], bool(r[7])) for r in rows]

    def prune_acknowledged(self, settled_before_ts: float, *, batch: int = 2000) -> int:
        """Delete acknowledged rows settled before ``settled_before_ts``; returns how many.

        Deletes in batches of ``batch`` rows, one short transaction each, so a first prune of a
        year's history never holds the write lock long enough to delay a submission. The newest
        row is kept whatever its age: the next sequence number is ``max(seq) + 1``, and the
        backend must never see a number again. Dead letters and pending requests are not touched.
        """
        sql = (
            "DELETE FROM requests WHERE seq IN (SELECT seq FROM requests WHERE status = 'acknowledged'"
            " AND settled_ts < ? AND seq < (SELECT max(seq) FROM requests) ORDER BY settled_ts LIMIT ?)"
        )
        deleted = 0
        while True:
            n = self._write(sql, (settled_before_ts, batch))
            deleted += n
            if n < batch:
                break
        if deleted:
            self._scrub_log()
        return deleted

    def purge_dead_bodies(self, settled_before_ts: float) -> list[DeadLetter]:
        """Drop (zeroed) the bodies, with their personal data and photos, of dead letters settled
        before ``settled_before_ts``; rows and refusals stay. Returns those purged now (for the log)."""
        where = "status = 'dead' AND body IS NOT NULL AND settled_ts < ?"
        with self._lock, self._transaction() as db:
            rows = db.execute(
                "SELECT request_id, seq, request_type, attempts, coalesce(answer_status, 0),"
                f" coalesce(answer, ''), settled_ts FROM requests WHERE {where} ORDER BY seq",
                (settled_before_ts,),
            ).fetchall()
            db.execute(f"UPDATE requests SET body = NULL WHERE {where}", (settled_before_ts,))
        if rows:
            self._scrub_log()
        return [DeadLetter(r[0], r[1], r[2], r[3], r[4], r[5], r[6], purged=True) for r in rows]

    # -- looking ------------------------------------------------------------------------------

    def status(self, now: float | None = None) -> QueueStatus:
        counts = {"pending": 0, "acknowledged": 0, "dead": 0}
        alerts = 0
        with self._lock:
            try:
                for state, kind, n in self._db.execute(
                    "SELECT status, kind, count(*) FROM requests GROUP BY status, kind"
                ):
                    counts[state] += n
                    alerts += n if (state, kind) == ("pending", ALERT) else 0
                head = self._db.execute(
                    "SELECT created_ts, last_error FROM requests WHERE status = 'pending'"
                    " ORDER BY seq LIMIT 1"
                ).fetchone()
            except sqlite3.Error as exc:
                raise _storage_error(self.path, exc) from exc
        current = time.time() if now is None else now
        age = max(0.0, current - head[0]) if head else None
        return QueueStatus(
            counts["pending"], counts["acknowledged"], counts["dead"], age, head[1] if head else "", alerts
        )

    def record(self, request_id: str) -> dict[str, Any] | None:
        """One request's metadata (no body) for technicians and tests."""
        with self._lock:
            cur = self._db.execute(
                "SELECT request_id, seq, kind, request_type, status, attempts, last_error, answer_status,"
                " answer, number, body IS NOT NULL FROM requests WHERE request_id = ?",
                (request_id,),
            )
            row = cur.fetchone()
            names = [d[0] for d in cur.description]
        if row is None:
            return None
        out = dict(zip(names, row, strict=True))
        out["has_body"] = bool(out.pop("body IS NOT NULL"))
        return out

    def record_by_number(self, number: str) -> dict[str, Any] | None:
        """:meth:`record` of the request with this acceptance number (the newest, should a number
        have come round again), or None."""
        row = self._query_one(
            "SELECT request_id FROM requests WHERE number = ? ORDER BY seq DESC LIMIT 1", (number,)
        )
        return self.record(str(row[0])) if row else None

    def latest_id(self) -> str | None:
        """The id of the request submitted last (the demo's "hold up a receipt" uses it)."""
        row = self._query_one(
            "SELECT request_id FROM requests WHERE kind = 'request' ORDER BY seq DESC LIMIT 1"
        )
        return str(row[0]) if row else None

    # -- internals ----------------------------------------------------------------------------

    def _query_one(self, sql: str, params: tuple[Any, ...] = ()) -> tuple[Any, ...] | None:
        with self._lock:
            try:
                row: tuple[Any, ...] | None = self._db.execute(sql, params).fetchone()
                return row
            except sqlite3.Error as exc:
                raise _storage_error(self.path, exc) from exc

    def _write(self, sql: str, params: tuple[Any, ...]) -> int:
        with self._lock, self._transaction() as db:
            return int(db.execute(sql, params).rowcount)

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction (the caller holds ``self._lock``): ``BEGIN IMMEDIATE`` ...
        ``COMMIT``, rolled back on any error; SQLite's errors become StorageError naming the file."""
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
                self._db.execute("COMMIT")
            except BaseException:
                if self._db.in_transaction:
                    self._db.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise _storage_error(self.path, exc) from exc
