"""A card left on the reader after a visit is not read again for the next visit's session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from kiosk.steps.card_worker import CardRead, ReadFailed
from tests.unit.test_idcard_worker import CARD, FakeReader, Harness


@pytest.fixture
def harness() -> Iterator[Harness]:
    h = Harness(FakeReader())
    h.worker.start()
    h.wait(lambda: h.worker.status.status == "ready")
    yield h
    h.worker.stop()


def _left_asks(h: Harness) -> list[ReadFailed]:
    return [e for e in h.of(ReadFailed) if isinstance(e, ReadFailed) and e.reason == "card_left"]


def test_card_read_for_one_visit_is_not_read_for_the_next(harness: Harness) -> None:
    harness.reader.card = CARD
    harness.worker.request_read("visit-1")
    harness.wait(lambda: len(harness.of(CardRead)) == 1)
    harness.worker.cancel_read()
    harness.worker.request_read("visit-1")  # the same visit comes back to the card step: read again
    harness.wait(lambda: len(harness.of(CardRead)) == 2)
    harness.worker.request_read("visit-2")  # the next visitor: the card lying there is not theirs
    harness.wait(lambda: len(_left_asks(harness)) == 1)
    harness.polls(5)
    assert harness.reader.reads == 2 and len(harness.of(CardRead)) == 2
    harness.reader.card = None  # taken away, then the visitor's own card
    harness.polls(3)
    harness.worker.request_read("visit-2")  # what the step does on CardRemoved
    harness.reader.card = CARD
    harness.wait(lambda: len(harness.of(CardRead)) == 3)
    assert len(_left_asks(harness)) == 1


def test_card_placed_before_the_visit_is_read_for_it(harness: Harness) -> None:
    harness.reader.card = CARD  # laid on the reader at the attract screen: it starts the visit
    harness.polls(3)
    harness.worker.request_read("visit-1")
    harness.wait(lambda: len(harness.of(CardRead)) == 1)
    assert _left_asks(harness) == []


def test_without_an_owner_any_card_is_read(harness: Harness) -> None:
    harness.reader.card = CARD
    harness.worker.request_read("visit-1")
    harness.wait(lambda: len(harness.of(CardRead)) == 1)
    harness.worker.request_read()  # technicians' card test
    harness.wait(lambda: len(harness.of(CardRead)) == 2)
    assert _left_asks(harness) == []
