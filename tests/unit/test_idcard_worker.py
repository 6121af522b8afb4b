"""CardReaderWorker over a fake reader: events, one read per placement, unplug and re-plug, stop."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceDisconnected, DeviceError, DeviceNotFound, DeviceTimeout
from drivers.idcard.base import CardReadFailed, CardType, IdCard, Presence, SamError
from kiosk.steps.card_worker import (
    CardEvent,
    CardPlaced,
    CardRead,
    CardReaderWorker,
    CardRemoved,
    ReaderStatus,
    ReadFailed,
)
from tests.conftest import FakeUiThread, wait_until

CARD = IdCard(
    card_type=CardType.RESIDENT,
    name="李四",
    sex="女",
    id_number="993300196502010045",
    birth_date=dt.date(1965, 2, 1),
    valid_from=dt.date(2015, 1, 1),
    valid_to=dt.date(2025, 1, 1),
)
TODAY = dt.date(2026, 11, 28)


class FakeReader:
    simulated = True

    def __init__(self) -> None:
        self.port = "fake0"
        self.card: IdCard | None = None
        self.plugged = True
        self.read_error: DeviceError | None = None
        self.vanish_on_read = False
        self.reads = 0
        self.finds = 0
        self.opens = 0
        self.block = threading.Event()  # set: read_card blocks until close()
        self.closed = threading.Event()

    def open(self) -> None:
        self.opens += 1
        if not self.plugged:
            raise DeviceNotFound("port not found", port=self.port)
        self.closed.clear()

    def find_card(self) -> Presence:
        self.finds += 1
        if not self.plugged or self.closed.is_set():
            raise DeviceDisconnected("gone", port=self.port)
        return Presence.CARD if self.card else Presence.NO_CARD

    def read_card(self, *, fingerprint: bool = False) -> IdCard | Presence:
        self.reads += 1
        if self.block.is_set():
            self.closed.wait(5)
            raise DeviceDisconnected("reader closed")
        if self.read_error is not None:
            raise self.read_error
        if self.vanish_on_read:
            self.card = None
            return Presence.NO_CARD
        return self.card or Presence.NO_CARD

    def sam_id(self) -> str:
        return "00"

    def health(self) -> DeviceHealth:
        return DeviceHealth(Health.OK, "ready")

    def close(self) -> None:
        self.closed.set()


class Harness:
    def __init__(self, reader: FakeReader) -> None:
        self.reader = reader
        self.events: list[CardEvent] = []
        self.worker = CardReaderWorker(
            reader, post=lambda fn: fn(), poll_interval_s=0.01, backoff_s=(0.01, 0.05), today=lambda: TODAY
        )
        self.worker.subscribe(self.events.append)

    def wait(self, predicate: Callable[[], bool], timeout: float = 3.0) -> None:
        wait_until(predicate, timeout, "the worker", interval_s=0.005, detail=lambda: self.events)

    def polls(self, count: int) -> None:
        """Wait until the worker has polled ``count`` more times."""
        target = self.reader.finds + count
        self.wait(lambda: self.reader.finds >= target)

    def of(self, kind: type) -> list[CardEvent]:
        return [e for e in list(self.events) if isinstance(e, kind)]


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness(FakeReader())
    h.worker.start()
    h.wait(lambda: h.worker.status.status == "ready")
    yield h
    h.worker.stop()


def test_placed_read_once_and_removed(harness: Harness) -> None:
    harness.worker.request_read()
    harness.reader.card = CARD
    harness.wait(lambda: bool(harness.of(CardRead)))
    harness.polls(5)  # many more polls with the card still there
    assert harness.reader.reads == 1
    read = harness.of(CardRead)[0]
    assert isinstance(read, CardRead) and read.card is CARD
    assert [r.code for r in read.refusals] == ["expired"] and not read.accepted
    harness.reader.card = None
    harness.wait(lambda: bool(harness.of(CardRemoved)))
    kinds = [type(e) for e in harness.events if not isinstance(e, ReaderStatus)]
    assert kinds == [CardPlaced, CardRead, CardRemoved]


def test_no_read_until_a_screen_asks_and_then_the_card_already_there_is_read(harness: Harness) -> None:
    harness.reader.card = CARD
    harness.wait(lambda: bool(harness.of(CardPlaced)))
    harness.polls(5)
    assert harness.reader.reads == 0
    harness.worker.request_read()
    harness.wait(lambda: bool(harness.of(CardRead)))
    assert harness.reader.reads == 1


def test_cancel_read_stops_interest(harness: Harness) -> None:
    harness.worker.request_read()
    harness.worker.cancel_read()
    harness.reader.card = CARD
    harness.wait(lambda: bool(harness.of(CardPlaced)))
    harness.polls(5)
    assert harness.reader.reads == 0


def test_failed_read_is_reported_once_then_retried_on_request(harness: Harness) -> None:
    harness.reader.read_error = CardReadFailed("card read failed", sw3=0x41, reason="read_failed")
    harness.worker.request_read()
    harness.reader.card = CARD
    harness.wait(lambda: bool(harness.of(ReadFailed)))
    harness.polls(5)
    failed = harness.of(ReadFailed)
    assert len(failed) == 1 and harness.reader.reads == 1
    assert isinstance(failed[0], ReadFailed) and failed[0].message_key == "idcard.error.read_failed"
    harness.reader.read_error = None
    harness.worker.request_read()  # the screen's "try again"
    harness.wait(lambda: bool(harness.of(CardRead)))


def test_replacing_the_card_reads_again_while_wanted(harness: Harness) -> None:
    harness.reader.read_error = DeviceTimeout("reply incomplete")
    harness.worker.request_read()
    harness.reader.card = CARD
    harness.wait(lambda: bool(harness.of(ReadFailed)))
    assert harness.of(ReadFailed)[0] == ReadFailed(
        "communication", "idcard.error.communication", "reply incomplete"
    )
    harness.reader.read_error = None
    harness.reader.card = None
    harness.wait(lambda: bool(harness.of(CardRemoved)))
    harness.reader.card = CARD
    harness.wait(lambda: bool(harness.of(CardRead)))
    assert harness.reader.reads == 2


def test_card_removed_mid_read(harness: Harness) -> None:
    harness.reader.vanish_on_read = True
    harness.worker.request_read()
    harness.reader.card = CARD
    harness.wait(lambda: bool(harness.of(CardRemoved)))
    assert harness.of(ReadFailed)[0] == ReadFailed("card_removed", "idcard.error.card_removed")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (SamError("SAM self-test failed", sw3=0x60, reason="sam_self_test"), "reader_fault"),
        (CardReadFailed("unknown card type", sw3=0x40, reason="unknown_card_type"), "unknown_card"),
    ],
)
def test_failure_reasons(harness: Harness, error: DeviceError, reason: str) -> None:
    harness.reader.read_error = error
    harness.worker.request_read()
    harness.reader.card = CARD
    harness.wait(lambda: bool(harness.of(ReadFailed)))
    event = harness.of(ReadFailed)[0]
    assert isinstance(event, ReadFailed) and event.reason == reason


def test_unplug_reports_disconnected_and_replug_recovers(harness: Harness) -> None:
    harness.reader.card = CARD
    harness.wait(lambda: bool(harness.of(CardPlaced)))
    harness.reader.plugged = False
    harness.wait(lambda: harness.worker.status.status == "disconnected")
    assert harness.of(CardRemoved), "a card on a vanished reader is no longer known to be there"
    opens = harness.reader.opens
    harness.wait(lambda: harness.reader.opens >= opens + 3)  # keeps trying, with backoff
    harness.reader.plugged = True
    harness.wait(lambda: harness.worker.status.status == "ready")
    harness.worker.request_read()
    harness.wait(lambda: bool(harness.of(CardRead)))
    statuses = [e.status for e in harness.of(ReaderStatus) if isinstance(e, ReaderStatus)]
    assert statuses[:1] == ["ready"] and "disconnected" in statuses and statuses[-1] == "ready"


def test_stop_joins_promptly_even_mid_read() -> None:
    h = Harness(FakeReader())
    h.reader.block.set()
    h.reader.card = CARD
    h.worker.request_read()
    h.worker.start()
    h.wait(lambda: h.reader.reads == 1)
    started = time.monotonic()
    h.worker.stop()
    assert time.monotonic() - started < 1.0
    assert h.worker.status.status == "stopped"


def test_unsubscribed_listener_hears_nothing_more(harness: Harness) -> None:
    heard: list[CardEvent] = []
    unsubscribe = harness.worker.subscribe(heard.append)
    harness.reader.card = CARD
    harness.wait(lambda: bool(heard))
    unsubscribe()
    count = len(heard)
    harness.reader.card = None
    harness.wait(lambda: bool(harness.of(CardRemoved)))
    assert len(heard) == count


def test_events_go_through_post(ui_thread: FakeUiThread) -> None:
    reader = FakeReader()
    worker = CardReaderWorker(reader, post=ui_thread.post, poll_interval_s=0.01)
    heard: list[CardEvent] = []
    worker.subscribe(heard.append)
    worker.start()
    wait_until(lambda: not ui_thread.posted.empty(), 3, "a posted event")
    worker.stop()
    assert not heard  # nothing runs until the UI thread runs what was posted
    ui_thread.run_pending()
    assert heard[0] == ReaderStatus("ready", "fake0")


def test_step_states_for_the_screen() -> None:
    from kiosk.services.idnumber import Refusal
    from kiosk.steps.card_worker import INITIAL_STEP, StepPhase, step_after

    good = IdCard(
        card_type=CardType.RESIDENT,
        name="张三丰",
        id_number="99010119800315031X",
        birth_date=dt.date(1980, 3, 15),
        valid_from=dt.date(2016, 5, 1),
    )
    state = step_after(INITIAL_STEP, CardPlaced())
    assert state.phase is StepPhase.READING and state.message_key == "idcard.step.reading"
    done = step_after(state, CardRead(good))
    assert done.phase is StepPhase.DONE and done.card is good and not done.can_retry
    assert done.values == {"name": "张**", "id_number": "9901**********031X"}
    assert step_after(done, CardRemoved()) is done  # taking the card back after reading is expected
    refused = step_after(state, CardRead(CARD, (Refusal("expired", "idcard.refusal.expired"),)))
    assert refused.phase is StepPhase.REFUSED and refused.message_key == "idcard.refusal.expired"
    assert refused.can_retry and refused.values == {}
    failed = step_after(state, ReadFailed("read_failed", "idcard.error.read_failed"))
    assert failed.phase is StepPhase.FAILED and failed.can_retry
    assert step_after(failed, CardRemoved()) == INITIAL_STEP
    down = step_after(state, ReaderStatus("disconnected", "gone"))
    assert down.phase is StepPhase.READER_DOWN
    assert step_after(down, ReaderStatus("ready", "fake0")) == INITIAL_STEP
    assert step_after(INITIAL_STEP, ReaderStatus("ready")) is INITIAL_STEP
