"""The backend's durable queue: ``sqlite:///PATH`` (embedded, one process) or ``postgresql://...``
(production; several ingest processes share it, workers take jobs with ``FOR UPDATE SKIP LOCKED``).

Both stores run the same SQL (placeholders aside) and so behave identically: ``request_id`` is
the primary key, so a request is stored once forever; a nonce is stored with the request in the
same transaction, so a replayed signature is refused even after a restart; every answer is given
only after the commit.

A request's acceptance number (受理号, ``contract/ids.py``: the 12 digits a resident is given) is
kept unique (a unique index; NULL for requests from kiosks before it existed): residents look a
request up by it (:meth:`Store.find_by_number`). A number already held by another request is
either years old (its year digit came round again: the old request gives it up) or a
misconfiguration (two kiosks with one ``kiosk.number``: the new request is stored without a number,
never refused, and the error is logged for the operators). ``holder_key`` (a SHA-256 of the
applicant's ID number) lets :meth:`Store.find_by_holder` list one card holder's requests.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from backend.staff_schema import STAFF_TABLES
from contract.ids import is_acceptance_number

log = logging.getLogger(__name__)

_TABLES = [
    """CREATE TABLE IF NOT EXISTS requests (
        request_id      TEXT PRIMARY KEY,
        kiosk_id        TEXT NOT NULL,
        sequence        BIGINT NOT NULL,
        request_type    TEXT NOT NULL,
        request_version INTEGER NOT NULL,
        test            BOOLEAN NOT NULL,
        body_sha256     TEXT NOT NULL,
        envelope        TEXT NOT NULL,
        receipt         TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        status          TEXT NOT NULL,   -- received | in_progress | done | rejected
        reason          TEXT NOT NULL DEFAULT '',
        worker          TEXT NOT NULL DEFAULT '',
        updated_at      TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS requests_status ON requests (status, received_at)",
    # the request number's last group (12 hex digits): what kiosks before the acceptance number had
    # residents type instead of all 32
    "CREATE INDEX IF NOT EXISTS requests_tail ON requests (substr(request_id, 25, 12))",
    """CREATE TABLE IF NOT EXISTS nonces (
        key_id TEXT NOT NULL, nonce TEXT NOT NULL, ts BIGINT NOT NULL, PRIMARY KEY (key_id, nonce))""",
    "CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    # the latest heartbeat of each kiosk (health, queue, version) and its summed step analytics
    """CREATE TABLE IF NOT EXISTS kiosks (
        kiosk_id TEXT PRIMARY KEY, last_seen_ts DOUBLE PRECISION NOT NULL, health TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS step_stats (
        kiosk_id TEXT NOT NULL, service TEXT NOT NULL, step TEXT NOT NULL, outcome TEXT NOT NULL,
        count BIGINT NOT NULL, PRIMARY KEY (kiosk_id, service, step, outcome))""",
    # help alerts from kiosks (backend/alerts.py): no personal data
    """CREATE TABLE IF NOT EXISTS alerts (
        alert_id TEXT PRIMARY KEY, kiosk_id TEXT NOT NULL, kind TEXT NOT NULL, screen TEXT NOT NULL,
        service TEXT NOT NULL, step TEXT NOT NULL, raised_at TEXT NOT NULL,
        received_ts DOUBLE PRECISION NOT NULL, status TEXT NOT NULL, closed_ts DOUBLE PRECISION)""",
    # -- staff accounts, tokens, sessions, audit (backend/staff_schema.py) --
    *STAFF_TABLES,
]

# -- identity: the population register stand-in and the verification audit -----------------------
# (backend/register.py, backend/identity.py). No live photo or template is ever stored: the register
# holds enrolled photos only; the audit holds the masked number, a keyed digest of it (to count
# failures per number) and the outcome.
_IDENTITY_TABLES = [
    """CREATE TABLE IF NOT EXISTS register (
        id_number TEXT PRIMARY KEY, name TEXT NOT NULL, nation TEXT NOT NULL, address TEXT NOT NULL,
        photo BYTEA NOT NULL, photo_sha256 TEXT NOT NULL, enrolled_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS identity_audit (
        verification_id TEXT PRIMARY KEY, at_ts DOUBLE PRECISION NOT NULL, at_utc TEXT NOT NULL,
        kiosk_id TEXT NOT NULL, id_masked TEXT NOT NULL, id_digest TEXT NOT NULL, purpose TEXT NOT NULL,
        request_id TEXT NOT NULL, outcome TEXT NOT NULL, counts BOOLEAN NOT NULL,
        similarity DOUBLE PRECISION)""",
    "CREATE INDEX IF NOT EXISTS identity_audit_number ON identity_audit (id_digest, at_ts)",
    "CREATE INDEX IF NOT EXISTS identity_audit_kiosk ON identity_audit (kiosk_id, at_ts)",
    "CREATE TABLE IF NOT EXISTS identity_meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
]
_TABLES.extend(_IDENTITY_TABLES)
# -- end of identity tables ------------------------------------------------------------------------
# columns added after stores were made (added at open when missing; old rows hold NULL)
_ADDED_COLUMNS = (("acceptance_number", "TEXT"), ("holder_key", "TEXT"))
_AFTER_COLUMNS = [
    "CREATE UNIQUE INDEX IF NOT EXISTS requests_number ON requests (acceptance_number)",
    "CREATE INDEX IF NOT EXISTS requests_holder ON requests (holder_key, received_at)",
]

STATUSES = ("received", "in_progress", "done", "rejected")
NUMBER_RELEASE_DAYS = 365  # a number held longer than this is given up when its digits come round
HOLDER_LIST_LIMIT = 20  # a card holder's newest requests listed at most
_ID_NUMBER_RE = re.compile(r"^[0-9]{17}[0-9X]$")
_STATUS_KEYS = (
    "request_id",
    "request_type",
    "status",
    "reason",
    "received_at",
    "updated_at",
    "acceptance_number",
)


def holder_key(id_number: object) -> str | None:
    """The index key of an applicant's ID number (upper case), or None without one. A digest, so
    the index and logs never hold the number; it is no secret (the envelope beside it holds the
    number itself)."""
    if not isinstance(id_number, str) or not id_number.strip():
        return None
    return hashlib.sha256(b"holder:" + id_number.strip().upper().encode("utf-8")).hexdigest()


def _applicant_id_number(payload: object) -> object:
    """``payload.applicant.id_number`` (every request type's schema has it), or None."""
    applicant = payload.get("applicant") if isinstance(payload, dict) else None
    return applicant.get("id_number") if isinstance(applicant, dict) else None


def parse_holder_query(doc: dict[str, Any]) -> str:
    """The ID number of a ``POST /v1/requests/by-holder`` body, read from the card on the kiosk's
    reader (``{"id_number": ..., "source": "card_reader"}``); ValueError for anything else."""
    id_number = doc.get("id_number")
    if doc.get("source") != "card_reader":
        raise ValueError("source must be 'card_reader': a list is answered only for a card read at the kiosk")
    if not isinstance(id_number, str) or not _ID_NUMBER_RE.match(id_number.upper()):
        raise ValueError("id_number must be 18 characters: 17 digits and a digit or X")
    return id_number.upper()


def mask_holder(id_number: str) -> str:
    """``1101**********0015`` for the audit line."""
    return id_number[:4] + "*" * (len(id_number) - 8) + id_number[-4:]


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _parse_utc(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


@dataclass(frozen=True)
class IngestResult:
    """201 (stored), 200 (duplicate, same receipt), 422 (same id, other body), 401 (replayed nonce)."""

    status: int
    body: str


class StoreError(Exception):
    """The store cannot be opened or used."""


class Store:
    """Shared logic; subclasses supply a connection and the placeholder style."""

    placeholder = "?"
    skip_locked = ""

    @contextmanager
    def transaction(self) -> Iterator[Any]:  # pragma: no cover - overridden
        raise NotImplementedError
        yield

    def close(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _sql(self, sql: str) -> str:
        return sql.replace("?", self.placeholder)

    def _exec(self, cur: Any, sql: str, params: Sequence[Any] = ()) -> Any:
        cur.execute(self._sql(sql), tuple(params))
        return cur

    def _columns(self, cur: Any) -> set[str]:  # pragma: no cover - overridden
        raise NotImplementedError

    def migrate(self, cur: Any) -> None:
        """Add the columns of :data:`_ADDED_COLUMNS` a store made before them lacks, then their
        indexes (inside the caller's schema transaction)."""
        have = self._columns(cur)
        for name, declaration in _ADDED_COLUMNS:
            if name not in have:
                cur.execute(f"ALTER TABLE requests ADD COLUMN {name} {declaration}")
                log.info("store: added the requests.%s column", name)
        for ddl in _AFTER_COLUMNS:
            cur.execute(ddl)

    def init_schema(self) -> None:
        with self.transaction() as cur:
            for ddl in _TABLES:
                cur.execute(ddl)
            self.migrate(cur)
            self._exec(
                cur, "INSERT INTO counters (name, value) VALUES ('duplicates', 0) ON CONFLICT DO NOTHING"
            )

    # -- ingest -----------------------------------------------------------------------------------

    def ingest(self, key_id: str, nonce: str, ts: int, envelope: dict[str, Any], body: bytes) -> IngestResult:
        """Store one verified, schema-valid request (and its nonce) and answer with the receipt."""
        request_id = envelope["request_id"]
        sha = hashlib.sha256(body).hexdigest()
        now = utc_now()
        receipt = json.dumps(
            {
                "request_id": request_id,
                "kiosk_id": envelope["kiosk_id"],
                "sequence": envelope["sequence"],
                "received_at": now,
                "status_path": f"/status/{request_id}",
            },
            separators=(",", ":"),
        )
        holder = holder_key(_applicant_id_number(envelope.get("payload")))
        with self.transaction() as cur:
            self._exec(
                cur,
                "INSERT INTO nonces (key_id, nonce, ts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (key_id, nonce, ts),
            )
            if cur.rowcount == 0:
                return IngestResult(401, json.dumps({"error": "replayed_nonce"}))
            number = self._free_number(cur, envelope.get("acceptance_number"), request_id, now)
            self._exec(
                cur,
                "INSERT INTO requests (request_id, kiosk_id, sequence, request_type, request_version, test,"
                " body_sha256, envelope, receipt, received_at, status, updated_at, acceptance_number,"
                " holder_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'received', ?, ?, ?)"
                # only the id deduplicates: a number taken meanwhile by a concurrent ingest (two kiosks
                # with one kiosk.number) raises, the kiosk retries, and _free_number then sees it
                " ON CONFLICT (request_id) DO NOTHING",
                (
                    request_id,
                    envelope["kiosk_id"],
                    envelope["sequence"],
                    envelope["request_type"],
                    envelope["request_version"],
                    bool(envelope["test"]),
                    sha,
                    body.decode("utf-8"),
                    receipt,
                    now,
                    now,
                    number,
                    holder,
                ),
            )
            if cur.rowcount == 1:
                return IngestResult(201, receipt)
            row = self._exec(
                cur, "SELECT body_sha256, receipt FROM requests WHERE request_id = ?", (request_id,)
            ).fetchone()
            if row[0] != sha:
                return IngestResult(422, json.dumps({"error": "request_id_reused_with_other_body"}))
            self._exec(cur, "UPDATE counters SET value = value + 1 WHERE name = 'duplicates'")
            return IngestResult(200, row[1])

    def claim_nonce(self, key_id: str, nonce: str, ts: int) -> bool:
        """Record a signed request's nonce (per key, durably); False when it was recorded before:
        a replay. Nonces are kept until :meth:`purge_nonces` (twice the skew window)."""
        with self.transaction() as cur:
            self._exec(
                cur,
                "INSERT INTO nonces (key_id, nonce, ts) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                (key_id, nonce, ts),
            )
            return bool(cur.rowcount == 1)

    def _free_number(self, cur: Any, number: object, request_id: str, now: str) -> str | None:
        """The acceptance number to store with ``request_id``: its own, unless another request holds
        it (see the module's docstring); None when the envelope has none."""
        if not isinstance(number, str) or not is_acceptance_number(number):
            return None
        held = self._exec(
            cur, "SELECT request_id, received_at FROM requests WHERE acceptance_number = ?", (number,)
        ).fetchone()
        if held is None or held[0] == request_id:
            return number
        age_days = (_parse_utc(now) - _parse_utc(held[1])).total_seconds() / 86400
        if age_days > NUMBER_RELEASE_DAYS:
            self._exec(cur, "UPDATE requests SET acceptance_number = NULL WHERE request_id = ?", (held[0],))
            log.info("acceptance number %s given up by a request %d days old", number, age_days)
            return number
        log.error(
            "acceptance number %s of request %s is already held by request %s (two kiosks with one"
            " kiosk.number?): stored without a number",
            number,
            request_id,
            held[0],
        )
        return None

    def purge_nonces(self, older_than_ts: int) -> None:
        with self.transaction() as cur:
            self._exec(cur, "DELETE FROM nonces WHERE ts < ?", (older_than_ts,))

    # -- look-ups and workers --------------------------------------------------------------------

    def status(self, request_id: str) -> dict[str, Any] | None:
        """A request's status (no personal data), or None."""
        return self._status_where("request_id = ?", request_id)

    def find_by_number(self, number: str) -> dict[str, Any] | None:
        """The request with this acceptance number (12 digits, any grouping), or None (also for a
        number whose check digit fails: it cannot be any request's)."""
        digits = number.replace(" ", "")
        if not is_acceptance_number(digits):
            return None
        return self._status_where("acceptance_number = ?", digits)

    def find_by_holder(self, id_number: str, limit: int = HOLDER_LIST_LIMIT) -> list[dict[str, Any]]:
        """One card holder's newest requests, masked to what the kiosk shows: the acceptance number,
        the service, the dates and the status; no reason, no id, nothing else of the request."""
        key = holder_key(id_number)
        with self.transaction() as cur:
            rows = self._exec(
                cur,
                "SELECT acceptance_number, request_type, status, received_at, updated_at FROM requests"
                f" WHERE holder_key = ? AND NOT test ORDER BY received_at DESC LIMIT {int(limit)}",
                (key,),
            ).fetchall()
        keys = ("acceptance_number", "request_type", "status", "received_at", "updated_at")
        return [dict(zip(keys, row, strict=True)) for row in rows]

    def _status_where(self, where: str, value: str) -> dict[str, Any] | None:
        with self.transaction() as cur:
            row = self._exec(
                cur, f"SELECT {', '.join(_STATUS_KEYS)} FROM requests WHERE {where}", (value,)
            ).fetchone()
        return None if row is None else dict(zip(_STATUS_KEYS, row, strict=True))

    def find_by_tail(self, tail: str) -> list[dict[str, Any]]:
        """Requests whose id ends in the 12 hex digits ``tail`` (random bits: almost always one;
        at most two are returned, enough to tell the kiosk to ask for the whole number)."""
        with self.transaction() as cur:
            rows = self._exec(
                cur,
                "SELECT request_id FROM requests WHERE substr(request_id, 25, 12) = ? LIMIT 2",
                (tail.lower(),),
            ).fetchall()
        return [found for (request_id,) in rows if (found := self.status(request_id)) is not None]

    def stats(self) -> dict[str, Any]:
        with self.transaction() as cur:
            by_status = dict(
                self._exec(cur, "SELECT status, count(*) FROM requests GROUP BY status").fetchall()
            )
            dups = self._exec(cur, "SELECT value FROM counters WHERE name = 'duplicates'").fetchone()
        return {
            "requests": sum(by_status.values()),
            "duplicates": dups[0] if dups else 0,
            "by_status": {s: by_status.get(s, 0) for s in STATUSES},
        }

    # -- kiosks: heartbeats and step analytics ----------------------------------------------------

    def heartbeat(
        self, kiosk_id: str, health: dict[str, Any], analytics: Sequence[dict[str, Any]], now: float
    ) -> None:
        """Keep the kiosk's latest health and add its analytics counts (deltas since its last
        accepted heartbeat), in one transaction."""
        with self.transaction() as cur:
            self._exec(
                cur,
                "INSERT INTO kiosks (kiosk_id, last_seen_ts, health) VALUES (?, ?, ?)"
                " ON CONFLICT (kiosk_id) DO UPDATE SET last_seen_ts = excluded.last_seen_ts,"
                " health = excluded.health",
                (kiosk_id, now, json.dumps(health, ensure_ascii=False)),
            )
            for item in analytics:
                self._exec(
                    cur,
                    "INSERT INTO step_stats (kiosk_id, service, step, outcome, count) VALUES (?, ?, ?, ?, ?)"
                    " ON CONFLICT (kiosk_id, service, step, outcome) DO UPDATE"
                    " SET count = step_stats.count + excluded.count",
                    (kiosk_id, item["service"], item["step"], item["outcome"], int(item["count"])),
                )

    def kiosks(self) -> list[dict[str, Any]]:
        """Every kiosk that ever sent a heartbeat, with its latest health and step statistics."""
        with self.transaction() as cur:
            rows = self._exec(
                cur, "SELECT kiosk_id, last_seen_ts, health FROM kiosks ORDER BY kiosk_id"
            ).fetchall()
            stats = self._exec(
                cur, "SELECT kiosk_id, service, step, outcome, count FROM step_stats ORDER BY 1, 2, 3, 4"
            ).fetchall()
        out = []
        for kiosk_id, last_seen_ts, health in rows:
            steps = [
                {"service": s, "step": st, "outcome": o, "count": c}
                for k, s, st, o, c in stats
                if k == kiosk_id
            ]
            out.append(
                {
                    "kiosk_id": kiosk_id,
                    "last_seen_ts": last_seen_ts,
                    "health": json.loads(health),
                    "steps": steps,
                }
            )
        return out

    def take(self, worker: str) -> dict[str, Any] | None:
        """Claim the oldest received request for ``worker`` (skipping rows others hold locked)."""
        with self.transaction() as cur:
            row = self._exec(
                cur,
                "SELECT request_id FROM requests WHERE status = 'received' ORDER BY received_at, request_id"
                f" LIMIT 1{self.skip_locked}",
            ).fetchone()
            if row is None:
                return None
            self._exec(
                cur,
                "UPDATE requests SET status = 'in_progress', worker = ?, updated_at = ? WHERE request_id = ?",
                (worker, utc_now(), row[0]),
            )
            env = self._exec(cur, "SELECT envelope FROM requests WHERE request_id = ?", (row[0],)).fetchone()
        job: dict[str, Any] = json.loads(env[0])
        return job

    def finish(self, request_id: str, status: str, reason: str = "") -> bool:
        """Complete (``done``) or reject (with a reason) a request a worker holds."""
        if status not in ("done", "rejected"):
            raise ValueError(status)
        with self.transaction() as cur:
            self._exec(
                cur,
                "UPDATE requests SET status = ?, reason = ?, updated_at = ?"
                " WHERE request_id = ? AND status IN ('received', 'in_progress')",
                (status, reason, utc_now(), request_id),
            )
            return bool(cur.rowcount == 1)

    def list(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        with self.transaction() as cur:
            where, params = ("WHERE status = ?", (status,)) if status else ("", ())
            rows = self._exec(
                cur,
                f"SELECT request_id, kiosk_id, sequence, request_type, status, received_at"
                f" FROM requests {where} ORDER BY received_at LIMIT {int(limit)}",
                params,
            ).fetchall()
        keys = ("request_id", "kiosk_id", "sequence", "request_type", "status", "received_at")
        return [dict(zip(keys, r, strict=True)) for r in rows]


class SqliteStore(Store):
    """One file, WAL, synchronous=FULL; one connection serialised by a lock (one process)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            self._db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
        except sqlite3.Error as exc:
            raise StoreError(f"store {path}: {exc}") from exc
        self._lock = threading.Lock()
        self.init_schema()

    def _columns(self, cur: Any) -> set[str]:
        return {str(col[1]) for col in cur.execute("PRAGMA table_info(requests)").fetchall()}

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._lock:
            cur = self._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                yield cur
            except BaseException:
                cur.execute("ROLLBACK")
                raise
            cur.execute("COMMIT")

    def close(self) -> None:
        with self._lock:
            self._db.close()


class PostgresStore(Store):
    """psycopg 3; one connection per store object (use one per process), serialisable writes not
    needed: the primary keys and SKIP LOCKED carry the guarantees."""

    placeholder = "%s"
    skip_locked = " FOR UPDATE SKIP LOCKED"

    def __init__(self, url: str) -> None:
        try:
            import psycopg
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise StoreError(
                "postgresql store needs the 'psycopg' package (install extra 'backend')"
            ) from exc
        self._psycopg = psycopg
        try:
            self._db = psycopg.connect(url, autocommit=False)
        except psycopg.Error as exc:
            raise StoreError(f"cannot connect to PostgreSQL: {exc}".strip()) from exc
        self._lock = threading.Lock()
        with self._lock, self._db.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(60606)")  # several processes may init at once
            for ddl in _TABLES:
                cur.execute(ddl)
            self.migrate(cur)
            cur.execute("INSERT INTO counters (name, value) VALUES ('duplicates', 0) ON CONFLICT DO NOTHING")
            self._db.commit()

    def _columns(self, cur: Any) -> set[str]:
        cur.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'requests'"
            " AND table_schema = current_schema()"
        )
        return {str(row[0]) for row in cur.fetchall()}

    @contextmanager
    def transaction(self) -> Iterator[Any]:
        with self._lock:
            try:
                with self._db.cursor() as cur:
                    yield cur
                self._db.commit()
            except BaseException:
                self._db.rollback()
                raise

    def close(self) -> None:
        with self._lock:
            self._db.close()


def open_store(url: str) -> Store:
    """``sqlite:///relative/or//absolute/path`` or ``postgresql://...``."""
    if url.startswith("sqlite:///"):
        return SqliteStore(Path(url[len("sqlite:///") :]))
    if url.startswith(("postgresql://", "postgres://")):
        return PostgresStore(url)
    raise StoreError(f"unknown store URL {url!r} (expected sqlite:///PATH or postgresql://...)")
