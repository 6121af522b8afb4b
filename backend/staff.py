"""Staff accounts, roles, API tokens and the audit log.

Each person on staff has an account: a username, a role, a disabled flag and a password hashed
with scrypt (``hashlib.scrypt``, standard library: memory-hard, no extra package). Parameters
``n=2**15, r=8, p=1`` take 32 MiB and about 0.2 s per hash (measured on the 2-core CI machine): a stolen table
costs an attacker the same per guess, and a login costs staff nothing they notice. They are
stored in each hash, so raising them later still verifies old hashes.

Roles (what each may do, :data:`PERMISSIONS`):

- ``reviewer``: the review queue (take, see, complete, reject, search) and residents' help alerts
  (acknowledge, close); the staff JSON API with their own token.
- ``supervisor``: all of that, plus the kiosk fleet and the audit log of everyone.
- ``admin``: all of that, plus accounts (``kiosk-backend staff ...`` from a shell, and the
  console's accounts page: disable an account, revoke tokens).

API tokens are per person: ``kbt_<id>_<secret>`` (32 random bytes). The backend keeps only
sha256 of the secret (a random secret needs no slow hash) and compares it with
``hmac.compare_digest``; the staff member acting is the token's owner, never a name the client
sends. Every staff action is one row of ``staff_audit``: who, via what (console, api, cli), what,
on which target, when, from where.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import ipaddress
import re
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any

from backend.store import Store

ROLES = ("reviewer", "supervisor", "admin")
PERMISSIONS: dict[str, frozenset[str]] = {
    "reviewer": frozenset({"review", "alerts"}),
    "supervisor": frozenset({"review", "alerts", "fleet", "audit"}),
    "admin": frozenset({"review", "alerts", "fleet", "audit", "accounts"}),
}
USERNAME_RE = re.compile(r"^[a-z][a-z0-9._-]{1,31}$")
MIN_PASSWORD = 10

SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_TOKEN_RE = re.compile(r"^kbt_([0-9a-f]{16})_([A-Za-z0-9_-]{43})$")

# lockout: after FREE_FAILURES wrong passwords in a row, the account waits LOCK_BASE_S, doubling
# with each further failure up to LOCK_MAX_S; a correct password (once unlocked) resets it
FREE_FAILURES = 5
LOCK_BASE_S = 30.0
LOCK_MAX_S = 15 * 60.0


def transport_ok(scheme: str, client_host: str) -> bool:
    """Staff routes (console and API) are served over HTTPS, or plain HTTP to this host only (a
    TLS-terminating proxy on the same host counts as this host)."""
    if scheme in ("https", "wss"):
        return True
    try:
        return ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        return False


class StaffError(Exception):
    """A staff operation that cannot be done (unknown user, bad role, weak password); one line."""


@dataclass(frozen=True)
class Account:
    username: str
    role: str
    disabled: bool

    def may(self, permission: str) -> bool:
        return not self.disabled and permission in PERMISSIONS.get(self.role, frozenset())


# -- passwords ------------------------------------------------------------------------------------


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(
        password.encode("utf-8"), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, maxmem=_SCRYPT_MAXMEM
    )
    b64 = base64.b64encode
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        want = base64.b64decode(digest)
        got = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(want),
        )
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, want)


# a hash to verify against when the username is unknown, so that answer takes as long as a wrong
# password (the time does not tell which usernames exist)
_DUMMY_HASH = ""


def _dummy_hash() -> str:
    global _DUMMY_HASH
    if not _DUMMY_HASH:
        _DUMMY_HASH = hash_password(secrets.token_urlsafe(16))
    return _DUMMY_HASH


def check_password_rules(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"the password needs at least {MIN_PASSWORD} characters")


# -- accounts -------------------------------------------------------------------------------------


def add_account(store: Store, username: str, role: str, password: str) -> Account:
    if not USERNAME_RE.match(username):
        raise StaffError(
            "a username is 2-32 lowercase letters, digits, '.', '_' or '-', starting with a letter"
        )
    if role not in ROLES:
        raise StaffError(f"role is one of {', '.join(ROLES)}")
    check_password_rules(password)
    hashed = hash_password(password)
    with store.transaction() as cur:
        store._exec(
            cur,
            "INSERT INTO staff_accounts (username, password_hash, role, disabled, created_ts)"
            " VALUES (?, ?, ?, FALSE, ?) ON CONFLICT DO NOTHING",
            (username, hashed, role, time.time()),
        )
        if cur.rowcount != 1:
            raise StaffError(f"account {username} exists already")
    return Account(username, role, False)


def get_account(store: Store, username: str) -> Account | None:
    with store.transaction() as cur:
        row = store._exec(
            cur, "SELECT username, role, disabled FROM staff_accounts WHERE username = ?", (username,)
        ).fetchone()
    return Account(row[0], row[1], bool(row[2])) if row else None


def list_accounts(store: Store) -> list[dict[str, Any]]:
    with store.transaction() as cur:
        rows = store._exec(
            cur,
            "SELECT username, role, disabled, created_ts, failed_logins, locked_until_ts"
            " FROM staff_accounts ORDER BY username",
        ).fetchall()
        tokens = dict(
            store._exec(
                cur, "SELECT username, count(*) FROM staff_tokens WHERE NOT revoked GROUP BY username"
            ).fetchall()
        )
    keys = ("username", "role", "disabled", "created_ts", "failed_logins", "locked_until_ts")
    out = [dict(zip(keys, row, strict=True)) for row in rows]
    for item in out:
        item["disabled"] = bool(item["disabled"])
        item["tokens"] = int(tokens.get(item["username"], 0))
    return out


def set_password(store: Store, username: str, password: str) -> None:
    check_password_rules(password)
    hashed = hash_password(password)
    with store.transaction() as cur:
        store._exec(
            cur,
            "UPDATE staff_accounts SET password_hash = ?, failed_logins = 0, locked_until_ts = 0"
            " WHERE username = ?",
            (hashed, username),
        )
        if cur.rowcount != 1:
            raise StaffError(f"no account {username}")
        # a new password ends every open console session of that person
        store._exec(cur, "DELETE FROM staff_sessions WHERE username = ?", (username,))


def set_disabled(store: Store, username: str, disabled: bool = True) -> None:
    """Disabling ends the person's sessions and revokes their tokens at once."""
    with store.transaction() as cur:
        store._exec(cur, "UPDATE staff_accounts SET disabled = ? WHERE username = ?", (disabled, username))
        if cur.rowcount != 1:
            raise StaffError(f"no account {username}")
        if disabled:
            store._exec(cur, "DELETE FROM staff_sessions WHERE username = ?", (username,))
            store._exec(cur, "UPDATE staff_tokens SET revoked = TRUE WHERE username = ?", (username,))


@dataclass(frozen=True)
class LoginResult:
    account: Account | None
    reason: str  # "" on success; bad_credentials | locked | disabled
    retry_after_s: float = 0.0


def check_login(store: Store, username: str, password: str, now: float | None = None) -> LoginResult:
    """Verify a console login, counting failures and locking the account after too many."""
    now = time.time() if now is None else now
    with store.transaction() as cur:
        row = store._exec(
            cur,
            "SELECT password_hash, role, disabled, failed_logins, locked_until_ts FROM staff_accounts"
            " WHERE username = ?",
            (username,),
        ).fetchone()
    if row is None:
        verify_password(password, _dummy_hash())
        return LoginResult(None, "bad_credentials")
    stored, role, disabled, failures, locked_until = row
    if locked_until > now:
        return LoginResult(None, "locked", locked_until - now)
    ok = verify_password(password, stored)
    with store.transaction() as cur:
        if ok:
            store._exec(
                cur,
                "UPDATE staff_accounts SET failed_logins = 0, locked_until_ts = 0 WHERE username = ?",
                (username,),
            )
        else:
            failures += 1
            lock = 0.0
            if failures >= FREE_FAILURES:
                lock = now + min(LOCK_MAX_S, LOCK_BASE_S * 2 ** (failures - FREE_FAILURES))
            store._exec(
                cur,
                "UPDATE staff_accounts SET failed_logins = ?, locked_until_ts = ? WHERE username = ?",
                (failures, lock, username),
            )
    if not ok:
        return LoginResult(None, "bad_credentials")
    if disabled:
        return LoginResult(None, "disabled")
    return LoginResult(Account(username, role, False), "")


# -- API tokens -----------------------------------------------------------------------------------


def _secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def create_token(store: Store, username: str, label: str = "") -> str:
    """A new API token for ``username``: shown once, kept only as a hash."""
    if get_account(store, username) is None:
        raise StaffError(f"no account {username}")
    token_id, secret = secrets.token_hex(8), secrets.token_urlsafe(32)
    with store.transaction() as cur:
        store._exec(
            cur,
            "INSERT INTO staff_tokens (token_id, username, secret_hash, label, created_ts, revoked)"
            " VALUES (?, ?, ?, ?, ?, FALSE)",
            (token_id, username, _secret_hash(secret), label[:64], time.time()),
        )
    return f"kbt_{token_id}_{secret}"


def list_tokens(store: Store, username: str = "") -> list[dict[str, Any]]:
    where, params = ("WHERE username = ?", (username,)) if username else ("", ())
    with store.transaction() as cur:
        rows = store._exec(
            cur,
            "SELECT token_id, username, label, created_ts, last_used_ts, revoked FROM staff_tokens"
            f" {where} ORDER BY created_ts",
            params,
        ).fetchall()
    keys = ("token_id", "username", "label", "created_ts", "last_used_ts", "revoked")
    return [dict(zip(keys, row, strict=True)) | {"revoked": bool(row[5])} for row in rows]


def revoke_token(store: Store, token_id: str) -> bool:
    with store.transaction() as cur:
        store._exec(
            cur, "UPDATE staff_tokens SET revoked = TRUE WHERE token_id = ? AND NOT revoked", (token_id,)
        )
        return bool(cur.rowcount == 1)


def account_for_token(store: Store, authorization: str | None) -> Account | None:
    """The enabled account whose token is in the ``Authorization: Bearer ...`` header, or None."""
    scheme, _, token = (authorization or "").partition(" ")
    match = _TOKEN_RE.match(token.strip()) if scheme.lower() == "bearer" else None
    if match is None:
        return None
    token_id, secret = match.groups()
    with store.transaction() as cur:
        row = store._exec(
            cur,
            "SELECT t.secret_hash, a.username, a.role, a.disabled FROM staff_tokens t"
            " JOIN staff_accounts a ON a.username = t.username WHERE t.token_id = ? AND NOT t.revoked",
            (token_id,),
        ).fetchone()
        if row is None or not hmac.compare_digest(row[0], _secret_hash(secret)) or row[3]:
            return None
        store._exec(
            cur, "UPDATE staff_tokens SET last_used_ts = ? WHERE token_id = ?", (time.time(), token_id)
        )
    return Account(row[1], row[2], False)


# -- audit ----------------------------------------------------------------------------------------

AUDIT_KEYS = ("audit_id", "ts", "actor", "via", "action", "target", "detail", "peer")


def audit(
    store: Store, actor: str, via: str, action: str, target: str = "", detail: str = "", peer: str = ""
) -> None:
    """One staff action, kept for good: ``actor`` is the account (or ``cli:<os user>``)."""
    with store.transaction() as cur:
        store._exec(
            cur,
            "INSERT INTO staff_audit (audit_id, ts, actor, via, action, target, detail, peer)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (str(uuid.uuid4()), time.time(), actor, via, action, target[:200], detail[:500], peer[:64]),
        )


def audit_log(
    store: Store,
    *,
    actor: str = "",
    action: str = "",
    target: str = "",
    since_ts: float = 0.0,
    until_ts: float = 0.0,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Audit rows, newest first, filtered by exact actor and action, target prefix, time range."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (("actor", actor), ("action", action)):
        if value:
            clauses.append(f"{column} = ?")
            params.append(value)
    if target:
        clauses.append("substr(target, 1, ?) = ?")
        params += [len(target), target]
    if since_ts:
        clauses.append("ts >= ?")
        params.append(since_ts)
    if until_ts:
        clauses.append("ts < ?")
        params.append(until_ts)
    where = f"WHERE {' AND '.join(clauses)}" if clauses else ""
    with store.transaction() as cur:
        rows = store._exec(
            cur,
            f"SELECT {', '.join(AUDIT_KEYS)} FROM staff_audit {where}"
            f" ORDER BY ts DESC, audit_id LIMIT {max(1, min(int(limit), 1000))}",
            params,
        ).fetchall()
    return [dict(zip(AUDIT_KEYS, row, strict=True)) for row in rows]
