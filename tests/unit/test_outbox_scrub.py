"""After the backend's receipt, the purged body is gone from the outbox's FILES too, not only from
its rows: SQLite keeps old pages in the write-ahead log and freed pages in the database file."""

from __future__ import annotations

import os
from pathlib import Path

from kiosk.queue.outbox import Attachment, Outbox

NAME, ID_NUMBER = "张三丰", "990000199001010017"
PHOTO = os.urandom(3) + b"\xff\xd8" + bytes(range(256)) * 120  # 30 kB: the body spills to overflow pages
PAYLOAD = {
    "applicant": {"id_number": ID_NUMBER, "name": NAME, "identified_by": "card", "sex": "male"},
    "fields": {"purpose": "school", "copies": 1, "phone": "13800138000"},
}


def _files_hold(path: Path, needle: bytes) -> list[str]:
    return [p.name for p in path.parent.glob(path.name + "*") if needle in p.read_bytes()]


def test_acknowledged_bodies_leave_no_bytes_in_the_database_or_its_log(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with Outbox(path, "KIOSK-SCRUB") as outbox:
        ids = [
            outbox.submit(
                "household.household_certificate", 1, PAYLOAD, [Attachment("photo", "image/jpeg", PHOTO)]
            ).request_id
            for _ in range(3)
        ]
        assert _files_hold(path, NAME.encode()), "the probe must see the body while it is pending"
        for request_id in ids:
            outbox.acknowledge(request_id, 201, '{"receipt": "r"}')
        for needle in (NAME.encode(), ID_NUMBER.encode(), b"13800138000"):
            assert _files_hold(path, needle) == [], needle
        assert not (tmp_path / "outbox.db-wal").exists() or (tmp_path / "outbox.db-wal").stat().st_size == 0
    with Outbox(path, "KIOSK-SCRUB") as outbox:  # still a sound database with its receipts
        assert outbox.status().acknowledged == 3


def test_a_pending_body_is_kept_until_its_receipt(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    with Outbox(path, "KIOSK-SCRUB") as outbox:
        first = outbox.submit("household.household_certificate", 1, PAYLOAD).request_id
        outbox.submit("household.household_certificate", 1, PAYLOAD)
        outbox.acknowledge(first, 201, "{}")
        head = outbox.head()
        assert head is not None and NAME.encode() in head.body  # the second one still has to go out
