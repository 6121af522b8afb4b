"""Alerts from kiosks (``POST /v1/alerts``) and the staff's list of open ones.

An alert says staff must come to a kiosk: kiosk id, kind, screen, service and step, when. Kinds:
``help`` (a resident asked for staff) and ``maintenance_lockout`` (wrong maintenance PINs locked
the technicians' pad: a prankster at work, or a technician who needs ``kiosk-tech maintenance
unlock``). It holds no personal data, and the backend refuses one with any other field.
``alert_id`` is the primary key, so a kiosk's retry after a lost answer stores nothing new (200
instead of 201).
The table is made with the store's others. An alert is ``open``, then ``acknowledged`` (someone
on staff is going: the console's 确认 button), then ``closed`` (attended). Staff list the alerts
not closed with ``kiosk-backend alerts`` and close them with ``--close ID`` or in the console; who
acknowledged and closed each is in the staff audit log.
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

from backend.store import Store

KINDS = ("help", "maintenance_lockout")
FIELDS = ("alert_id", "kiosk_id", "kind", "screen", "service", "step", "raised_at")
_ID_RE = re.compile(r"^[0-9a-f-]{36}$")
_NAME_RE = re.compile(r"^[A-Za-z0-9._-]{0,64}$")
_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z$")

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": list(FIELDS),
    "properties": {
        "alert_id": {"type": "string", "pattern": _ID_RE.pattern},
        "kiosk_id": {"type": "string", "description": "must be the signing key's kiosk"},
        "kind": {"enum": list(KINDS)},
        "screen": {"type": "string", "pattern": _NAME_RE.pattern},
        "service": {"type": "string", "pattern": _NAME_RE.pattern},
        "step": {"type": "string", "pattern": _NAME_RE.pattern},
        "raised_at": {"type": "string", "pattern": _TIME_RE.pattern, "description": "UTC"},
    },
}


def parse_alert(body: bytes, key_id: str) -> dict[str, str]:
    """The alert in ``body``, checked; ValueError names what is wrong."""
    doc = json.loads(body)
    if not isinstance(doc, dict):
        raise ValueError("the body is a JSON object")
    if set(doc) != set(FIELDS):
        extra, missing = sorted(set(doc) - set(FIELDS)), sorted(set(FIELDS) - set(doc))
        raise ValueError(f"fields must be exactly {', '.join(FIELDS)} (extra {extra}, missing {missing})")
    if not all(isinstance(doc[f], str) for f in FIELDS):
        raise ValueError("every field is a string")
    if doc["kiosk_id"] != key_id:
        raise ValueError("kiosk_id does not belong to the signing key")
    if doc["kind"] not in KINDS or not _ID_RE.match(doc["alert_id"]) or not _TIME_RE.match(doc["raised_at"]):
        raise ValueError(f"kind is one of {', '.join(KINDS)}, alert_id a UUID, raised_at UTC ISO 8601")
    if not all(_NAME_RE.match(doc[f]) for f in ("screen", "service", "step")):
        raise ValueError("screen, service and step are ids (letters, digits, . _ -)")
    return {f: doc[f] for f in FIELDS}


def store_alert(store: Store, alert: dict[str, str], now: float | None = None) -> bool:
    """Keep the alert; False when this alert_id was stored before (a retry)."""
    with store.transaction() as cur:
        done = store._exec(
            cur,
            "INSERT INTO alerts (alert_id, kiosk_id, kind, screen, service, step, raised_at, received_ts,"
            " status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'open') ON CONFLICT (alert_id) DO NOTHING",
            (*(alert[f] for f in FIELDS), time.time() if now is None else now),
        )
        return bool(done.rowcount)


def list_alerts(store: Store, include_closed: bool = False) -> list[dict[str, Any]]:
    where = "" if include_closed else " WHERE status <> 'closed'"
    with store.transaction() as cur:
        rows = store._exec(
            cur,
            "SELECT alert_id, kiosk_id, kind, screen, service, step, raised_at, received_ts, status"
            f" FROM alerts{where} ORDER BY received_ts, alert_id",
        ).fetchall()
    keys = (*FIELDS, "received_ts", "status")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def acknowledge_alert(store: Store, alert_id: str) -> bool:
    """Someone on staff is on the way. False when it is unknown, acknowledged or closed."""
    with store.transaction() as cur:
        done = store._exec(
            cur,
            "UPDATE alerts SET status = 'acknowledged' WHERE alert_id = ? AND status = 'open'",
            (alert_id,),
        )
        return bool(done.rowcount)


def close_alert(store: Store, alert_id: str) -> bool:
    """Staff came: the alert is closed. False when it is unknown or closed already."""
    with store.transaction() as cur:
        done = store._exec(
            cur,
            "UPDATE alerts SET status = 'closed', closed_ts = ? WHERE alert_id = ? AND status <> 'closed'",
            (time.time(), alert_id),
        )
        return bool(done.rowcount)
