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
- Beside the on-screen QR the resident may show the phone's payment code (出示付款码) to the
  kiosk's scanner, when one is configured: :meth:`~PaymentEngine.show_code` starts reading it,
  one code charges the same order (:meth:`~PaymentEngine.scanned`), a refusal is said calmly and
  the QR stays payable. A scanner that fails sends the resident back to the QR.
- The paid order's fiscal e-receipt number (财政电子票据号) from the provider is kept for the
  receipt; paid fines with decision numbers are settled at the backend (best effort: the request
  filed carries them too, staff reconcile what a lost settle left open).
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


SCAN_READ_S = 2.0  # one blocking read of the scanner; the next follows while the code mode lasts
QR, CODE = "qr", "code"  # how the resident pays: scanning the screen, or showing the phone's code


class Scanner(Protocol):
    def read(self, timeout_s: float) -> str | None: ...


class PaymentClient(Closable, Protocol):
    def create_payment(self, amount_fen: int, purpose: str, reference: str = "") -> dict[str, Any]: ...

    def pay_with_code(self, payment_id: str, code: str) -> dict[str, Any]: ...

    def settle_fines(self, decision_nos: list[str], payment_id: str) -> dict[str, Any]: ...

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
    pay_by: str = QR  # qr | code (the phone's payment code to the scanner)
    can_show_code: bool = False  # a scanner is configured and working
    code_key: str = ""  # what the code mode says: the hint, charging, a refusal (message key)

    @property
    def busy(self) -> bool:
        return self.phase in (BUSY, CLOSING)

    @property
    def refused(self) -> bool:
        return self.phase in (REFUSED, EXPIRED, UNCONFIRMED)


def fee_due(service: Any, values: Mapping[str, Any]) -> dict[str, Any]:
    """What the service's own fee comes to for this visit's answers: a step's fee schedule as data
    (a plate re-issue: the plate type's fee plus a temporary plate, kiosk/steps/vehicle_owner.py),
    else the flat ``fee_fen``. ``{"amount_fen": int, "items": [(message key, fen), ...]}``; no
    items for a flat fee (the bill names the service)."""
    for step in service.steps:
        if "plate_fees_fen" in step.rules:
            from kiosk.steps.vehicle_owner import reissue_fee

            return reissue_fee(step.rules, values, int(service.fee_fen))
    return {"amount_fen": int(service.fee_fen), "items": []}


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
        scanner: Scanner | None = None,
        scan_read_s: float = SCAN_READ_S,
    ) -> None:
        super().__init__(clients, tasks, PaymentState(can_show_code=scanner is not None), on_change)
        self._scanner = scanner
        self._scan_read_s = scan_read_s
        self._reading = False
        self._charging = False
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

        def ask() -> dict[str, Any]:
            client = self._clients()
            try:
                return dict(client.payment_status(payment_id))
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning("payment poll failed (will retry): %s", exc)
                return {"status": "pending"}
            finally:
                client.close()

        self._tasks.run(ask, self._polled, name="payment-poll")

    def _polled(self, answer: dict[str, Any]) -> None:
        self._polling = False
        if self.left or self.state.phase != WAITING:
            return
        status = answer.get("status")
        if status == "paid":
            self._paid(answer)
        elif status == "cancelled":
            self._expire()
        # anything else: still pending, the next tick asks again

    def _expire(self) -> None:
        """The window closed (or the provider cancelled the order): withdraw the code, cancel the
        order, then believe the provider's answer."""
        assert self.order is not None
        payment_id = self.order.payment_id
        self._set(phase=CLOSING, message_key="lookup.payment_closing", qr_text="", can_retry=False)

        def close() -> dict[str, Any] | None:
            client = self._clients()
            try:
                return dict(client.cancel_payment(payment_id))
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning("payment %s: cancel at the timeout failed: %s", payment_id, exc)
                return None
            finally:
                client.close()

        self._tasks.run(close, self._closed, name="payment-close")

    def _closed(self, answer: dict[str, Any] | None) -> None:
        if self.left:
            return
        status = None if answer is None else answer.get("status")
        if status == "paid":
            log.info("payment %s: paid just before its window closed", self._payment_id)
            self._paid(answer or {})
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

    def _paid(self, answer: Mapping[str, Any]) -> None:
        paid = {"payment_id": self._payment_id, "amount_fen": self.state.amount_fen}
        if answer.get("fiscal_receipt_no"):
            paid["fiscal_receipt_no"] = str(answer["fiscal_receipt_no"])
        if self.state.pay_by == CODE:
            paid["method"] = "code"  # the receipt names how it was paid
        self.visit.artifacts["payment"] = paid
        log.info("payment %s paid", self._payment_id)
        self._set(phase=DONE, qr_text="", pay_by=QR)
        self._settle()

    def _settle(self) -> None:
        """Paid fines with decision numbers are marked paid at the backend (best effort)."""
        numbers = [n for n in (self.visit.artifacts.get("violations") or {}).get("decision_nos", []) if n]
        if not numbers:
            return
        payment_id = self._payment_id

        def settle() -> dict[str, Any]:
            client = self._clients()
            try:
                return dict(client.settle_fines(numbers, payment_id))
            finally:
                client.close()

        def settled(answer: dict[str, Any]) -> None:
            if answer.get("error"):
                log.warning("payment %s: fines not settled: %s", payment_id, answer["error"])

        self._tasks.run(settle, settled, _log_settle_failure(payment_id), name="payment-settle")

    # -- the phone's payment code, read by the scanner -----------------------------------------------
    def show_code(self) -> None:
        """出示付款码: read the resident's payment code with the scanner (the QR stays valid)."""
        if self.left or self._scanner is None or self.state.phase != WAITING:
            return
        self._set(pay_by=CODE, code_key="pay.code_hint")
        self._read()

    def show_qr(self) -> None:
        """Back to scanning the screen's QR code; the scanner stops reading after its current read."""
        if not self.left and self.state.pay_by == CODE and not self._charging:
            self._set(pay_by=QR, code_key="")

    def _read(self) -> None:
        if self._reading or self._scanner is None:
            return
        scanner = self._scanner
        self._reading = True
        self._tasks.run(
            lambda: scanner.read(self._scan_read_s), self._scanned_read, self._scanner_failed, name="scanner"
        )

    def _scanned_read(self, code: str | None) -> None:
        self._reading = False
        if self.left or self.state.pay_by != CODE or self.state.phase != WAITING:
            return
        if code is None:
            self._read()  # nobody showed a code yet: read on
        else:
            self.scanned(code)

    def _scanner_failed(self, exc: Exception) -> None:
        from drivers.errors import DeviceError, ProtocolError

        self._reading = False
        if self.left:
            return
        if isinstance(exc, ProtocolError):
            log.info("scanner: unreadable code: %s", exc)
            self._set(code_key="pay.code_unreadable")
            self._read()
        elif isinstance(exc, DeviceError):
            log.warning("scanner failed: %s", exc)
            self._set(pay_by=QR, can_show_code=False, code_key="pay.scanner_down")
        else:
            raise exc

    def scanned(self, code: str) -> None:
        """A code was read: charge it to this visit's order (one charge at a time)."""
        if self.left or self.order is None or self.state.phase != WAITING or self._charging:
            return
        payment_id, self._charging = self.order.payment_id, True
        self._set(code_key="pay.code_reading")

        def charge() -> dict[str, Any]:
            client = self._clients()
            try:
                return dict(client.pay_with_code(payment_id, code))
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning("payment %s: payment code not charged: %s", payment_id, exc)
                return {"status": "pending", "error": "unavailable"}
            finally:
                client.close()

        self._tasks.run(charge, self._charged, name="payment-code")

    def _charged(self, answer: dict[str, Any]) -> None:
        self._charging = False
        if self.left or self.state.phase != WAITING:
            return
        if answer.get("status") == "paid":
            self._paid(answer)
            return
        log.info("payment %s: payment code refused: %s", self._payment_id, answer.get("error"))
        key = "pay.code_unreadable" if answer.get("error") == "not_a_payment_code" else "pay.code_declined"
        self._set(code_key=key)
        self._read()

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


def _log_settle_failure(payment_id: str) -> Callable[[Exception], None]:
    def failed(exc: Exception) -> None:
        log.warning("payment %s: fines not settled (staff reconcile): %s", payment_id, exc)

    return failed


def _log_failure(order: Order) -> Callable[[Exception], None]:
    def failed(exc: Exception) -> None:
        log.warning("payment %s not cancelled: %s", order.payment_id, exc)

    return failed
