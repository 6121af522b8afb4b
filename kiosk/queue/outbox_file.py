"""The outbox's SQLite file: created private, opened with its pragmas, schema and migration, and
SQLite's errors turned into :class:`StorageError` (kiosk/queue/outbox.py uses it).

The file holds residents' envelopes (ID numbers, photos) until the backend's receipt is stored, so
it is created owner-only (0600, in a 0700 folder) whatever the process's umask. SQLite gives its
``-wal`` and ``-shm`` files the database file's mode, so they are private too; a file made 0644 by
an older version is tightened when it is opened.
"""

from __future__ import annotations

import logging
import os
import sqlite3
from pathlib import Path

from kiosk.errors import StorageError

log = logging.getLogger(__name__)

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    seq             INTEGER PRIMARY KEY,   -- the per-kiosk sequence number (the newest row is never deleted)
    request_id      TEXT NOT NULL UNIQUE,  -- the receipt number (UUIDv7)
    request_type    TEXT NOT NULL,
    request_version INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    created_ts      REAL NOT NULL,
    test            INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'acknowledged', 'dead')),
    body            BLOB,                                -- frozen envelope; NULL once acknowledged
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_ts REAL NOT NULL DEFAULT 0,
    last_error      TEXT NOT NULL DEFAULT '',
    answer_status   INTEGER,
    answer          TEXT,                                -- receipt (acknowledged) or refusal (dead)
    settled_ts      REAL,
    kind            TEXT NOT NULL DEFAULT 'request',     -- 'request' | 'alert' (a help alert)
    number          TEXT                                 -- the acceptance number (受理号); NULL: alert
);
-- the queue's head without scanning acknowledged history (a partial index stays small)
CREATE INDEX IF NOT EXISTS requests_pending ON requests (seq) WHERE status = 'pending';
-- retention: the oldest acknowledged rows, without scanning the table
CREATE INDEX IF NOT EXISTS requests_settled ON requests (settled_ts) WHERE status = 'acknowledged';
-- retention: dead letters whose body is due for purging (few rows: the index stays tiny)
CREATE INDEX IF NOT EXISTS requests_dead ON requests (settled_ts) WHERE status = 'dead';
"""

FILE_MODE, FOLDER_MODE = 0o600, 0o700


def storage_error(path: Path, exc: sqlite3.Error) -> StorageError:
    """A calm, technician-readable StorageError for an SQLite failure on the outbox at ``path``."""
    text = str(exc)
    if "full" in text or getattr(exc, "sqlite_errorcode", None) == 13:  # SQLITE_FULL
        return StorageError(f"outbox {path}: disk full, new submissions refused until space is freed")
    if isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text):
        return StorageError(f"outbox {path}: file is damaged ({text}); it was left in place for inspection")
    return StorageError(f"outbox {path}: {text}")


def create_private(path: Path) -> None:
    """Make ``path`` (and a missing parent folder) owner-only before SQLite opens it: SQLite would
    create it 0644. An existing file, and its ``-wal``/``-shm``, lose any group/other bits."""
    if not path.parent.exists():
        path.parent.mkdir(mode=FOLDER_MODE, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, FILE_MODE)
    try:
        if os.fstat(fd).st_mode & 0o077:
            os.fchmod(fd, FILE_MODE)
            log.warning("outbox %s was readable by other users: made owner-only", path)
    finally:
        os.close(fd)
    for suffix in ("-wal", "-shm"):
        side = path.with_name(path.name + suffix)
        try:
            if side.stat().st_mode & 0o077:
                side.chmod(FILE_MODE)
        except FileNotFoundError:
            pass


# columns added after files were made: (name, declaration, why); old rows get the default
_ADDED_COLUMNS = (
    ("kind", "TEXT NOT NULL DEFAULT 'request'", "help alerts are outbox rows now"),
    ("number", "TEXT", "the acceptance number (受理号) of each request; none for older rows"),
)


def add_columns(db: sqlite3.Connection) -> None:
    """Migrate a file made before a column of :data:`_ADDED_COLUMNS` existed (``kind``: old rows are
    requests; ``number``: old rows have none). Inside a write transaction, so two processes opening
    it at once add each column once."""

    def missing() -> list[tuple[str, str, str]]:
        have = {col[1] for col in db.execute("PRAGMA table_info(requests)")}
        return [column for column in _ADDED_COLUMNS if column[0] not in have]

    if not missing():
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        for name, declaration, why in missing():
            db.execute(f"ALTER TABLE requests ADD COLUMN {name} {declaration}")
            log.info("outbox: added the %s column (%s)", name, why)
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


def open_database(path: Path, *, check: bool = True) -> sqlite3.Connection:
    """Create (private) or open the outbox file: WAL, ``synchronous=FULL``, ``secure_delete``, an
    optional ``quick_check``, the schema and its migration. StorageError when it cannot be used."""
    try:
        create_private(path)
        db = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
    except (OSError, sqlite3.Error) as exc:
        raise StorageError(f"outbox {path}: cannot open ({exc})") from exc
    try:
        db.execute("PRAGMA journal_mode=WAL").fetchone()
        db.execute("PRAGMA synchronous=FULL")
        # freed bytes (a purged body) are overwritten with zeros, not left in free pages
        db.execute("PRAGMA secure_delete=ON")
        if check:
            result = db.execute("PRAGMA quick_check").fetchone()[0]
            if result != "ok":
                raise sqlite3.DatabaseError(f"malformed: quick_check says {result}")
        db.executescript(SCHEMA)
        add_columns(db)
        db.execute("CREATE INDEX IF NOT EXISTS requests_number ON requests (number) WHERE number IS NOT NULL")
    except sqlite3.Error as exc:
        db.close()
        raise storage_error(path, exc) from exc
    return db
