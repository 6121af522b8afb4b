"""Help alerts as rows of the one outbox: committed like requests, taken before them, counted for
technicians, delivered by the one worker with the requests' backoff; an outbox file from before
alerts gains its ``kind`` column, and an old ``alerts.db`` is imported once without losing any."""

from __future__ import annotations

import json
import random
import sqlite3
import time
from pathlib import Path

import pytest

from kiosk.queue.alerts import help_alert, import_legacy_alerts
from kiosk.queue.delivery import Backoff, Outcome, deliver_one
from kiosk.queue.outbox import Outbox
from kiosk.queue.rows import PendingRequest

TEST = {"fields": {"note": "t"}}


@pytest.fixture
def outbox(tmp_path: Path) -> Outbox:
    box = Outbox(tmp_path / "outbox.db", "KIOSK-T1")
    yield box  # type: ignore[misc]
    box.close()


class FakeSender:
    """Answers from a script; records the kind and id of what was sent."""

    def __init__(self, script: list[Outcome]) -> None:
        self.script = script
        self.sent: list[tuple[str, str, bytes]] = []

    def send(self, item: PendingRequest) -> Outcome:
        self.sent.append((item.kind, item.request_id, item.body))
        return self.script.pop(0) if self.script else Outcome("ack", 201, '{"stored":true}')


def _alert(box: Outbox, screen: str = "step", service: str = "test-form-only", step: str = "details") -> str:
    now = time.time()
    doc = help_alert(box.kiosk_id, screen, service, step, now)
    box.submit_alert(doc["alert_id"], doc, now)
    return doc["alert_id"]


def test_a_help_alert_is_a_committed_outbox_row_without_personal_data(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", "KIOSK-T1") as box:
        alert_id = _alert(box)
    with Outbox(tmp_path / "o.db", "KIOSK-T1") as box:  # on disk before raise returned
        record = box.record(alert_id)
        assert record is not None
        assert (record["kind"], record["status"], record["request_type"]) == (
            "alert",
            "pending",
            "alert.help",
        )
        head = box.head()
        assert head is not None and head.kind == "alert"
        body = json.loads(head.body)
    assert set(body) == {"alert_id", "kiosk_id", "kind", "screen", "service", "step", "raised_at"}
    assert (body["kiosk_id"], body["kind"], body["screen"], body["service"], body["step"]) == (
        "KIOSK-T1", "help", "step", "test-form-only", "details",
    )  # fmt: skip
    assert body["raised_at"].endswith("Z") and len(body["alert_id"]) == 36


def test_alerts_go_before_pending_requests_which_keep_their_order(outbox: Outbox) -> None:
    first = outbox.submit("system.test", 1, TEST)
    second = outbox.submit("system.test", 1, TEST)
    alert_id = _alert(outbox)
    sender = FakeSender([])
    backoff = Backoff(base_s=1, cap_s=1)
    while deliver_one(outbox, sender, backoff, time.time()) == 0.0:
        pass
    assert [(kind, rid) for kind, rid, _ in sender.sent] == [
        ("alert", alert_id), ("request", first.request_id), ("request", second.request_id),
    ]  # fmt: skip
    assert outbox.latest_id() == second.request_id  # the demo's last receipt is a request's


def test_alerts_are_counted_in_the_queue_status(outbox: Outbox) -> None:
    outbox.submit("system.test", 1, TEST)
    alert_id = _alert(outbox)
    status = outbox.status()
    assert (status.pending, status.alerts_pending) == (2, 1)
    assert status.as_dict()["alerts_pending"] == 1
    outbox.acknowledge(alert_id, 201, '{"stored":true}')
    status = outbox.status()
    assert (status.pending, status.acknowledged, status.alerts_pending) == (1, 1, 0)


def test_an_unreachable_backend_defers_an_alert_with_the_requests_backoff(outbox: Outbox) -> None:
    alert_id = _alert(outbox)
    sender = FakeSender([Outcome("retry", 0, "backend unreachable: ConnectionError")])
    backoff = Backoff(base_s=10, cap_s=10, rng=random.Random(3))
    wait = deliver_one(outbox, sender, backoff, time.time())
    assert wait is not None and 0 < wait <= 10
    record = outbox.record(alert_id)
    assert record is not None and record["status"] == "pending" and record["attempts"] == 1
    assert "unreachable" in record["last_error"]
    assert deliver_one(outbox, sender, backoff, time.time() + 11) == 0.0  # due again: delivered
    assert [rid for _, rid, _ in sender.sent] == [alert_id, alert_id]
    assert sender.sent[0][2] == sender.sent[1][2]  # the same frozen bytes: the id keeps a retry harmless
    assert (outbox.record(alert_id) or {})["status"] == "acknowledged"


def test_a_refused_alert_is_dead_lettered_for_the_technician(outbox: Outbox) -> None:
    alert_id = _alert(outbox)
    sender = FakeSender([Outcome("dead", 400, '{"error":"invalid_alert"}')])
    assert deliver_one(outbox, sender, Backoff(), time.time()) == 0.0
    dead = outbox.dead_letters()
    assert [(d.request_id, d.request_type, d.http_status) for d in dead] == [(alert_id, "alert.help", 400)]


def test_the_same_alert_id_is_stored_once(outbox: Outbox) -> None:
    now = time.time()
    doc = help_alert("KIOSK-T1", "home", "", "", now)
    first = outbox.submit_alert(doc["alert_id"], doc, now)
    again = outbox.submit_alert(doc["alert_id"], doc, now)
    assert first.sequence == again.sequence
    assert outbox.status().pending == 1
    later = outbox.submit("system.test", 1, TEST)
    assert (first.sequence, later.sequence) == (-1, 1)  # alerts count down, requests up


OLD_OUTBOX = """CREATE TABLE requests (
    seq INTEGER PRIMARY KEY, request_id TEXT NOT NULL UNIQUE, request_type TEXT NOT NULL,
    request_version INTEGER NOT NULL, created_at TEXT NOT NULL, created_ts REAL NOT NULL,
    test INTEGER NOT NULL DEFAULT 0,
    status TEXT NOT NULL CHECK (status IN ('pending', 'acknowledged', 'dead')), body BLOB,
    attempts INTEGER NOT NULL DEFAULT 0, next_attempt_ts REAL NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT '', answer_status INTEGER, answer TEXT, settled_ts REAL
)"""


def test_an_outbox_made_before_alerts_gains_the_kind_column_and_keeps_its_requests(tmp_path: Path) -> None:
    path = tmp_path / "outbox.db"
    db = sqlite3.connect(path)
    db.execute(OLD_OUTBOX)
    db.execute(
        "INSERT INTO requests (seq, request_id, request_type, request_version, created_at, created_ts,"
        " status, body) VALUES (7, '0190c0de-0000-7000-8000-000000000007', 'system.test', 1,"
        " '2026-11-28T20:00:00.000000Z', 1.0, 'pending', x'7b7d')"
    )
    db.commit()
    db.close()
    with Outbox(path, "K") as box:
        head = box.head()
        assert head is not None and (head.sequence, head.kind, head.body) == (7, "request", b"{}")
        alert_id = _alert(box)
        assert (box.record(alert_id) or {})["seq"] == -1
        assert box.submit("system.test", 1, TEST).sequence == 8  # the requests' numbering goes on
    with Outbox(path, "K") as box:  # opening again migrates nothing twice
        status = box.status()
        assert (status.pending, status.alerts_pending) == (3, 1)


OLD_ALERTS = """CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY, raised_at TEXT NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT NOT NULL DEFAULT ''
)"""


def _old_alerts_db(path: Path) -> dict[str, str]:
    pending = {
        "alert_id": "0190c0de-0000-4000-8000-000000000011", "kiosk_id": "KIOSK-T1", "kind": "help",
        "screen": "review", "service": "id-card-renewal", "step": "review", "raised_at": "2026-11-28T20:00:00Z",
    }  # fmt: skip
    sent = {**pending, "alert_id": "0190c0de-0000-4000-8000-000000000012"}
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute(OLD_ALERTS)
    for doc, status in ((pending, "pending"), (sent, "sent")):
        db.execute(
            "INSERT INTO alerts (alert_id, raised_at, body, status) VALUES (?, ?, ?, ?)",
            (doc["alert_id"], doc["raised_at"], json.dumps(doc), status),
        )
    db.commit()
    db.close()
    return pending


def test_pending_alerts_of_an_old_alerts_db_are_imported_once(tmp_path: Path, outbox: Outbox) -> None:
    legacy = tmp_path / "alerts.db"
    pending = _old_alerts_db(legacy)
    assert import_legacy_alerts(outbox, legacy) == 1
    assert not legacy.exists() and (tmp_path / "alerts.db.imported").exists()
    assert import_legacy_alerts(outbox, legacy) == 0  # nothing left to import
    head = outbox.head()
    assert head is not None and head.request_id == pending["alert_id"] and head.kind == "alert"
    assert json.loads(head.body) == pending  # the same wire body the old queue would have sent
    status = outbox.status()
    assert (status.pending, status.alerts_pending) == (1, 1)
    assert status.oldest_pending_age_s is not None and status.oldest_pending_age_s > 60  # raised long ago


def test_an_unreadable_alerts_db_is_left_in_place(tmp_path: Path, outbox: Outbox) -> None:
    legacy = tmp_path / "alerts.db"
    legacy.write_bytes(b"not a database" * 100)
    assert import_legacy_alerts(outbox, legacy) == 0
    assert legacy.read_bytes() == b"not a database" * 100 and outbox.status().pending == 0


def test_alerts_take_no_request_number_so_a_gap_in_the_sequence_still_means_a_missing_request(
    outbox: Outbox,
) -> None:
    first = outbox.submit("system.test", 1, TEST)
    _alert(outbox)
    _alert(outbox, screen="home")
    second = outbox.submit("system.test", 1, TEST)
    assert (first.sequence, second.sequence) == (1, 2)  # the envelopes' numbers have no gap
    sequences = []
    while (item := outbox.head()) is not None:
        if item.kind == "request":
            sequences.append(json.loads(item.body)["sequence"])
        outbox.acknowledge(item.request_id, 201, "{}")
    assert sequences == [1, 2]
