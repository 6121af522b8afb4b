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
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
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


class ViolationRow(ButtonBehavior, BoxLayout):
    """One violation (see lookups.kv); ``selected`` is set by the step on every state it draws."""

    item = ObjectProperty({})
    holder = ObjectProperty(None, allownone=True, rebind=True)
    selected = BooleanProperty(False)


class ViolationsStep(BackendStep):
    """The outstanding violations as big rows (what, when, where, decision number, amount, points)
    with a checkbox icon that renders; 全选; "已选 2 条，共 ￥300"; large scroll buttons and how many
    more rows are below when the list does not fit."""

    items = ListProperty([])  # violation dicts
    chosen = ListProperty([])  # violation ids
    total = StringProperty("")
    chosen_text = StringProperty("")
    all_chosen = BooleanProperty(False)
    nothing_due = BooleanProperty(False)  # answered: nothing to pay, the visit can end as done
    more_below = NumericProperty(0)  # rows (partly) below the visible part of the list
    can_scroll = BooleanProperty(False)

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
        for row in self.ids.rows.children:
            row.selected = row.item.get("violation_id") in state.chosen
        self.all_chosen = bool(state.items) and len(state.chosen) == len(state.items)
        self.nothing_due = state.nothing_due
        amount = fen_text(state.total_fen)
        self.total = self.app.tr("lookup.total", amount=amount) if state.items else ""
        if not state.items:
            self.chosen_text = ""
        elif state.chosen:
            self.chosen_text = self.app.tr("fines.chosen", count=len(state.chosen), amount=amount)
        else:
            self.chosen_text = self.app.tr("fines.none_chosen")
        super().render(state)
        Clock.schedule_once(lambda _dt: self.update_scroll(), 0)

    def _build_rows(self) -> None:
        rows = self.ids.rows
        rows.clear_widgets()
        for item in self.items:
            row = ViolationRow()
            row.holder, row.item = self, item
            rows.add_widget(row)

    @property
    def violations(self) -> ViolationsEngine:
        assert isinstance(self.engine, ViolationsEngine)
        return self.engine

    def toggle(self, violation_id: str) -> None:
        self.violations.toggle(violation_id)

    def choose_all(self) -> None:
        self.violations.choose_all()

    def line(self, item: dict[str, Any]) -> str:
        return violation_line(item, self.app.lang)

    # -- one row's texts -----------------------------------------------------------------------
    def row_title(self, item: dict[str, Any]) -> str:
        return str(item.get(f"description_{self.app.lang}", "") or item.get("description_zh", ""))

    def row_detail(self, item: dict[str, Any]) -> str:
        place = item.get(f"place_{self.app.lang}", "") or item.get("place_zh", "")
        lines = [f"{item.get('date', '')}  {place}".strip()]
        if item.get("decision_no"):
            lines.append(self.app.tr("fines.decision", number=item["decision_no"]))
        return "\n".join(lines)

    def row_points(self, item: dict[str, Any]) -> str:
        points = int(item.get("points", 0) or 0)
        return self.app.tr("fines.points", points=points) if points else self.app.tr("fines.no_points")

    def row_amount(self, item: dict[str, Any]) -> str:
        return yuan(int(item.get("amount_fen", 0)))

    # -- scrolling with big buttons ------------------------------------------------------------
    def update_scroll(self) -> None:
        view = self.ids.get("scroll")
        if view is None:
            return
        rows = self.ids.rows
        self.can_scroll = rows.height > view.height + 1
        bottom = view.to_window(view.x, view.y)[1]
        self.more_below = sum(1 for row in rows.children if row.to_window(row.x, row.y)[1] < bottom - 1)

    def scroll(self, direction: int) -> None:
        """One screenful up (+1) or down (-1), as the big arrow buttons do."""
        view = self.ids.scroll
        distance = view.convert_distance_to_scroll(0, view.height * 0.8)[1]
        view.scroll_y = max(0.0, min(1.0, view.scroll_y + direction * distance))
        self.update_scroll()

    def pay(self) -> None:
        self.violations.pay()

    def finish(self) -> None:
        """Nothing to pay: the resident's question is answered; end the visit as done, not cancelled."""
        self.violations.finish()


class PaymentStep(BackendStep):
    """The QR code to scan, what is paid for line by line, the total, how long the code is valid
    (counting down), and generic phone and wallet icons (no payment company's logo)."""

    qr_texture = ObjectProperty(None, allownone=True)
    amount = StringProperty("")
    bill = ListProperty([])  # (what, amount) lines
    valid_text = StringProperty("")

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
        self.bill = self._bill()
        if self._timer is None and not self._moved_on:  # the engine polls and watches its deadline
            self._timer = Clock.schedule_interval(lambda _dt: self.payment.tick(), PAYMENT_POLL_S)
            self._countdown = Clock.schedule_interval(lambda _dt: self._count_down(), 1.0)

    def on_bill(self, _instance: Any, lines: list[tuple[str, str]]) -> None:
        from kivy.factory import Factory

        box = self.ids.bill
        box.clear_widgets()
        for what, amount in lines:
            line = Factory.PayLine()
            line.what, line.amount = what, amount
            box.add_widget(line)

    def _bill(self) -> list[tuple[str, str]]:
        """The lines paid for: each violation chosen, else the service's fee."""
        chosen = self.flow.session.artifacts.get("violations") or {}
        lang = self.app.lang
        lines = [
            (str(v.get(f"description_{lang}", "") or v.get("description_zh", "")), yuan(int(v["amount_fen"])))
            for v in chosen.get("items", ())
        ]
        if not lines and chosen.get("violation_ids"):
            count = len(chosen["violation_ids"])
            lines = [(self.app.tr("pay.fines_item", count=count), yuan(int(chosen.get("amount_fen", 0))))]
        if not lines:
            title = self.flow.service.title.get(lang)
            lines = [(self.app.tr("pay.fee_item", service=title), yuan(int(self.flow.service.fee_fen)))]
        return lines

    def _count_down(self) -> None:
        deadline = self.payment.deadline
        if deadline is None or not self.qr_texture:
            self.valid_text = ""
            return
        left = max(0, int(deadline - self.app.runtime.clock()))
        self.valid_text = self.app.tr("pay.valid_for", minutes=left // 60, seconds=f"{left % 60:02d}")

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
        self._count_down()

    def refresh_texts(self) -> None:
        self.bill = self._bill()
        super().refresh_texts()

    def _stop_timer(self) -> None:
        timer, self._timer = self._timer, None
        countdown, self._countdown = getattr(self, "_countdown", None), None
        for event in (timer, countdown):
            if event is not None:
                event.cancel()

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
