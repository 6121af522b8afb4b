"""The staff tables (accounts, API tokens, console sessions, audit log): made with the store's
others (``backend/store.py`` appends them to its table list). The SQL is the same on SQLite and
PostgreSQL; no auto-increment column (the two spell it differently), so audit rows carry a
random id and are ordered by time. Logic: :mod:`backend.staff`, :mod:`backend.staff_sessions`.
"""

from __future__ import annotations

STAFF_TABLES = [
    # one row per person; password_hash is "scrypt$n$r$p$salt$hash" (backend/staff.py)
    """CREATE TABLE IF NOT EXISTS staff_accounts (
        username        TEXT PRIMARY KEY,
        password_hash   TEXT NOT NULL,
        role            TEXT NOT NULL,
        disabled        BOOLEAN NOT NULL DEFAULT FALSE,
        created_ts      DOUBLE PRECISION NOT NULL,
        failed_logins   INTEGER NOT NULL DEFAULT 0,
        locked_until_ts DOUBLE PRECISION NOT NULL DEFAULT 0)""",
    # a token is "kbt_<token_id>_<secret>"; only sha256(secret) is kept
    """CREATE TABLE IF NOT EXISTS staff_tokens (
        token_id     TEXT PRIMARY KEY,
        username     TEXT NOT NULL,
        secret_hash  TEXT NOT NULL,
        label        TEXT NOT NULL,
        created_ts   DOUBLE PRECISION NOT NULL,
        last_used_ts DOUBLE PRECISION NOT NULL DEFAULT 0,
        revoked      BOOLEAN NOT NULL DEFAULT FALSE)""",
    # console sessions: the key is sha256 of the cookie's value (a copy of the table opens none)
    """CREATE TABLE IF NOT EXISTS staff_sessions (
        session_hash TEXT PRIMARY KEY,
        username     TEXT NOT NULL,
        csrf         TEXT NOT NULL,
        created_ts   DOUBLE PRECISION NOT NULL,
        last_seen_ts DOUBLE PRECISION NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS staff_audit (
        audit_id TEXT PRIMARY KEY,
        ts       DOUBLE PRECISION NOT NULL,
        actor    TEXT NOT NULL,
        via      TEXT NOT NULL,
        action   TEXT NOT NULL,
        target   TEXT NOT NULL,
        detail   TEXT NOT NULL,
        peer     TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS staff_audit_ts ON staff_audit (ts)",
]
