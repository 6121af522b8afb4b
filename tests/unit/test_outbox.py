"""The outbox: durable submit, FIFO head, acknowledge/purge, dead-letter, full disk, corruption."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from contract.schemas import SchemaViolation
from kiosk.errors import StorageError
from kiosk.queue.outbox import Attachment, Outbox

APPLICANT = {"id_number": "990000199001010009", "name": "张三丰", "identified_by": "card", "sex": "male"}
CERT = {"applicant": APPLICANT, "fields": {"purpose": "school", "copies": 2, "phone": "13800000000"}}


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(tmp_path / "outbox.db", "KIOSK-T1")
    yield box  # type: ignore[misc]
    box.close()


def test_submit_freezes_the_envelope_and_numbers_requests_in_order(outbox: Outbox) -> None:
    photo = Attachment("photo", "image/jpeg", b"\xff\xd8fake-jpeg\xff\xd9")
    first = outbox.submit("household.household_certificate", 1, CERT)
    second = outbox.submit(
        "photo.id_photo",
        1,
        {"applicant": APPLICANT, "fields": {"spec": "passport", "photo_code": "P1"}},
        [photo],
    )
    assert (first.sequence, second.sequence) == (1, 2)
    assert first.request_id < second.request_id  # UUIDv7: time-ordered
    head = outbox.head()
    assert head is not None and head.request_id == first.request_id
    envelope = json.loads(head.body)
    assert envelope["kiosk_id"] == "KIOSK-T1" and envelope["sequence"] == 1
    assert envelope["request_type"] == "household.household_certificate" and envelope["test"] is False
    assert envelope["payload"] == CERT
    outbox.acknowledge(first.request_id, 201, '{"receipt": 1}')
    head2 = outbox.head()
    assert head2 is not None
    att = json.loads(head2.body)["attachments"][0]
    assert att["sha256"] == photo.sha256 and att["size"] == len(photo.data)


def test_a_submission_survives_reopening(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", "K") as box:
        sub = box.submit("household.household_certificate", 1, CERT)
    with Outbox(tmp_path / "o.db", "K") as box:
        head = box.head()
        assert head is not None and head.request_id == sub.request_id
        assert box.submit("household.household_certificate", 1, CERT).sequence == 2


def test_an_invalid_payload_is_refused_before_anything_is_stored(outbox: Outbox) -> None:
    bad = {"applicant": APPLICANT, "fields": {"purpose": "school", "copies": 9, "phone": "13800000000"}}
    with pytest.raises(SchemaViolation, match="copies"):
        outbox.submit("household.household_certificate", 1, bad)
    with pytest.raises(SchemaViolation, match="no schema"):
        outbox.submit("household.nonexistent", 1, CERT)
    assert outbox.status().pending == 0


def test_acknowledge_purges_personal_data_and_keeps_the_receipt(outbox: Outbox) -> None:
    sub = outbox.submit("household.household_certificate", 1, CERT)
    outbox.acknowledge(sub.request_id, 201, '{"request_id": "r"}')
    record = outbox.record(sub.request_id)
    assert record is not None
    assert record["status"] == "acknowledged" and record["has_body"] is False
    assert record["answer"] == '{"request_id": "r"}' and record["answer_status"] == 201
    raw = sqlite3.connect(outbox.path).execute("SELECT body FROM requests").fetchone()
    assert raw == (None,)
    assert outbox.head() is None


def test_defer_keeps_the_head_and_counts_attempts(outbox: Outbox) -> None:
    sub = outbox.submit("household.household_certificate", 1, CERT)
    outbox.submit("household.household_certificate", 1, CERT)
    outbox.defer(sub.request_id, 1e12, "HTTP 503")
    head = outbox.head()
    assert head is not None and head.request_id == sub.request_id  # strict FIFO: no overtaking
    assert head.attempts == 1 and head.next_attempt_ts == 1e12
    assert outbox.status().last_error == "HTTP 503"


def test_dead_letter_then_retry_dead(outbox: Outbox) -> None:
    a = outbox.submit("household.household_certificate", 1, CERT)
    b = outbox.submit("household.household_certificate", 1, CERT)
    outbox.dead_letter(a.request_id, 400, '{"error": "invalid_body"}')
    status = outbox.status()
    assert (status.pending, status.dead) == (1, 1)
    head = outbox.head()
    assert head is not None and head.request_id == b.request_id
    record = outbox.record(a.request_id)
    assert record is not None and record["answer"] == '{"error": "invalid_body"}' and record["has_body"]
    assert outbox.retry_dead() == 1
    head = outbox.head()
    assert head is not None and head.request_id == a.request_id  # back in its original place


def test_status_reports_the_oldest_pending_age(outbox: Outbox) -> None:
    assert outbox.status().oldest_pending_age_s is None
    outbox.submit("household.household_certificate", 1, CERT)
    age = outbox.status(now=10**10).oldest_pending_age_s
    assert age is not None and age > 10**9


def test_a_full_disk_refuses_the_submission_and_loses_nothing(tmp_path: Path) -> None:
    box = Outbox(tmp_path / "o.db", "K")
    kept = box.submit("household.household_certificate", 1, CERT)
    pages = box._db.execute("PRAGMA page_count").fetchone()[0]
    box._db.execute(f"PRAGMA max_page_count = {pages}")  # SQLite's own "disk full" (SQLITE_FULL)
    big = {"applicant": APPLICANT | {"address": "示" * 200}, "fields": CERT["fields"]}
    with pytest.raises(StorageError, match="disk full"):
        for _ in range(50):
            box.submit("household.household_certificate", 1, big)
    box.close()
    with Outbox(tmp_path / "o.db", "K") as again:
        head = again.head()
        assert head is not None and head.request_id == kept.request_id


def test_min_free_space_refuses_submissions_calmly(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", "K", min_free_bytes=10**18) as box:
        with pytest.raises(StorageError, match="disk full"):
            box.submit("household.household_certificate", 1, CERT)
        assert box.status().pending == 0


def test_a_corrupted_file_is_detected_at_open_and_left_in_place(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    with Outbox(path, "K") as box:
        for _ in range(20):
            box.submit("household.household_certificate", 1, CERT)
    data = bytearray(path.read_bytes())
    data[4096 : 4096 + 512] = b"\x5a" * 512  # scribble over a b-tree page
    path.write_bytes(bytes(data))
    for wal in (tmp_path / "o.db-wal", tmp_path / "o.db-shm"):
        wal.unlink(missing_ok=True)
    with pytest.raises(StorageError, match="damaged"):
        Outbox(path, "K")
    assert path.read_bytes() == bytes(data)


def test_a_file_that_is_not_a_database_is_reported_not_replaced(tmp_path: Path) -> None:
    path = tmp_path / "o.db"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageError, match="damaged"):
        Outbox(path, "K")
    assert path.read_bytes() == b"this is not sqlite" * 100


def test_two_processes_writing_the_same_outbox_never_share_a_sequence_number(tmp_path: Path) -> None:
    # the app and `kiosk-tech queue enqueue-test` may both hold the file open
    app = Outbox(tmp_path / "o.db", "K")
    tech = Outbox(tmp_path / "o.db", "K")
    numbers = [
        box.submit("household.household_certificate", 1, CERT).sequence for box in (app, tech, app, tech, app)
    ]
    assert numbers == [1, 2, 3, 4, 5]
    bodies = []
    while (head := app.head()) is not None:
        bodies.append(json.loads(head.body)["sequence"])
        app.acknowledge(head.request_id, 201, "{}")
    assert bodies == [1, 2, 3, 4, 5]
    app.close()
    tech.close()


def _settle(box: Outbox, request_id: str, settled_ts: float) -> None:
    box.acknowledge(request_id, 201, "{}")
    box._write("UPDATE requests SET settled_ts = ? WHERE request_id = ?", (settled_ts, request_id))


def test_retention_deletes_old_acknowledged_rows_only(outbox: Outbox) -> None:
    ids = [outbox.submit("household.household_certificate", 1, CERT).request_id for _ in range(6)]
    _settle(outbox, ids[0], 1000.0)
    _settle(outbox, ids[1], 1000.0)
    _settle(outbox, ids[2], 5000.0)  # settled after the cut-off
    outbox.dead_letter(ids[3], 422, "refused")  # the technician must still see it
    _settle(outbox, ids[5], 1000.0)  # old, but the newest row: it carries the numbering
    assert outbox.prune_acknowledged(2000.0) == 2
    assert [outbox.record(i) is None for i in ids] == [True, True, False, False, False, False]
    status = outbox.status()
    assert (status.pending, status.acknowledged, status.dead) == (1, 2, 1)
    head = outbox.head()
    assert head is not None and head.request_id == ids[4]  # the pending one still goes first


def test_after_pruning_everything_sequence_numbers_never_go_back(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", "K") as box:
        ids = [box.submit("household.household_certificate", 1, CERT).request_id for _ in range(7)]
        for request_id in ids:
            _settle(box, request_id, 1000.0)
        assert box.prune_acknowledged(2000.0, batch=2) == 6  # four batches, the newest row kept
        assert box.status().acknowledged == 1
    with Outbox(tmp_path / "o.db", "K") as box:  # a restart reads max(seq) + 1 again
        assert box.submit("household.household_certificate", 1, CERT).sequence == 8


def test_pruned_rows_leave_no_bytes_behind(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", "K") as box:
        ids = [box.submit("household.household_certificate", 1, CERT).request_id for _ in range(3)]
        for request_id in ids:
            _settle(box, request_id, 1000.0)
        assert box.prune_acknowledged(2000.0) == 2
    raw = (tmp_path / "o.db").read_bytes()
    assert ids[0].encode() not in raw and ids[1].encode() not in raw  # secure_delete zeroed them
    assert ids[2].encode() in raw
    wal = tmp_path / "o.db-wal"
    assert not wal.exists() or ids[0].encode() not in wal.read_bytes()


def test_each_request_gets_its_acceptance_number_in_the_envelope_and_the_row(tmp_path: Path) -> None:
    import datetime as dt

    from contract.ids import acceptance_number, is_acceptance_number
    from contract.schemas import validate_envelope

    with Outbox(tmp_path / "o.db", "KIOSK-T1", kiosk_number=42) as box:
        first = box.submit("household.household_certificate", 1, CERT)
        second = box.submit("household.household_certificate", 1, CERT)
        today = dt.date.today()
        assert first.number == acceptance_number(42, today, 1)
        assert second.number == acceptance_number(42, today, 2)
        assert is_acceptance_number(first.number) and first.number != second.number
        head = box.head()
        assert head is not None
        envelope = json.loads(head.body)
        assert envelope["acceptance_number"] == first.number
        validate_envelope(envelope)
        record = box.record(first.request_id)
        assert record is not None and record["number"] == first.number
        found = box.record_by_number(second.number)
        assert found is not None and found["request_id"] == second.request_id
        assert box.record_by_number("000000000000") is None


def test_a_file_from_before_acceptance_numbers_gains_the_column(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    with Outbox(path, "K") as box:
        old = box.submit("household.household_certificate", 1, CERT)
    db = sqlite3.connect(path)
    db.execute("DROP INDEX requests_number")
    db.execute("ALTER TABLE requests DROP COLUMN number")
    db.commit()
    db.close()
    with Outbox(path, "K") as box:
        record = box.record(old.request_id)
        assert record is not None and record["number"] is None  # an old row keeps no number
        assert box.submit("household.household_certificate", 1, CERT).number


def test_a_kiosk_number_out_of_range_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        Outbox(tmp_path / "o.db", "K", kiosk_number=1000)
