"""Dead letters' bodies (the resident's envelope, photos included) are purged after
``outbox.keep_dead_days`` (default 30): the row, its metadata and the backend's refusal stay for
technicians, the body is zeroed like an acknowledged one, and an audit line names what went
(issue 21, item 5). Time is a fake clock: ``prune(now=...)`` days after the refusal."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kiosk.config.model import load_config
from kiosk.queue.delivery import DeliveryWorker, Outcome
from kiosk.queue.outbox import Attachment, Outbox, PendingRequest
from kiosk.queue.retention import Retention
from kiosk.tech import main as tech_main

APPLICANT = {"id_number": "990000199001010009", "name": "张三丰", "identified_by": "card", "sex": "male"}
PHOTO = {"applicant": APPLICANT, "fields": {"spec": "passport", "photo_code": "P1"}}
JPEG = b"\xff\xd8synthetic-face-" + b"\x17" * 64 + b"\xff\xd9"
DAY = 86400.0
REFUSAL = '{"error": "payload.fields.spec: unknown"}'


class NoSend:
    """A sender for a worker that only applies the retention here."""

    def send(self, item: PendingRequest) -> Outcome:
        raise AssertionError("nothing is delivered in these tests")


@pytest.fixture
def restore_umask() -> Iterator[None]:
    """``kiosk-tech`` sets umask 077 for its run; in-process, put the test's own back after."""
    old = os.umask(0o077)
    os.umask(old)
    try:
        yield
    finally:
        os.umask(old)


def _dead(box: Outbox) -> tuple[str, float]:
    """One photo request the backend refused; returns its id and when it was refused."""
    submitted = box.submit("photo.id_photo", 1, PHOTO, [Attachment("photo", "image/jpeg", JPEG)])
    box.dead_letter(submitted.request_id, 422, REFUSAL)
    record = box.record(submitted.request_id)
    assert record is not None and record["has_body"]
    return submitted.request_id, time.time()


def test_the_default_retention_of_dead_letters_bodies_is_30_days() -> None:
    config = load_config(None, environ={}, validate_devices=False)
    assert config.outbox.keep_dead_days == 30
    assert Retention.from_config(config).keep_dead_s == 30 * DAY


def test_a_dead_letters_body_is_kept_30_days_then_purged_with_its_refusal_kept(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with Outbox(tmp_path / "outbox.db", "KIOSK-T1") as box:
        request_id, refused_at = _dead(box)
        worker = DeliveryWorker(box, NoSend(), keep_dead_s=30 * DAY)
        worker.prune(now=refused_at + 29 * DAY)
        assert (box.record(request_id) or {})["has_body"]  # still within the retention
        assert box.dead_letters()[0].purged is False
        with caplog.at_level(logging.INFO):
            worker.prune(now=refused_at + 31 * DAY)
        record = box.record(request_id)
        assert record is not None and record["has_body"] is False
        assert (record["status"], record["answer_status"], record["answer"]) == ("dead", 422, REFUSAL)
        assert record["request_type"] == "photo.id_photo" and record["last_error"] == "HTTP 422"
        dead = box.dead_letters()
        assert [(d.request_id, d.http_status, d.answer, d.purged) for d in dead] == [
            (request_id, 422, REFUSAL, True)
        ]
        assert box.retry_dead() == 0 and box.head() is None  # nothing left to send
        assert box.status().dead == 1
        worker.prune(now=refused_at + 60 * DAY)  # purged once: no second audit line
    audit = [r.getMessage() for r in caplog.records if "outbox.purge_dead" in r.getMessage()]
    assert len(audit) == 1 and request_id in audit[0] and "seq 1" in audit[0] and "HTTP 422" in audit[0]
    assert APPLICANT["id_number"] not in audit[0] and APPLICANT["name"] not in audit[0]
    raw = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("outbox.db"))
    assert JPEG not in raw and APPLICANT["id_number"].encode() not in raw  # zeroed, not just unlinked
    assert request_id.encode() in raw


def test_a_fresh_dead_letter_can_still_be_retried(tmp_path: Path) -> None:
    with Outbox(tmp_path / "outbox.db", "K") as box:
        old_id, refused_at = _dead(box)
        fresh_id, _ = _dead(box)
        box._write("UPDATE requests SET settled_ts = ? WHERE request_id = ?", (refused_at - 40 * DAY, old_id))
        DeliveryWorker(box, NoSend(), keep_dead_s=30 * DAY).prune(now=refused_at)
        assert [d.purged for d in box.dead_letters()] == [True, False]
        assert box.retry_dead(old_id) == 0 and box.retry_dead() == 1
        head = box.head()
        assert head is not None and head.request_id == fresh_id


@pytest.mark.usefixtures("restore_umask")
def test_kiosk_tech_queue_prune_purges_old_dead_letters_bodies(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = tmp_path / "site.toml"
    site.write_text('[kiosk]\ndata_dir = "data"\n', encoding="utf-8")
    with Outbox(tmp_path / "data" / "outbox.db", "K") as box:
        old_id, refused_at = _dead(box)
        fresh_id, _ = _dead(box)
        box._write("UPDATE requests SET settled_ts = ? WHERE request_id = ?", (refused_at - 31 * DAY, old_id))
    assert tech_main(["queue", "prune", "--config", str(site)]) == 0
    out = capsys.readouterr().out
    assert "purged the bodies of 1 dead letters refused over 30 days ago" in out
    with Outbox(tmp_path / "data" / "outbox.db", "K") as box:
        assert [(d.request_id, d.purged) for d in box.dead_letters()] == [(old_id, True), (fresh_id, False)]
