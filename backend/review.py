"""The review queue as staff work it (console and staff JSON API alike), audited.

A reviewer takes the oldest waiting request (it becomes theirs: ``in_progress``, ``worker`` =
their username), sees it, and completes or rejects it with a reason the resident reads on the
status page. Only the person holding a request may finish it; a supervisor or admin may finish
any open request (someone went home with one). Every call names the acting :class:`Account`
(from a session or a token, never from the client) and writes one audit row.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any

from backend import staff
from backend.staff import Account
from backend.store import Store, utc_now

REQUEST_ID_RE = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")
MAX_REASON = 300


class ReviewError(Exception):
    """Refused: ``code`` is the API's error word (not_open, not_yours, reason_required, ...)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Actor:
    """Who acts, through what, from where (for the audit row)."""

    account: Account
    via: str  # console | api
    peer: str = ""

    def audit(self, store: Store, action: str, target: str = "", detail: str = "") -> None:
        staff.audit(store, self.account.username, self.via, action, target, detail, self.peer)


def take_next(store: Store, actor: Actor) -> dict[str, Any] | None:
    """Claim the oldest waiting request for the actor; its envelope, or None when none waits."""
    job = store.take(actor.account.username)
    if job is not None:
        actor.audit(store, "take", job["request_id"], job.get("request_type", ""))
    return job


def finish(store: Store, actor: Actor, request_id: str, status: str, reason: str = "") -> None:
    """Complete (``done``) or reject (``rejected``, reason required) a request the actor holds."""
    if status not in ("done", "rejected"):
        raise ValueError(status)
    reason = " ".join(reason.split())[:MAX_REASON]
    if status == "rejected" and not reason:
        raise ReviewError("reason_required", "a rejection needs a reason (the resident reads it)")
    if status == "done":
        reason = ""
    any_holder = actor.account.role in ("supervisor", "admin")
    with store.transaction() as cur:
        row = store._exec(
            cur, "SELECT status, worker FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        if row is None or row[0] not in ("received", "in_progress"):
            raise ReviewError("not_open", f"request {request_id} is unknown or finished already")
        if not any_holder and (row[0] != "in_progress" or row[1] != actor.account.username):
            raise ReviewError("not_yours", "take the request first; only its holder may finish it")
        store._exec(
            cur,
            "UPDATE requests SET status = ?, reason = ?, updated_at = ?"
            " WHERE request_id = ? AND status IN ('received', 'in_progress')",
            (status, reason, utc_now(), request_id),
        )
    actor.audit(store, "complete" if status == "done" else "reject", request_id, reason)


def release(store: Store, actor: Actor, request_id: str) -> None:
    """Put a taken request back at its place in the queue (the holder, or a supervisor/admin)."""
    any_holder = actor.account.role in ("supervisor", "admin")
    with store.transaction() as cur:
        row = store._exec(
            cur, "SELECT status, worker FROM requests WHERE request_id = ?", (request_id,)
        ).fetchone()
        if row is None or row[0] != "in_progress":
            raise ReviewError("not_open", f"request {request_id} is not being worked on")
        if not any_holder and row[1] != actor.account.username:
            raise ReviewError("not_yours", "only its holder may put it back")
        store._exec(
            cur,
            "UPDATE requests SET status = 'received', worker = '', updated_at = ?"
            " WHERE request_id = ? AND status = 'in_progress'",
            (utc_now(), request_id),
        )
    actor.audit(store, "release", request_id, f"held by {row[1]}")


def held_by(store: Store, username: str) -> list[dict[str, Any]]:
    """The requests a person holds (taken, not finished), oldest first."""
    with store.transaction() as cur:
        rows = store._exec(
            cur,
            "SELECT request_id, kiosk_id, request_type, received_at, updated_at FROM requests"
            " WHERE status = 'in_progress' AND worker = ? ORDER BY received_at",
            (username,),
        ).fetchall()
    keys = ("request_id", "kiosk_id", "request_type", "received_at", "updated_at")
    return [dict(zip(keys, r, strict=True)) for r in rows]


def detail(store: Store, actor: Actor, request_id: str) -> dict[str, Any] | None:
    """One request for a reviewer's eyes (personal data: the view is audited)."""
    if not REQUEST_ID_RE.match(request_id):
        return None
    with store.transaction() as cur:
        row = store._exec(
            cur,
            "SELECT envelope, status, reason, worker, received_at, updated_at FROM requests"
            " WHERE request_id = ?",
            (request_id,),
        ).fetchone()
    if row is None:
        return None
    envelope = json.loads(row[0])
    actor.audit(store, "view", request_id)
    keys = ("status", "reason", "worker", "received_at", "updated_at")
    return {"envelope": envelope, **dict(zip(keys, row[1:], strict=True))}


def attachment(store: Store, actor: Actor, request_id: str, index: int) -> tuple[str, bytes] | None:
    """(media type, bytes) of a request's ``index``-th attachment (the resident's photo)."""
    if not REQUEST_ID_RE.match(request_id):
        return None
    with store.transaction() as cur:
        row = store._exec(cur, "SELECT envelope FROM requests WHERE request_id = ?", (request_id,)).fetchone()
    if row is None:
        return None
    items = json.loads(row[0]).get("attachments", [])
    if not 0 <= index < len(items):
        return None
    item = items[index]
    if item.get("media_type") not in ("image/jpeg", "image/png"):
        return None
    actor.audit(store, "view_attachment", request_id, item.get("name", ""))
    return item["media_type"], base64.b64decode(item.get("data_b64", ""))


def search(store: Store, actor: Actor, query: str) -> list[dict[str, Any]]:
    """Requests matching a whole request id, its last 12 hex digits, or an acceptance number
    (受理号, 12 digits in any grouping) when the store can look one up."""
    text = query.strip().lower()
    compact = re.sub(r"[\s\-\u3000]", "", text)
    found: list[dict[str, Any]] = []
    if REQUEST_ID_RE.match(text):
        one = store.status(text)
        found = [one] if one else []
    elif re.fullmatch(r"[0-9a-f]{12}", compact) and not compact.isdigit():
        found = store.find_by_tail(compact)
    elif compact.isdigit():
        found = find_by_acceptance_number(store, compact)
        if not found and len(compact) == 12:
            found = store.find_by_tail(compact)  # 12 digits are also a valid hex tail
    actor.audit(store, "search", query.strip()[:64], f"{len(found)} found")
    return found


def find_by_acceptance_number(store: Store, digits: str) -> list[dict[str, Any]]:
    """The acceptance number (受理号) look-up: ``Store.find_by_number`` (added with the number on
    branch ``number``: one request or None); nothing while the store has no such method."""
    lookup = getattr(store, "find_by_number", None)
    if lookup is None:
        return []
    result = lookup(digits)
    if result is None:
        return []
    return list(result) if isinstance(result, list) else [result]
