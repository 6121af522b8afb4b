"""Steps that ask the backend something: identity verification, vehicle record, outstanding
violations, and payment by QR code.

The rules live in Kivy-free engines (:mod:`kiosk.steps.lookups`, :mod:`kiosk.steps.payment`); these
widgets build one per step, draw its state, and forward touches. Backend calls run through a
:class:`kiosk.work.Tasks` whose answers come back on the UI thread and are dropped once the step is
torn down.
"""

from __future__ import annotations

import io
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.steps.backend_step import DONE, FINISHED, BackendEngine, LookupState, fen_text, queue_clients, yuan
from kiosk.steps.lookups import (
    VehicleLookupEngine,
    VehicleState,
    VerifyIdentityEngine,
    ViolationsEngine,
    ViolationsState,
    violation_line,
)
from kiosk.steps.payment import PAYMENT_POLL_S, PAYMENT_TIMEOUT_S, PaymentEngine, PaymentState
from screens.steps.base import StepBase, lookup_result

__all__ = [  # PAYMENT_*: the UI tests read the payment window here
    "PAYMENT_POLL_S",
    "PAYMENT_TIMEOUT_S",
    "BackendStatus",
    "BackendStep",
    "PaymentStep",
    "VehicleLookupStep",
    "VerifyIdentityStep",
    "ViolationsStep",
    "qr_texture",
]


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
        super().__init__(flow=flow, step=step, **kwargs)  # StepBase: flow, step, self.tasks
        self.engine: BackendEngine[Any] = self.make_engine()
        self._moved_on = False
        Clock.schedule_once(lambda _dt: self.start(), 0)

    def make_engine(self) -> BackendEngine[Any]:
        """The step's engine (subclasses)."""
        raise NotImplementedError

    def start(self) -> None:
        if not self.engine.left:
            self.engine.start()

    def render(self, state: LookupState) -> None:
        """Draw the engine's state; a finished step moves the flow on (once)."""
        self.busy, self.offline, self.refused = state.busy, state.offline, state.refused
        self.can_retry, self.retry_key = state.can_retry, state.retry_key
        self.message = self.app.tr(state.message_key) if state.message_key else ""
        self.result = lookup_result(state)  # a stop shows in the host's result template
        if state.phase in (DONE, FINISHED) and not self._moved_on:
            self._moved_on = True
            if state.phase == DONE:
                self.app.step_done()
            else:
                self.app.finish_without_request()

    def refresh_texts(self) -> None:
        """The language changed: draw the same state in the new one."""
        self.render(self.engine.state)

    def retry(self) -> None:
        self.engine.retry()

    def result_action(self, action: str) -> None:
        """The result template's buttons: a retry the engine can mend asks again (offline, an
        expired payment), another goes back to correct the entry; nothing to pay ends as done."""
        state = self.engine.state
        if action == "retry" and (state.offline or state.can_retry):
            self.retry()
        elif action == "home" and getattr(state, "nothing_due", False):
            self.finish()
        else:
            super().result_action(action)

    def teardown(self) -> None:
        self.engine.leave()
        super().teardown()


class VerifyIdentityStep(BackendStep):
    """Temporary identity certificate: the backend checks the ID number against the live photo."""

    def make_engine(self) -> BackendEngine[Any]:
        return VerifyIdentityEngine(
            self.flow.session, queue_clients(self.app.runtime), self.tasks, on_change=self.render
        )


class VehicleLookupStep(BackendStep):
    vehicle = ListProperty([])  # (label, value) rows

    def make_engine(self) -> BackendEngine[Any]:
        return VehicleLookupEngine(
            self.flow.session, queue_clients(self.app.runtime), self.tasks, on_change=self.render
        )

    def render(self, state: LookupState) -> None:
        assert isinstance(state, VehicleState)
        self.vehicle = [(self.app.tr(label), value) for label, value in state.rows]
        super().render(state)

    def confirm(self) -> None:
        assert isinstance(self.engine, VehicleLookupEngine)
        self.engine.confirm()


class ViolationsStep(BackendStep):
    items = ListProperty([])  # violation dicts
    chosen = ListProperty([])  # violation ids
    total = StringProperty("")
    nothing_due = BooleanProperty(False)  # answered: nothing to pay, the visit can end as done

    def make_engine(self) -> BackendEngine[Any]:
        return ViolationsEngine(
            self.flow.session, queue_clients(self.app.runtime), self.tasks, on_change=self.render
        )

    def render(self, state: LookupState) -> None:
        assert isinstance(state, ViolationsState)
        if list(state.items) != self.items:
            self.items = list(state.items)
            self._build_rows()
        self.chosen = list(state.chosen)
        self.nothing_due = state.nothing_due
        self.total = self.app.tr("lookup.total", amount=fen_text(state.total_fen)) if state.items else ""
        super().render(state)

    def _build_rows(self) -> None:
        from kivy.factory import Factory

        rows = self.ids.rows
        rows.clear_widgets()
        for item in self.items:
            row = Factory.ViolationRow()
            row.holder, row.item = self, item
            rows.add_widget(row)

    @property
    def violations(self) -> ViolationsEngine:
        assert isinstance(self.engine, ViolationsEngine)
        return self.engine

    def toggle(self, violation_id: str) -> None:
        self.violations.toggle(violation_id)

    def line(self, item: dict[str, Any]) -> str:
        return violation_line(item, self.app.lang)

    def pay(self) -> None:
        self.violations.pay()

    def finish(self) -> None:
        """Nothing to pay: the resident's question is answered; end the visit as done, not cancelled."""
        self.violations.finish()


class PaymentStep(BackendStep):
    qr_texture = ObjectProperty(None, allownone=True)
    amount = StringProperty("")

    def make_engine(self) -> BackendEngine[Any]:
        self._qr_text = ""
        self._timer: Any = None
        return PaymentEngine(
            self.flow.session,
            fee_fen=int(self.flow.service.fee_fen),
            purpose=self.flow.service.request_type,
            clients=queue_clients(self.app.runtime),
            tasks=self.tasks,
            clock=self.app.runtime.clock,
            on_change=self.render,
        )

    @property
    def payment(self) -> PaymentEngine:
        assert isinstance(self.engine, PaymentEngine)
        return self.engine

    def start(self) -> None:
        super().start()
        if self._timer is None and not self._moved_on:  # the engine polls and watches its deadline
            self._timer = Clock.schedule_interval(lambda _dt: self.payment.tick(), PAYMENT_POLL_S)

    def render(self, state: LookupState) -> None:
        assert isinstance(state, PaymentState)
        if state.qr_text != self._qr_text:
            self._qr_text = state.qr_text
            self.qr_texture = qr_texture(state.qr_text) if state.qr_text else None
        if state.amount_fen:
            self.amount = yuan(state.amount_fen)
        if state.phase == DONE:
            self._stop_timer()
        super().render(state)

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()

    def teardown(self) -> None:
        self._stop_timer()
        super().teardown()  # the engine cancels an unpaid order: it must not be paid later


def qr_texture(text: str) -> Any:
    """A QR code as a Kivy texture (drawn big; scanned by the resident's phone)."""
    import qrcode
    from kivy.core.image import Image as CoreImage

    image = qrcode.make(text, box_size=10, border=2)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    buffer.seek(0)
    return CoreImage(buffer, ext="png").texture
