"""The payment step's rules without Kivy (kiosk/steps/payment.py): a fake provider, a fake clock and
a runner that does the background calls on the spot."""

from __future__ import annotations

import threading
import time

import pytest

from kiosk.steps.payment import (
    CLOSING,
    EXPIRED,
    PAYMENT_TIMEOUT_S,
    UNCONFIRMED,
    WAITING,
    PaymentEngine,
    PaymentState,
    amount_due,
)
from kiosk.visit.session import Session
from kiosk.work import Tasks, post_inline
from tests.unit.engine_fakes import FakeClock, FakeProvider, InlineRunner

FEE_FEN = 5000


class Harness:
    def __init__(self, *, hold: bool = False, violations_fen: int | None = None) -> None:
        self.clock = FakeClock()
        self.provider = FakeProvider()
        self.runner = InlineRunner(hold=hold)
        self.session = Session("zh", clock=self.clock)
        if violations_fen is not None:
            self.session.artifacts["violations"] = {"violation_ids": ["v1"], "amount_fen": violations_fen}
        self.seen: list[PaymentState] = []
        self.engine = self.make()

    def make(self) -> PaymentEngine:
        return PaymentEngine(
            self.session,
            fee_fen=FEE_FEN,
            purpose="vehicle.traffic_fine",
            clients=self.provider.new_client,
            tasks=self.runner,
            clock=self.clock,
            on_change=self.seen.append,
        )

    @property
    def state(self) -> PaymentState:
        return self.engine.state

    def phases(self) -> list[str]:
        return [s.phase for s in self.seen]

    def expire(self) -> None:
        """The payment window passes; the screen's next timer tick sees it."""
        self.clock.advance(PAYMENT_TIMEOUT_S + 1)
        self.engine.tick()


@pytest.fixture
def pay() -> Harness:
    harness = Harness()
    harness.engine.start()
    return harness


def test_the_fee_or_the_chosen_violations_are_due() -> None:
    assert amount_due({}, FEE_FEN) == FEE_FEN
    assert amount_due({"violations": {"violation_ids": ["a"], "amount_fen": 20000}}, FEE_FEN) == 20000


def test_paid_in_time_continues_with_the_payment_in_the_session(pay: Harness) -> None:
    assert pay.phases()[:2] == ["busy", WAITING]
    assert pay.seen[0].message_key == "lookup.payment_busy" and pay.seen[0].busy
    state = pay.state
    assert state.phase == WAITING and not state.busy and not state.refused
    assert state.message_key == "lookup.payment_scan" and state.amount_fen == FEE_FEN
    order = pay.provider.created[0]
    assert state.qr_text == f"wxp://f2f0{order}"
    assert pay.provider.calls == [("create", "vehicle.traffic_fine"), ("status", order)]  # polled at once
    pay.engine.tick()
    assert pay.state.phase == WAITING and pay.provider.calls[-1] == ("status", order)
    pay.provider.pay(order)
    pay.clock.advance(PAYMENT_TIMEOUT_S - 5)  # still inside the window
    pay.engine.tick()
    assert pay.state.phase == "done" and pay.state.qr_text == ""
    assert pay.session.artifacts["payment"] == {
        "payment_id": order, "amount_fen": FEE_FEN, "fiscal_receipt_no": f"FR-{order}",  # for the receipt
    }  # fmt: skip
    assert pay.provider.charged == [order] and pay.provider.amounts[order] == FEE_FEN
    calls = len(pay.provider.calls)
    pay.engine.tick()  # a late tick does nothing more
    assert len(pay.provider.calls) == calls
    assert pay.provider.opened == pay.provider.closed  # every client closed after its call


def test_expiry_cancel_answers_cancelled_offers_pay_again(pay: Harness) -> None:
    order = pay.provider.created[0]
    pay.expire()
    assert CLOSING in pay.phases()
    closing = next(s for s in pay.seen if s.phase == CLOSING)
    assert closing.busy and closing.qr_text == "" and closing.message_key == "lookup.payment_closing"
    state = pay.state
    assert state.phase == EXPIRED and state.refused and state.can_retry and not state.busy
    assert state.retry_key == "lookup.payment_again" and state.message_key == "lookup.payment_expired"
    assert pay.provider.orders[order] == "cancelled" and pay.provider.calls[-1] == ("cancel", order)
    assert "payment" not in pay.session.artifacts and pay.state.qr_text == ""


def test_expiry_cancel_answers_paid_is_taken_as_paid(pay: Harness) -> None:
    order = pay.provider.created[0]
    pay.provider.pay(order)  # paid in the last second; no poll saw it before the window closed
    pay.expire()
    assert pay.phases()[-2:] == [CLOSING, "done"]
    assert pay.session.artifacts["payment"]["payment_id"] == order
    assert pay.provider.charged == [order] and len(pay.provider.created) == 1


def test_expiry_cancel_unanswered_says_do_not_pay_again(pay: Harness) -> None:
    pay.provider.fail["cancel"] = 1
    pay.expire()
    state = pay.state
    assert state.phase == UNCONFIRMED and state.refused and not state.can_retry and not state.offline
    assert state.message_key == "lookup.payment_unconfirmed" and state.qr_text == ""
    pay.engine.retry()  # no retry button; and a forwarded touch must not make a second code either
    assert len(pay.provider.created) == 1 and pay.state.phase == UNCONFIRMED
    assert "payment" not in pay.session.artifacts


def test_pay_again_after_a_confirmed_expiry_charges_only_the_new_order(pay: Harness) -> None:
    first = pay.provider.created[0]
    pay.expire()
    assert pay.state.can_retry
    pay.engine.retry()
    second = pay.provider.created[1]
    state = pay.state
    assert state.phase == WAITING and state.qr_text == f"wxp://f2f0{second}"
    assert not state.refused and not state.can_retry and state.retry_key == "lookup.retry"
    pay.provider.pay(second)
    pay.engine.tick()  # the new order has its own window: the clock already past the old one
    assert pay.state.phase == "done"
    assert pay.provider.charged == [second] and pay.provider.orders[first] == "cancelled"
    assert pay.session.artifacts["payment"]["payment_id"] == second


def test_never_charged_twice_in_one_visit() -> None:
    harness = Harness()
    harness.session.artifacts["payment"] = {"payment_id": "pay-earlier", "amount_fen": FEE_FEN}
    harness.engine.start()  # back to the payment step after paying: nothing asked, done at once
    assert harness.phases() == ["done"] and harness.provider.calls == [] and harness.provider.opened == 0
    harness.engine.leave()
    assert harness.provider.calls == []  # a paid order is never cancelled


def test_a_changed_amount_is_a_new_payment() -> None:
    harness = Harness(violations_fen=20000)
    harness.session.artifacts["payment"] = {"payment_id": "pay-earlier", "amount_fen": 15000}
    harness.engine.start()
    assert harness.state.phase == WAITING and harness.state.amount_fen == 20000
    assert harness.provider.amounts[harness.provider.created[0]] == 20000


def test_leaving_cancels_an_unpaid_order_and_drops_late_answers() -> None:
    harness = Harness(hold=True)
    harness.engine.start()
    harness.runner.finish("backend-payment")
    order = harness.provider.created[0]
    assert harness.state.phase == WAITING and harness.runner.pending[0].name == "payment-poll"
    harness.provider.pay(order)  # the poll in flight would see it paid ...
    harness.engine.leave()  # ... but the resident left first
    harness.runner.finish_all()
    assert harness.state.phase == WAITING and "payment" not in harness.session.artifacts
    assert harness.provider.calls[-1] == ("cancel", order)  # asked to cancel; it was paid: logged
    harness.engine.leave()  # teardown twice: one cancel
    assert [c for c in harness.provider.calls if c[0] == "cancel"] == [("cancel", order)]


def test_leaving_an_unpaid_order_cancels_it_at_the_provider(pay: Harness) -> None:
    order = pay.provider.created[0]
    pay.engine.leave()
    assert pay.provider.orders[order] == "cancelled" and pay.provider.charged == []
    pay.engine.tick()
    pay.engine.retry()
    assert len(pay.provider.created) == 1  # nothing happens after leaving


def test_leaving_a_paid_order_never_cancels_it(pay: Harness) -> None:
    order = pay.provider.created[0]
    pay.provider.pay(order)
    pay.engine.tick()
    assert pay.state.phase == "done"
    pay.engine.leave()
    assert ("cancel", order) not in pay.provider.calls and pay.provider.charged == [order]


def test_leaving_after_a_confirmed_expiry_asks_nothing_more(pay: Harness) -> None:
    pay.expire()
    calls = len(pay.provider.calls)
    pay.engine.leave()
    assert len(pay.provider.calls) == calls


def test_leaving_while_the_order_is_made_cancels_it_once_made() -> None:
    harness = Harness(hold=True)
    harness.engine.start()
    harness.engine.leave()
    harness.runner.finish_all()  # the order arrives after the resident left
    order = harness.provider.created[0]
    assert harness.provider.orders[order] == "cancelled" and harness.state.qr_text == ""


def test_poll_failures_are_retried_while_the_code_shows(pay: Harness) -> None:
    order = pay.provider.created[0]
    pay.provider.fail["status"] = 3
    for _ in range(3):
        pay.engine.tick()
        assert pay.state.phase == WAITING and pay.state.message_key == "lookup.payment_scan"
        assert not pay.state.offline and pay.state.qr_text
    pay.provider.pay(order)
    pay.engine.tick()
    assert pay.state.phase == "done" and pay.provider.charged == [order]
    assert len(pay.provider.created) == 1


def test_one_poll_at_a_time() -> None:
    harness = Harness(hold=True)
    harness.engine.start()
    harness.runner.finish("backend-payment")
    for _ in range(5):
        harness.engine.tick()  # the first poll has not answered yet
    assert [j.name for j in harness.runner.pending] == ["payment-poll"]
    harness.clock.advance(PAYMENT_TIMEOUT_S + 1)
    harness.engine.tick()  # past the window, but a poll is in flight: its answer comes first
    assert harness.state.phase == WAITING
    harness.runner.finish()
    harness.engine.tick()
    assert harness.state.phase == CLOSING and harness.runner.pending[0].name == "payment-close"


def test_provider_cancelling_the_order_closes_it_like_a_timeout(pay: Harness) -> None:
    order = pay.provider.created[0]
    pay.provider.orders[order] = "cancelled"
    pay.engine.tick()
    assert pay.state.phase == EXPIRED and pay.state.can_retry


def test_no_order_when_the_backend_is_away_then_retry(pay: Harness) -> None:
    harness = Harness()
    harness.provider.fail["create"] = 1
    harness.engine.start()
    state = harness.state
    assert state.phase == "offline" and state.offline and not state.busy
    assert state.message_key == "queue.lookup_unavailable" and state.qr_text == ""
    harness.engine.retry()
    assert harness.state.phase == WAITING and len(harness.provider.created) == 1


def test_an_order_without_its_code_ends_calmly_not_on_a_spinner() -> None:
    harness = Harness()
    harness.provider.answer_overrides["create"] = {"status": "pending"}  # no payment_id, no qr_text
    harness.engine.start()
    state = harness.state
    assert state.phase == "refused" and state.refused and not state.busy and not state.can_retry
    assert state.message_key == "queue.lookup_refused"
    harness.engine.retry()
    assert harness.provider.calls == [("create", "vehicle.traffic_fine")]  # a refusal is not retried


def test_the_engine_runs_on_the_kiosks_own_worker_threads() -> None:
    """The same engine on kiosk.work.Tasks (answers posted inline from the worker thread)."""
    harness = Harness()
    changed = threading.Event()

    def seen(state: PaymentState) -> None:
        harness.seen.append(state)
        changed.set()

    engine = PaymentEngine(
        harness.session,
        fee_fen=FEE_FEN,
        purpose="vehicle.traffic_fine",
        clients=harness.provider.new_client,
        tasks=Tasks(post_inline),
        clock=harness.clock,
        on_change=seen,
    )
    engine.start()
    deadline = time.monotonic() + 5
    while engine.state.phase != WAITING and time.monotonic() < deadline:
        changed.wait(0.05)
    assert engine.state.phase == WAITING
    order = harness.provider.created[0]
    harness.provider.pay(order)
    while engine.state.phase != "done" and time.monotonic() < deadline:
        engine.tick()  # one poll at a time: ticks while one is in flight ask nothing
        changed.wait(0.05)
    assert engine.state.phase == "done" and harness.session.artifacts["payment"]["payment_id"] == order
    assert harness.provider.opened == harness.provider.closed
