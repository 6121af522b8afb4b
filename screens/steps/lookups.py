"""Steps that ask the backend something: identity verification, vehicle record, outstanding
violations, and payment by QR code.

Every call runs on a worker thread with its own signed client (kiosk/queue/client.py) and reports
back through the app's clock; the screen shows progress meanwhile. An unreachable backend is a calm
"try again" with a retry button; a refusal is a way forward (the service counter). A payment is
never made twice: once paid, the order is kept in the session and the flow does not go back past it.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.errors import BackendRejected, BackendUnavailable
from screens.steps.base import StepBase

log = logging.getLogger(__name__)

PAYMENT_POLL_S = 2.0
PAYMENT_TIMEOUT_S = 180.0


class BackendStatus(BoxLayout):
    """Busy indicator, message and retry button of a backend step (see lookups.kv).

    ``step`` is set by the step's kv rule after this widget's own rule bound ``root.step.message``;
    without ``rebind`` those bindings stayed on the initial None, and the message, the busy
    indicator and the retry button never showed."""

    step = ObjectProperty(None, allownone=True, rebind=True)


class BackendStep(StepBase):
    """Common frame: a message, a busy indicator, and a retry button when the backend is away."""

    message = StringProperty("")
    busy = BooleanProperty(False)
    offline = BooleanProperty(False)
    refused = BooleanProperty(False)
    can_retry = BooleanProperty(False)  # a refusal that trying again can mend (an expired payment)
    retry_key = StringProperty("lookup.retry")  # the retry button's message key

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow = flow
        self.step = step
        self._alive = True
        Clock.schedule_once(lambda _dt: self.start(), 0)

    @property
    def app(self) -> Any:
        return App.get_running_app()

    def start(self) -> None:
        """Begin the step's backend work (subclasses)."""

    def call(self, work: Callable[[Any], Any], done: Callable[[Any], None], busy_key: str) -> None:
        """Run ``work(client)`` on a worker thread; ``done(result)`` on the UI thread."""
        queue = self.app.runtime.queue
        if queue is None:
            self._offline("request queue not started")
            return
        self.busy, self.offline, self.refused, self.can_retry = True, False, False, False
        self.message = self.app.tr(busy_key)

        def run() -> None:
            client = queue.new_client()
            try:
                result = work(client)
            except BackendUnavailable as exc:
                error = str(exc)
                self.app.post(lambda: self._offline(error))
                return
            except BackendRejected as exc:
                error = str(exc)
                self.app.post(lambda: self._refused(error))
                return
            finally:
                client.close()
            self.app.post(lambda: self._done(done, result))

        threading.Thread(target=run, name=f"backend-{self.step.kind}", daemon=True).start()

    def _done(self, done: Callable[[Any], None], result: Any) -> None:
        if self._alive:
            self.busy = False
            done(result)

    def _offline(self, detail: str) -> None:
        log.warning("%s: backend unavailable: %s", self.step.kind, detail)
        if self._alive:
            self.busy, self.offline = False, True
            self.message = self.app.tr("queue.lookup_unavailable")

    def _refused(self, detail: str) -> None:
        log.warning("%s: backend refused: %s", self.step.kind, detail)
        if self._alive:
            self.busy, self.refused = False, True
            self.message = self.app.tr("queue.lookup_refused")

    def retry(self) -> None:
        self.start()

    def teardown(self) -> None:
        self._alive = False


class VerifyIdentityStep(BackendStep):
    """Temporary identity certificate: the backend checks the ID number against the live photo."""

    def start(self) -> None:
        session = self.flow.session
        number = str(session.values.get("id_number", getattr(session.identity, "id_number", "")))
        photo = hashlib.sha256(session.photo_jpeg or b"").hexdigest() if session.photo_jpeg else ""
        self.call(lambda c: c.verify_identity(number, "", photo), self._answer, "lookup.verifying")

    def _answer(self, answer: dict[str, Any]) -> None:
        if answer.get("verified"):
            self.flow.session.artifacts["verification"] = {
                "verification_id": answer["verification_id"],
                "holder": answer.get("holder", {}),  # the registered data the certificate states
            }
            self.app.step_done()
        else:
            log.info("identity not verified: %s", answer.get("reason"))
            self.refused = True
            self.message = self.app.tr("lookup.not_verified")


class VehicleLookupStep(BackendStep):
    vehicle = ListProperty([])  # (label, value) rows

    def start(self) -> None:
        plate = str(self.flow.session.values.get("plate", ""))
        self.call(lambda c: c.vehicle(plate), self._answer, "lookup.vehicle_busy")

    def _answer(self, record: dict[str, Any] | None) -> None:
        if record is None:
            self.refused = True
            self.message = self.app.tr("lookup.vehicle_unknown")
            return
        self.flow.session.artifacts["vehicle"] = record
        tr = self.app.tr
        self.message = tr("lookup.vehicle_confirm")
        self.vehicle = [
            (tr("lookup.plate"), record.get("plate", "")),
            (tr("lookup.brand"), record.get("brand", "")),
            (tr("lookup.colour"), record.get("colour", "")),
            (tr("lookup.registered"), record.get("registered", "")),
        ]

    def confirm(self) -> None:
        if self.vehicle:
            self.app.step_done()


class ViolationsStep(BackendStep):
    items = ListProperty([])  # violation dicts
    chosen = ListProperty([])  # violation ids
    total = StringProperty("")
    nothing_due = BooleanProperty(False)  # answered: nothing to pay, the visit can end as done

    def start(self) -> None:
        session = self.flow.session
        plate = str(session.values.get("plate", ""))
        number = str(getattr(session.identity, "id_number", "") or session.values.get("id_number", ""))
        self.call(
            lambda c: c.violations(plate=plate) if plate else c.violations(id_number=number),
            self._answer,
            "lookup.violations_busy",
        )

    def _answer(self, found: list[dict[str, Any]]) -> None:
        from kivy.factory import Factory

        self.items = found
        self.chosen = [v["violation_id"] for v in found]
        rows = self.ids.rows
        rows.clear_widgets()
        for item in found:
            row = Factory.ViolationRow()
            row.holder, row.item = self, item
            rows.add_widget(row)
        self.message = self.app.tr("lookup.violations_found" if found else "lookup.violations_none")
        self.nothing_due = not found
        self._update_total()

    def finish(self) -> None:
        """Nothing to pay: the resident's question is answered; end the visit as done, not cancelled."""
        self.app.finish_without_request()

    def toggle(self, violation_id: str) -> None:
        chosen = list(self.chosen)
        if violation_id in chosen:
            chosen.remove(violation_id)
        else:
            chosen.append(violation_id)
        self.chosen = chosen
        self._update_total()

    def _update_total(self) -> None:
        amount = sum(v["amount_fen"] for v in self.items if v["violation_id"] in self.chosen)
        self.total = self.app.tr("lookup.total", amount=f"{amount / 100:.2f}") if self.items else ""

    def line(self, item: dict[str, Any]) -> str:
        lang = self.app.lang
        amount = f"￥{item['amount_fen'] / 100:.2f}"
        return f"{item['date']}  {item[f'description_{lang}']}  {amount}  {item[f'place_{lang}']}"

    def pay(self) -> None:
        if not self.chosen:
            return
        amount = sum(v["amount_fen"] for v in self.items if v["violation_id"] in self.chosen)
        self.flow.session.artifacts["violations"] = {"violation_ids": list(self.chosen), "amount_fen": amount}
        self.app.step_done()


class PaymentStep(BackendStep):
    qr_texture = ObjectProperty(None, allownone=True)
    amount = StringProperty("")

    def _amount_fen(self) -> int:
        chosen = self.flow.session.artifacts.get("violations")
        return int(chosen["amount_fen"]) if chosen else int(self.flow.service.fee_fen)

    def start(self) -> None:
        paid = self.flow.session.artifacts.get("payment")
        if paid and paid.get("amount_fen") == self._amount_fen():
            self.app.step_done()  # already paid in this session: never charge twice
            return
        amount = self._amount_fen()
        self.amount = f"￥{amount / 100:.2f}"
        purpose = self.flow.service.request_type
        self.call(lambda c: c.create_payment(amount, purpose), self._order, "lookup.payment_busy")

    def _order(self, order: dict[str, Any]) -> None:
        self.order = order
        self.qr_texture = qr_texture(order["qr_text"])
        self.message = self.app.tr("lookup.payment_scan")
        self._deadline = self.app.runtime.clock() + PAYMENT_TIMEOUT_S
        self._poll()

    def _poll(self) -> None:
        if not self._alive:
            return
        if self.app.runtime.clock() > self._deadline:
            self._expire()
            return
        payment_id = self.order["payment_id"]
        queue = self.app.runtime.queue

        def run() -> None:
            client = queue.new_client()
            try:
                status = client.payment_status(payment_id)
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning("payment poll failed (will retry): %s", exc)
                status = {"status": "pending"}
            finally:
                client.close()
            self.app.post(lambda: self._status(status))

        threading.Thread(target=run, name="payment-poll", daemon=True).start()

    def _status(self, status: dict[str, Any]) -> None:
        if not self._alive:
            return
        if status.get("status") == "paid":
            amount = self._amount_fen()
            self.flow.session.artifacts["payment"] = {
                "payment_id": self.order["payment_id"],
                "amount_fen": amount,
            }
            log.info("session %s: payment %s paid", self.flow.session.id, self.order["payment_id"])
            self.app.step_done()
        elif status.get("status") == "cancelled":
            self._expire()
        else:
            Clock.schedule_once(lambda _dt: self._poll(), PAYMENT_POLL_S)

    def _expire(self) -> None:
        """The payment window closed (or the provider cancelled the order): withdraw the QR code and
        cancel the order, then believe the provider's answer, not the clock. The resident may have
        paid in the last second: a cancel that answers "paid" continues as paid; "cancelled" offers a
        new code; no answer means nobody knows, so the resident is told not to pay again."""
        self.qr_texture = None
        self.busy, self.refused, self.can_retry = True, False, False
        self.message = self.app.tr("lookup.payment_closing")
        order, queue = self.order, self.app.runtime.queue

        def run() -> None:
            client = queue.new_client()
            try:
                status: str | None = str(client.cancel_payment(order["payment_id"]).get("status", ""))
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning("payment %s: cancel at the timeout failed: %s", order["payment_id"], exc)
                status = None
            finally:
                client.close()
            self.app.post(lambda: self._closed(status))

        threading.Thread(target=run, name="payment-close", daemon=True).start()

    def _closed(self, status: str | None) -> None:
        if not self._alive:
            return
        self.busy = False
        if status == "paid":
            log.info("payment %s: paid just before its window closed", self.order["payment_id"])
            self._status({"status": "paid"})
        elif status == "cancelled":
            self.refused, self.can_retry, self.retry_key = True, True, "lookup.payment_again"
            self.message = self.app.tr("lookup.payment_expired")
        else:
            self.refused = True
            self.message = self.app.tr("lookup.payment_unconfirmed")

    def retry(self) -> None:
        """ "Pay again" after an expired order: a new order and QR code (the old one is cancelled)."""
        self.retry_key = "lookup.retry"
        super().retry()

    def _cancel_order(self) -> None:
        order = getattr(self, "order", None)
        queue = self.app.runtime.queue
        if order is None or queue is None or "payment" in self.flow.session.artifacts:
            return

        def run() -> None:
            client = queue.new_client()
            try:
                answer = client.cancel_payment(order["payment_id"])
            except (BackendUnavailable, BackendRejected) as exc:
                log.warning("payment %s not cancelled: %s", order["payment_id"], exc)
                return
            finally:
                client.close()
            if answer.get("status") == "paid":  # paid as the resident walked away: staff reconcile it
                log.warning(
                    "payment %s was paid as the visit ended; no request was filed", order["payment_id"]
                )

        threading.Thread(target=run, name="payment-cancel", daemon=True).start()

    def teardown(self) -> None:
        if self._alive:
            self._cancel_order()  # the resident left: the unpaid order must not be paid later
        super().teardown()


def qr_texture(text: str) -> Any:
    """A QR code as a Kivy texture (drawn big; scanned by the resident's phone)."""
    import qrcode
    from kivy.core.image import Image as CoreImage

    image = qrcode.make(text, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return CoreImage(buffer, ext="png").texture
