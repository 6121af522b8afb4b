"""Delivery decisions (ack / retry / dead), backoff, Retry-After, and the worker thread with a fake
sender: FIFO, wake-up on submit, status through ``post``."""

from __future__ import annotations

import random
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from contract.signing import SigningKey
from kiosk.errors import ConfigError
from kiosk.queue.delivery import (
    Backoff,
    DeliveryWorker,
    HttpSender,
    Outcome,
    classify,
    deliver_one,
    parse_retry_after,
)
from kiosk.queue.outbox import Outbox, PendingRequest, QueueStatus
from tests.conftest import FakeUiThread, wait_until

TEST = {"fields": {"note": "t"}}


@pytest.mark.parametrize(
    ("status", "verdict"),
    [
        (201, "ack"),
        (200, "ack"),
        (409, "retry"),
        (429, "retry"),
        (500, "retry"),
        (503, "retry"),
        (401, "retry"),
        (403, "retry"),
        (400, "dead"),
        (404, "dead"),
        (413, "dead"),
        (422, "dead"),
        (301, "dead"),  # a redirect is refused, never followed (tests/integration/test_http_redirects.py)
        (307, "dead"),
        (308, "dead"),
    ],
)
def test_answers_are_classified_as_the_wire_contract_says(status: int, verdict: str) -> None:
    assert classify(status, "{}").verdict == verdict


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert parse_retry_after("120") == 120.0
    when = datetime(2065, 10, 21, 7, 28, tzinfo=UTC).timestamp()
    assert parse_retry_after("Wed, 21 Oct 2065 07:28:00 GMT", now=when - 80) == 80.0
    assert parse_retry_after("soon") is None and parse_retry_after(None) is None
    assert classify(503, "", "7").retry_after_s == 7.0


def test_backoff_is_full_jitter_under_a_growing_capped_ceiling() -> None:
    b = Backoff(base_s=1, cap_s=60, rng=random.Random(4))
    for attempts, ceiling in [(0, 1), (3, 8), (10, 60), (100, 60)]:
        delays = [b.delay(attempts) for _ in range(300)]
        assert max(delays) <= ceiling and min(delays) >= 0
        assert max(delays) > ceiling * 0.8  # spread over the whole range, not clustered
    assert b.delay(0, retry_after_s=30) >= 30  # Retry-After is a floor
    assert b.delay(0, retry_after_s=600) == 60  # but never above the cap (tests/unit/test_http_client.py)


def test_plain_http_is_refused_except_to_loopback() -> None:
    key = SigningKey("K", b"k" * 32)
    with pytest.raises(ConfigError, match=r"only allowed to 127\.0\.0\.1"):
        HttpSender("http://backend.example.org", key)
    sender = HttpSender("http://127.0.0.1:9", key)
    assert sender.session.trust_env is False and sender.session.verify is True
    sender.close()


class FakeSender:
    """Answers from a script; records what was sent."""

    def __init__(self, script: list[Outcome]) -> None:
        self.script = script
        self.sent: list[int] = []

    def send(self, item: PendingRequest) -> Outcome:
        self.sent.append(item.sequence)
        return self.script.pop(0) if self.script else Outcome("ack", 201, '{"ok":1}')


def test_deliver_one_retries_the_head_and_never_overtakes_it(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", "K") as box:
        a = box.submit("system.test", 1, TEST)
        box.submit("system.test", 1, TEST)
        sender = FakeSender([Outcome("retry", 503, "HTTP 503"), Outcome("dead", 400, "bad")])
        backoff = Backoff(base_s=10, cap_s=10, rng=random.Random(1))
        wait = deliver_one(box, sender, backoff, time.time())
        assert wait is not None and 0 < wait <= 10
        assert deliver_one(box, sender, backoff, time.time()) > 0  # type: ignore[operator]
        assert sender.sent == [1]  # not due yet: nothing sent, the second request waits behind
        assert deliver_one(box, sender, backoff, time.time() + 11) == 0.0  # due: dead-lettered
        assert deliver_one(box, sender, backoff, time.time() + 11) == 0.0  # then the second is acked
        assert deliver_one(box, sender, backoff, time.time()) is None
        assert sender.sent == [1, 1, 2]
        record = box.record(a.request_id)
        assert record is not None and record["status"] == "dead" and record["attempts"] == 2


def test_worker_delivers_on_wake_and_publishes_status_through_post(
    tmp_path: Path, ui_thread: FakeUiThread
) -> None:
    seen: list[QueueStatus] = []
    with Outbox(tmp_path / "o.db", "K") as box:
        sender = FakeSender([])
        worker = DeliveryWorker(box, sender, post=ui_thread.post, on_status=seen.append, status_every_s=30)
        worker.start()
        try:
            for _ in range(3):
                box.submit("system.test", 1, TEST)
            worker.wake()
            wait_until(lambda: box.status().acknowledged == 3)
            # the "UI thread" runs the callbacks; a status taken before the last receipt may come first
            ui_thread.run_until(lambda: bool(seen) and seen[-1].acknowledged == 3, what="the status")
        finally:
            worker.stop()
        assert sender.sent == [1, 2, 3]
        assert seen and seen[-1].pending == 0 and seen[-1].acknowledged == 3
        assert worker.status().acknowledged == 3


def test_worker_survives_a_sender_that_raises(tmp_path: Path) -> None:
    class Exploding:
        calls = 0

        def send(self, item: PendingRequest) -> Outcome:
            Exploding.calls += 1
            raise RuntimeError("bug")

    with Outbox(tmp_path / "o.db", "K") as box:
        box.submit("system.test", 1, TEST)
        worker = DeliveryWorker(box, Exploding())
        worker.start()
        wait_until(lambda: Exploding.calls >= 1)
        worker.stop()
        assert box.status().pending == 1


def test_worker_prunes_acknowledged_rows_past_the_retention_at_start(tmp_path: Path) -> None:
    with Outbox(tmp_path / "o.db", "K") as box:
        old = [box.submit("system.test", 1, TEST).request_id for _ in range(3)]
        for request_id in old:
            box.acknowledge(request_id, 201, "{}")
        box._write("UPDATE requests SET settled_ts = settled_ts - 40 * 86400", ())
        fresh = box.submit("system.test", 1, TEST)
        worker = DeliveryWorker(box, FakeSender([]), keep_acknowledged_s=30 * 86400, status_every_s=30)
        worker.start()
        try:
            wait_until(lambda: box.status().acknowledged == 1 and box.status().pending == 0)
        finally:
            worker.stop()
        assert [box.record(i) for i in old] == [None, None, None]
        assert (box.record(fresh.request_id) or {}).get("status") == "acknowledged"
        keep_all = DeliveryWorker(box, FakeSender([]), keep_acknowledged_s=0)
        box._write("UPDATE requests SET settled_ts = 0", ())
        assert keep_all.prune() == 0 and box.status().acknowledged == 1
