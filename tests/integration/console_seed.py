"""A backend store with what the staff console shows: staff accounts, requests as kiosks file them
(one with the resident's photo, one paid), heartbeats of three kiosks (one silent) with step
analytics, and help alerts. Synthetic identities only."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import time
import uuid
from typing import Any

from backend import staff
from backend.alerts import store_alert
from backend.lookups import Lookups
from backend.store import Store
from contract.ids import uuid7

PASSWORD = "console-pass-1"
ACCOUNTS = {"alice": "reviewer", "sam": "supervisor", "root": "admin"}


def seed_accounts(store: Store) -> None:
    for user, role in ACCOUNTS.items():
        staff.add_account(store, user, role, PASSWORD)


def photo_jpeg() -> bytes:
    """A small synthetic ID-photo-like picture (a pale background, a head and shoulders)."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (180, 240), (236, 240, 246))
    draw = ImageDraw.Draw(img)
    draw.ellipse((55, 40, 125, 130), fill=(222, 184, 150))
    draw.rectangle((30, 150, 150, 240), fill=(40, 60, 90))
    draw.ellipse((40, 130, 140, 200), fill=(40, 60, 90))
    out = io.BytesIO()
    img.save(out, "JPEG", quality=85)
    return out.getvalue()


def _file(
    store: Store,
    sequence: int,
    request_type: str,
    payload: dict[str, Any],
    attachments: list[dict[str, Any]] | None = None,
) -> str:
    envelope = {
        "envelope_version": 1,
        "request_id": str(uuid7()),
        "kiosk_id": "KIOSK-0001",
        "sequence": sequence,
        "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "request_type": request_type,
        "request_version": 1,
        "test": False,
        "payload": payload,
        "attachments": attachments or [],
    }
    body = json.dumps(envelope, ensure_ascii=False).encode("utf-8")
    result = store.ingest("KIOSK-0001", uuid.uuid4().hex, int(time.time()), envelope, body)
    assert result.status == 201, result
    time.sleep(0.002)  # received_at orders the queue
    return str(envelope["request_id"])


def seed_requests(store: Store, lookups: Lookups) -> list[str]:
    """Three waiting requests, oldest first: a temporary certificate with the live photo, an ID
    card renewal paid by QR, a household certificate."""
    jpeg = photo_jpeg()
    photo = {
        "name": "live_photo",
        "media_type": "image/jpeg",
        "sha256": hashlib.sha256(jpeg).hexdigest(),
        "size": len(jpeg),
        "data_b64": base64.b64encode(jpeg).decode(),
    }
    first = _file(
        store,
        1,
        "household.temp_id_certificate",
        {
            "applicant": {"id_number": "990000199001010009", "name": "张三", "identified_by": "number_photo"},
            "fields": {"purpose": "travel", "phone": "13800000000", "verification_id": "9f1c" * 8},
        },
        [photo],
    )
    _status, pay = lookups.create_payment({"amount_fen": 2000, "purpose": "id_card"})
    lookups.payment(pay["payment_id"], "POST", "/simulate-paid")
    second = _file(
        store,
        2,
        "household.id_card_renewal",
        {
            "applicant": {
                "id_number": "990000198502020013",
                "name": "李四",
                "sex": "male",
                "address": "示例省示例市示例路 8 号",
                "identified_by": "card",
            },
            "fields": {
                "kind": "renewal",
                "reason": "expired",
                "delivery": "pickup",
                "phone": "13900000000",
                "payment_id": pay["payment_id"],
            },
        },
    )
    third = _file(
        store,
        3,
        "household.household_certificate",
        {
            "applicant": {"id_number": "990000197003030024", "name": "王五", "identified_by": "card"},
            "fields": {"purpose": "school", "copies": 1, "phone": "13700000000"},
        },
    )
    return [first, second, third]


def seed_fleet(store: Store) -> None:
    now = time.time()
    devices_ok = {
        "card_reader": {"state": "ok", "code": "ready", "detail": ""},
        "camera": {"state": "ok", "code": "ok", "detail": ""},
        "printer": {"state": "ok", "code": "ready", "detail": ""},
    }
    steps = [
        ("temp-id-certificate", "consent", "started", 40),
        ("temp-id-certificate", "consent", "abandoned", 3),
        ("temp-id-certificate", "identity", "started", 37),
        ("temp-id-certificate", "identity", "abandoned", 5),
        ("temp-id-certificate", "identity", "failed", 2),
        ("temp-id-certificate", "photo", "started", 30),
        ("temp-id-certificate", "photo", "timed_out", 6),
        ("temp-id-certificate", "review", "started", 24),
        ("temp-id-certificate", "review", "abandoned", 1),
        ("temp-id-certificate", "submit", "started", 23),
        ("id-card-renewal", "identity", "started", 12),
        ("id-card-renewal", "payment", "started", 11),
        ("id-card-renewal", "payment", "abandoned", 4),
        ("id-card-renewal", "submit", "started", 7),
    ]
    analytics = [{"service": s, "step": st, "outcome": o, "count": c} for s, st, o, c in steps]
    queue = {"pending": 0, "acknowledged": 120, "dead": 0, "oldest_pending_age_s": None}
    store.heartbeat(
        "KIOSK-0001",
        {"version": "0.1.0", "uptime_s": 86000, "mode": "production", "devices": devices_ok, "queue": queue},
        analytics,
        now - 20,
    )
    degraded = dict(
        devices_ok, printer={"state": "degraded", "code": "paper_near_end", "detail": "paper near end"}
    )
    store.heartbeat(
        "KIOSK-0002",
        {
            "version": "0.1.0",
            "uptime_s": 4000,
            "mode": "production",
            "devices": degraded,
            "queue": {"pending": 3, "acknowledged": 40, "dead": 0, "oldest_pending_age_s": 420.0},
        },
        [],
        now - 45,
    )
    down = dict(devices_ok, camera={"state": "down", "code": "unplugged", "detail": "no camera"})
    store.heartbeat(
        "KIOSK-0003",
        {"version": "0.0.9", "uptime_s": 100, "mode": "production", "devices": down, "queue": queue},
        [],
        now - 3 * 3600,
    )


def seed_alerts(store: Store) -> list[str]:
    ids = []
    for i, (kiosk, kind, screen, service, step) in enumerate(
        [
            ("KIOSK-0001", "help", "step", "temp-id-certificate", "photo"),
            ("KIOSK-0002", "maintenance_lockout", "maintenance", "", ""),
        ]
    ):
        alert_id = str(uuid.uuid4())
        alert = {
            "alert_id": alert_id,
            "kiosk_id": kiosk,
            "kind": kind,
            "screen": screen,
            "service": service,
            "step": step,
            "raised_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        }
        store_alert(store, alert, now=time.time() - 300 + i * 120)
        ids.append(alert_id)
    return ids
