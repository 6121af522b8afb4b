"""Console sessions: one row per logged-in browser, shared by every backend worker process.

The cookie holds 32 random bytes; the table holds only their sha256, the person, a CSRF token
and two times. A session ends at logout, after ``idle_s`` without a request (default 15 min), after
``max_age_s`` in all (default 12 h), when the person's password changes or the account is
disabled. Every state-changing form carries the session's CSRF token, compared in constant time.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass

from backend.staff import Account
from backend.store import Store

DEFAULT_IDLE_S = 15 * 60.0
DEFAULT_MAX_AGE_S = 12 * 3600.0


@dataclass(frozen=True)
class ConsoleSession:
    account: Account
    csrf: str
    created_ts: float


def _key(cookie: str) -> str:
    return hashlib.sha256(cookie.encode("utf-8")).hexdigest()


def open_session(store: Store, account: Account, now: float | None = None) -> tuple[str, ConsoleSession]:
    """A new session for ``account``: (the cookie's value, the session)."""
    now = time.time() if now is None else now
    cookie, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    with store.transaction() as cur:
        store._exec(
            cur,
            "INSERT INTO staff_sessions (session_hash, username, csrf, created_ts, last_seen_ts)"
            " VALUES (?, ?, ?, ?, ?)",
            (_key(cookie), account.username, csrf, now, now),
        )
    return cookie, ConsoleSession(account, csrf, now)


def load_session(
    store: Store,
    cookie: str,
    *,
    idle_s: float = DEFAULT_IDLE_S,
    max_age_s: float = DEFAULT_MAX_AGE_S,
    now: float | None = None,
) -> ConsoleSession | None:
    """The live session behind ``cookie`` (its idle clock restarted), or None: unknown, idle too
    long, too old, or its account disabled. A dead session's row is deleted."""
    if not cookie or len(cookie) > 128:
        return None
    now = time.time() if now is None else now
    key = _key(cookie)
    with store.transaction() as cur:
        row = store._exec(
            cur,
            "SELECT s.csrf, s.created_ts, s.last_seen_ts, a.username, a.role, a.disabled"
            " FROM staff_sessions s JOIN staff_accounts a ON a.username = s.username"
            " WHERE s.session_hash = ?",
            (key,),
        ).fetchone()
        if row is None:
            return None
        csrf, created, last_seen, username, role, disabled = row
        if disabled or now - last_seen > idle_s or now - created > max_age_s:
            store._exec(cur, "DELETE FROM staff_sessions WHERE session_hash = ?", (key,))
            return None
        store._exec(cur, "UPDATE staff_sessions SET last_seen_ts = ? WHERE session_hash = ?", (now, key))
    return ConsoleSession(Account(username, role, False), csrf, created)


def close_session(store: Store, cookie: str) -> None:
    with store.transaction() as cur:
        store._exec(cur, "DELETE FROM staff_sessions WHERE session_hash = ?", (_key(cookie),))


def purge_sessions(store: Store, idle_s: float = DEFAULT_IDLE_S, now: float | None = None) -> None:
    now = time.time() if now is None else now
    with store.transaction() as cur:
        store._exec(cur, "DELETE FROM staff_sessions WHERE last_seen_ts < ?", (now - idle_s,))


def csrf_ok(session: ConsoleSession, presented: str | None) -> bool:
    return bool(presented) and hmac.compare_digest(session.csrf.encode(), (presented or "").encode())
