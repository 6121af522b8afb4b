"""The payment step's rules, Kivy-free: pay by a QR code from the backend, never twice.

Events in: :meth:`PaymentEngine.start` (the step opened), :meth:`~PaymentEngine.tick` (the screen's
timer, every :data:`PAYMENT_POLL_S`; the deadline is read from the injected clock), the answers of
the backend calls (delivered by the injected runner), :meth:`~PaymentEngine.retry` ("pay again")
and :meth:`~PaymentEngine.leave` (the resident left the step). State out: :class:`PaymentState`.

The rules:

- An order paid earlier in this visit for the same amount is not charged again: the step is done.
- While the QR code shows, the order is polled one call at a time; a failed poll is retried at the
  next tick (the answer may have been lost while the provider took the money).
- When the window closes (:data:`PAYMENT_TIMEOUT_S`, or the provider cancels the order) the QR code
  is withdrawn and the order cancelled, and the provider's answer is believed, not the clock: the
  resident may have paid in the last second. "paid" continues as paid; "cancelled" offers a new
  code ("pay again"); no answer means nobody knows, so the resident is told not to pay again.
- A resident who leaves with an unpaid order has it cancelled, so it cannot be paid later; a paid
  order is never cancelled.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.errors import BackendRejected, BackendUnavailable
from kiosk.steps.backend_step import (
    BUSY,
    DONE,
    REFUSED,
    BackendEngine,
    Closable,
    LookupState,
    MalformedAnswer,
    Runner,
    Visit,
)

log = logging.getLogger(__name__)

PAYMENT_POLL_S = 2.0
PAYMENT_TIMEOUT_S = 180.0

# phases of a payment besides the shared ones (busy: asking for an order; offline/refused: no order)
WAITING = "waiting"  # the QR code shows; polling
CLOSING = "closing"  # the window closed: cancelling the order, waiting for the provider's word
EXPIRED = "expired"  # cancelled, nothing charged: "pay again" makes a new order
UNCONFIRMED = "unconfirmed"  # the provider did not say: do not pay again


class PaymentClient(Closable, Protocol):
    def create_payment(self, amount_fen: int, purpose: str, reference: str = "") -> dict[str, Any]: ...

    def payment_status(self, payment_id: str) -> dict[str, Any]: ...

    def cancel_payment(self, payment_id: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Order:
    payment_id: str
    qr_text: str


@dataclass(frozen=True)
class PaymentState(LookupState):
    amount_fen: int = 0
    qr_text: str = ""  # what the QR code on screen holds; empty: no code shown

    @property
    def busy(self) -> bool:
        return self.phase in (BUSY, CLOSING)

    @property
    def refused(self) -> bool:
        return self.phase in (REFUSED, EXPIRED, UNCONFIRMED)


def amount_due(artifacts: Mapping[str, Any], fee_fen: int) -> int:
    """The violations chosen in this visit, else the service's fee."""
    chosen = artifacts.get("violations")
    return int(chosen["amount_fen"]) if chosen else int(fee_fen)


def order_of(answer: Mapping[str, Any]) -> Order:
    if not isinstance(answer, Mapping) or not answer.get("payment_id") or not answer.get("qr_text"):
        raise MalformedAnswer("payment order without 'payment_id' or 'qr_text'")
    return Order(str(answer["payment_id"]), str(answer["qr_text"]))


class PaymentEngine(BackendEngine[PaymentState]):
    """One payment step of one visit (see the module's rules)."""

    kind = "payment"

    def __init__(
        self,
        visit: Visit,
        *,
        fee_fen: int,
        purpose: str,
        clients: Callable[[], Any],
        tasks: Runner,
        clock: Callable[[], float],
        on_change: Callable[[PaymentState], None] | None = None,
        timeout_s: float = PAYMENT_TIMEOUT_S,
    ) -> None:
        super().__init__(clients, tasks, PaymentState(), on_change)
        self.visit = visit
        self.fee_fen = fee_fen
        self.purpose = purpose
        self._clock = clock
        self._timeout_s = timeout_s
        self.order: Order | None = None
        self.deadline: float | None = None
        self._polling = False
        self._order_closed = False  # the provider confirmed the order cancelled

    @property
    def paid(self) -> bool:
        """Whether this visit holds a payment for the amount due now."""
        paid = self.visit.artifacts.get("payment")
        return paid is not None and paid.get("amount_fen") == amount_due(self.visit.artifacts, self.fee_fen)

    # -- events ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Open the step: done at once when already paid, else ask for an order and its QR code."""
        if self.left:
            return
        if self.paid:
            self._set(phase=DONE)  # already paid in this session: never charge twice
            return
        amount = amount_due(self.visit.artifacts, self.fee_fen)
        self.order, self.deadline, self._polling, self._order_closed = None, None, False, False
        purpose = self.purpose

        def create(client: PaymentClient) -> Order:
            order = order_of(client.create_payment(amount, purpose))
            if self.left:  # the resident left while the order was made: it must not be paid later
                _cancel_quietly(client, order.payment_id)
            return order

        self._call(
            create,
            self._ordered,
            "lookup.payment_busy",
            amount_fen=amount,
            qr_text="",
            retry_key="lookup.retry",
        )

    def tick(self) -> None:
        """The screen's timer: poll the order, or close it once its window has passed."""
        if self.left or self.state.phase != WAITING or self._polling:
            return
        if self.deadline is not None and self._clock() > self.deadline:
            self._expire()
        else:
            self._poll()

    def leave(self) -> None:
        """The resident left: an unpaid order is cancelled so it cannot be paid later."""
        if self.left:
            return
        order = self.order
        super().leave()
        if order is None or self._order_closed or "payment" in self.visit.artifacts:
            return

        def cancel() -> None:
            client = self._clients()
            try:
                _cancel_quietly(client, order.payment_id)
            finally:
                client.close()

        self._tasks.run(cancel, lambda _none: None, _log_failure(order), name="payment-cancel")

    # -- the order's life --------------------------------------------------------------------------
    def _ordered(self, order: Order) -> None:
        self.order = order
        self.deadline = self._clock() + self._timeout_s
        self._set(phase=WAITING, message_key="lookup.payment_scan", qr_text=order.qr_text)
        self._poll()

    def _poll(self) -> None:
        assert self.order is not None
        payment_id = self.order.payment_id
        self._polling = True

        def ask() -> str:
            client = self._clients()
            try:
                return str(client.payment_status(payment_id).get("status", ""))
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning("payment poll failed (will retry): %s", exc)
                return "pending"
            finally:
                client.close()

        self._tasks.run(ask, self._polled, name="payment-poll")

    def _polled(self, status: str) -> None:
        self._polling = False
        if self.left or self.state.phase != WAITING:
            return
        if status == "paid":
            self._paid()
        elif status == "cancelled":
            self._expire()
        # anything else: still pending, the next tick asks again

    def _expire(self) -> None:
        """The window closed (or the provider cancelled the order): withdraw the code, cancel the
        order, then believe the provider's answer."""
        assert self.order is not None
        payment_id = self.order.payment_id
        self._set(phase=CLOSING, message_key="lookup.payment_closing", qr_text="", can_retry=False)

        def close() -> str | None:
            client = self._clients()
            try:
                return str(client.cancel_payment(payment_id).get("status", ""))
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning("payment %s: cancel at the timeout failed: %s", payment_id, exc)
                return None
            finally:
                client.close()

        self._tasks.run(close, self._closed, name="payment-close")

    def _closed(self, status: str | None) -> None:
        if self.left:
            return
        if status == "paid":
            log.info("payment %s: paid just before its window closed", self._payment_id)
            self._paid()
        elif status == "cancelled":
            self._order_closed = True
            self._set(
                phase=EXPIRED,
                message_key="lookup.payment_expired",
                can_retry=True,
                retry_key="lookup.payment_again",
            )
        else:
            self._set(phase=UNCONFIRMED, message_key="lookup.payment_unconfirmed", can_retry=False)

    def _paid(self) -> None:
        self.visit.artifacts["payment"] = {
            "payment_id": self._payment_id,
            "amount_fen": self.state.amount_fen,
        }
        log.info("payment %s paid", self._payment_id)
        self._set(phase=DONE, qr_text="")

    @property
    def _payment_id(self) -> str:
        return self.order.payment_id if self.order is not None else ""


def _cancel_quietly(client: PaymentClient, payment_id: str) -> None:
    """Cancel an order nobody waits for any more; a failure is only logged (staff reconcile)."""
    try:
        answer = client.cancel_payment(payment_id)
    except (BackendUnavailable, BackendRejected) as exc:
        log.warning("payment %s not cancelled: %s", payment_id, exc)
        return
    if answer.get("status") == "paid":  # paid as the resident walked away: staff reconcile it
        log.warning("payment %s was paid as the visit ended; no request was filed", payment_id)


def _log_failure(order: Order) -> Callable[[Exception], None]:
    def failed(exc: Exception) -> None:
        log.warning("payment %s not cancelled: %s", order.payment_id, exc)

    return failed
