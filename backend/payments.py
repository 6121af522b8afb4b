"""The payment provider seam: the backend takes money through an adapter, never itself.

A government kiosk's fees and fines are collected through the province's non-tax revenue payment
platform (政府非税收入统一支付平台): the platform makes an order with a payment code the resident
scans with a phone (扫码支付), or charges the payment code the resident's phone shows (付款码, read
by the kiosk's scanner: 被扫), and once the money has arrived it issues a fiscal electronic receipt
(财政电子票据) whose number the kiosk prints. A deployment wires in its platform's adapter as a
:class:`PaymentProvider`; :class:`SimulatedNonTaxPlatform` is the reference backend's stand-in.

Every method answers the same small order document:
``{"payment_id", "status": pending|paid|cancelled, "amount_fen", "qr_text"?, "fiscal_receipt_no"?}``;
the fiscal receipt number is there once (and only once) the order is paid.
"""

from __future__ import annotations

import hashlib
import re
import threading
import uuid
from datetime import UTC, datetime
from typing import Any, Protocol

# a payment code (付款码) as phone wallets show it: 18 digits, starting 10-15 (WeChat) or 25-30
# (Alipay); the unified platforms accept both, so the check is only of the shape
PAYMENT_CODE_RE = re.compile(r"^(1[0-5]|2[5-9]|30)\d{14,16}$")


class PaymentProvider(Protocol):
    """A payment platform's adapter (thread-safe: the backend's routes call it from a pool)."""

    def create(self, amount_fen: int, purpose: str, reference: str = "") -> dict[str, Any]:
        """A new order for ``amount_fen`` with the QR text the resident's phone scans."""
        ...

    def status(self, payment_id: str, *, poll: bool = True) -> dict[str, Any] | None:
        """The order as it stands (``poll``: the kiosk asks, which a simulator counts), or None."""
        ...

    def cancel(self, payment_id: str) -> dict[str, Any] | None:
        """Cancel a pending order (a paid one stays paid), or None when unknown."""
        ...

    def pay_with_code(self, payment_id: str, code: str) -> dict[str, Any] | None:
        """Charge the resident's payment code (read by the kiosk's scanner) for the order; the
        answer says ``paid`` or, with ``error``, why not. None when the order is unknown."""
        ...

    def mark_paid(self, payment_id: str) -> dict[str, Any] | None:
        """Simulation only: the resident paid (tests and ``serve --simulate``)."""
        ...


def fiscal_receipt_number(payment_id: str, when: datetime) -> str:
    """A 财政电子票据 number as the platforms print it: the bill code (8 digits: region and
    year), then a 10-digit serial; derived from the order so a retry answers the same number."""
    serial = int(hashlib.sha256(payment_id.encode("ascii")).hexdigest()[:12], 16) % 10**10
    return f"990{when.year % 100:02d}601{serial:010d}"


class SimulatedNonTaxPlatform:
    """The reference backend's platform: orders in memory; a polled order is paid after
    ``paid_after_polls`` polls (the resident "paid" on the phone); a payment code of the right
    shape is charged at once, except codes ending in 0000, which the simulated wallet declines
    (insufficient balance), so the refusal path can be tried."""

    def __init__(self, paid_after_polls: int = 3, clock: Any = None) -> None:
        self.paid_after_polls = paid_after_polls
        self._clock = clock or (lambda: datetime.now(UTC))
        self._orders: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def create(self, amount_fen: int, purpose: str, reference: str = "") -> dict[str, Any]:
        payment_id = uuid.uuid4().hex
        order = {"status": "pending", "polls": 0, "amount_fen": amount_fen, "purpose": purpose}
        with self._lock:
            self._orders[payment_id] = order
            return {
                **self._answer(payment_id, order),
                "qr_text": f"https://pay.example.invalid/p/{payment_id}",
            }

    def status(self, payment_id: str, *, poll: bool = True) -> dict[str, Any] | None:
        with self._lock:
            order = self._orders.get(payment_id)
            if order is None:
                return None
            if poll:
                order["polls"] += 1
                if order["status"] == "pending" and order["polls"] >= self.paid_after_polls:
                    self._settle(payment_id, order)
            return self._answer(payment_id, order)

    def cancel(self, payment_id: str) -> dict[str, Any] | None:
        with self._lock:
            order = self._orders.get(payment_id)
            if order is None:
                return None
            if order["status"] == "pending":
                order["status"] = "cancelled"
            return self._answer(payment_id, order)

    def pay_with_code(self, payment_id: str, code: str) -> dict[str, Any] | None:
        with self._lock:
            order = self._orders.get(payment_id)
            if order is None:
                return None
            if order["status"] == "pending":
                if not PAYMENT_CODE_RE.match(code):
                    return {**self._answer(payment_id, order), "error": "not_a_payment_code"}
                if code.endswith("0000"):
                    return {**self._answer(payment_id, order), "error": "declined"}
                self._settle(payment_id, order)
            return self._answer(payment_id, order)

    def mark_paid(self, payment_id: str) -> dict[str, Any] | None:
        with self._lock:
            order = self._orders.get(payment_id)
            if order is None:
                return None
            if order["status"] == "pending":
                self._settle(payment_id, order)
            return self._answer(payment_id, order)

    def _settle(self, payment_id: str, order: dict[str, Any]) -> None:
        order["status"] = "paid"
        order["fiscal_receipt_no"] = fiscal_receipt_number(payment_id, self._clock())

    @staticmethod
    def _answer(payment_id: str, order: dict[str, Any]) -> dict[str, Any]:
        out = {"payment_id": payment_id, "status": order["status"], "amount_fen": order["amount_fen"]}
        if order.get("fiscal_receipt_no"):
            out["fiscal_receipt_no"] = order["fiscal_receipt_no"]
        return out
