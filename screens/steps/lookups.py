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

from kiosk.steps.backend_step import (
    ANSWERED,
    DONE,
    FINISHED,
    BackendEngine,
    LookupState,
    fen_text,
    queue_clients,
    yuan,
)
from kiosk.steps.fines import NEEDS_CARD, OVER_LIMIT, FineRules
from kiosk.steps.lookups import (
    VehicleLookupEngine,
    VehicleState,
    VerifyIdentityEngine,
    ViolationsEngine,
    ViolationsState,
)
from kiosk.steps.payment import (
    CODE,
    PAYMENT_POLL_S,
    PAYMENT_TIMEOUT_S,
    WAITING,
    PaymentEngine,
    PaymentState,
    fee_due,
)
from screens.steps.base import StepBase, StepResult, lookup_result

DEMO_PAY_CODE = "134567890123456789"  # synthetic: the simulated platform charges it

# the violations step's stops (kiosk/steps/fines.py): each a result screen, never a red line
FINES_RESULTS: dict[str, StepResult] = {
    "fines.points_full": StepResult("problem", "fines.points_full", "result.points_full.body"),
    "fines.over_limit": StepResult("problem", "fines.over_limit", "result.over_limit.body"),
    "fines.no_licence": StepResult("problem", "fines.no_licence", "result.no_licence.body"),
    "fines.licence_invalid": StepResult("problem", "fines.licence_invalid", "result.no_licence.body"),
    "fines.decision_unknown": StepResult(
        "problem", "fines.decision_unknown", "result.decision_unknown.body", retry_key="result.retype"
    ),
    "fines.decision_paid": StepResult(
        "ok", "fines.decision_paid", "result.decision_paid.body", home_key="app.finish", help=False
    ),
    "fines.decide_refused": StepResult("problem", "fines.decide_refused", "result.decide_refused.body"),
}

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
        self.wants_next = bool(state.rows) and state.phase == ANSWERED  # 是这辆车, the bar's main slot
        self.main_key = "lookup.vehicle_yes" if self.wants_next else ""
        super().render(state)

    def next(self) -> None:
        self.confirm()

    def confirm(self) -> None:
        assert isinstance(self.engine, VehicleLookupEngine)
        self.engine.confirm()


class ViolationRow(ButtonBehavior, BoxLayout):
    """One violation (see lookups.kv); ``selected`` is set by the step on every state it draws."""

    item = ObjectProperty({})
    holder = ObjectProperty(None, allownone=True, rebind=True)
    selected = BooleanProperty(False)
    choosable = BooleanProperty(True)  # over the limit, or a plate-only look-up: shown, not chosen


class ViolationsStep(BackendStep):
    """The violations as big rows (what, when, where, decision number or "camera record, to be
    confirmed", amount, points, a late fee) with a selected mark that renders; the licence's points
    above; 全选; "已选 2 条，共 ￥300"; large scroll buttons. The main action sits in the action bar's
    main slot: 缴纳所选 (which first opens the confirm sheet of camera records), 确认违法, 完成."""

    items = ListProperty([])  # violation dicts
    chosen = ListProperty([])  # violation ids
    total = StringProperty("")
    chosen_text = StringProperty("")
    licence_text = StringProperty("")
    all_chosen = BooleanProperty(False)
    can_choose = BooleanProperty(False)  # some rows may be chosen (not a plate-only look-up)
    nothing_due = BooleanProperty(False)  # answered: nothing to pay, the visit can end as done
    more_below = NumericProperty(0)  # rows (partly) below the visible part of the list
    can_scroll = BooleanProperty(False)

    def make_engine(self) -> BackendEngine[Any]:
        rules = FineRules.from_rules(self.step.rules) if self.step is not None else FineRules()
        return ViolationsEngine(
            self.flow.session,
            queue_clients(self.app.runtime),
            self.tasks,
            on_change=self.render,
            rules=rules,  # today: the wall clock's date (late fees count calendar days)
        )

    def render(self, state: LookupState) -> None:
        assert isinstance(state, ViolationsState)
        if list(state.items) != self.items:
            self.items = list(state.items)
            self._build_rows()
        self.chosen = list(state.chosen)
        for row in self.ids.rows.children:
            row.selected = row.item.get("violation_id") in state.chosen
            row.choosable = not row.item.get("why_not")
        self.can_choose = bool(state.choosable) and not state.confirming
        self.all_chosen = bool(state.choosable) and set(state.chosen) == set(state.choosable)
        self.nothing_due = state.nothing_due
        amount = fen_text(state.total_fen)
        self.total = self.app.tr("lookup.total", amount=amount) if state.items else ""
        if not state.choosable:
            self.chosen_text = ""
        elif state.chosen:
            self.chosen_text = self.app.tr("fines.chosen", count=len(state.chosen), amount=amount)
        else:
            self.chosen_text = self.app.tr("fines.none_chosen")
        licence = state.licence
        self.licence_text = self.app.tr("fines.licence", **licence) if licence else ""
        finishing = self.violations.can_finish
        self.wants_next = state.phase == ANSWERED and (bool(state.chosen) or finishing)
        if state.confirming:
            self.main_key = "fines.confirm"
        elif state.chosen:
            self.main_key = "lookup.pay_chosen" if not state.to_confirm else "fines.next_confirm"
        else:
            self.main_key = "lookup.finish" if finishing else ""
        super().render(state)
        self.result = FINES_RESULTS.get(state.message_key) or self.result
        if state.message_key == "fines.confirm_points":  # the points this confirmation adds
            left = max(0, state.full_points - state.points_after)
            self.message = self.app.tr(state.message_key, points=state.points_to_add, left=left)
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

    def next(self) -> None:
        """The action bar's main button."""
        state = self.violations.state
        if state.chosen:
            self.violations.pay()
        elif self.violations.can_finish:
            self.violations.finish()

    def back(self) -> bool:
        return self.violations.back()

    def result_action(self, action: str) -> None:
        if action == "home" and self.violations.state.message_key == "fines.decision_paid":
            self.app.finish_without_request()  # nothing to pay: a good end, not a cancel
        else:
            super().result_action(action)

    # -- one row's texts -----------------------------------------------------------------------
    def row_title(self, item: dict[str, Any]) -> str:
        return str(item.get(f"description_{self.app.lang}", "") or item.get("description_zh", ""))

    def row_detail(self, item: dict[str, Any]) -> str:
        place = item.get(f"place_{self.app.lang}", "") or item.get("place_zh", "")
        lines = [f"{item.get('date', '')}  {place}".strip()]
        if item.get("decision_no"):
            lines.append(self.app.tr("fines.decision", number=item["decision_no"]))
        elif "decided" in item and not item["decided"] and item.get("why_not") != NEEDS_CARD:
            lines.append(self.app.tr("fines.camera_record"))
        if item.get("late_fee_fen"):
            lines.append(self.app.tr("fines.late_fee_row", amount=yuan(int(item["late_fee_fen"]))))
        if item.get("why_not") == OVER_LIMIT:
            lines.append(self.app.tr("fines.over_limit_row"))
        elif item.get("why_not") == NEEDS_CARD:
            lines.append(self.app.tr("fines.needs_card_row"))
        return "\n".join(line for line in lines if line)

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
    code_mode = BooleanProperty(False)  # 出示付款码: the phone's code to the scanner, not the screen's QR
    code_text = StringProperty("")
    code_demo = BooleanProperty(False)  # the simulated scanner: a visibly-demo button shows a code to it

    def make_engine(self) -> BackendEngine[Any]:
        self._qr_text = ""
        self._timer: Any = None
        self._fee = fee_due(self.flow.service, self.flow.session.values)  # by plate type, for one
        return PaymentEngine(
            self.flow.session,
            fee_fen=int(self._fee["amount_fen"]),
            purpose=self.flow.service.request_type,
            clients=queue_clients(self.app.runtime),
            tasks=self.tasks,
            clock=self.app.runtime.clock,
            on_change=self.render,
            scanner=self._scanner(),
        )

    def _scanner(self) -> Any:
        """The configured scanner when it is usable (else the QR on screen is the only way)."""
        runtime = self.app.runtime
        scanner = runtime.devices.get("scanner")
        if scanner is None:
            return None
        health = runtime.device_health("scanner")
        usable = health is not None and health.usable
        self.code_demo = usable and hasattr(scanner, "present")
        return scanner if usable else None

    def demo_code(self) -> None:
        """Demo only: a phone's payment code held to the simulated scanner (a synthetic one)."""
        scanner = self.app.runtime.devices.get("scanner")
        if self.code_demo and scanner is not None:
            scanner.present(DEMO_PAY_CODE)

    def next(self) -> None:
        """The action bar's main slot: 出示付款码, or back to 扫码支付."""
        if self.payment.state.pay_by == CODE:
            self.payment.show_qr()
        else:
            self.payment.show_code()

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
        if lines and chosen.get("late_fee_fen"):  # the late fee on its own line
            lines.append((self.app.tr("fines.late_fee"), yuan(int(chosen["late_fee_fen"]))))
        if not lines and chosen.get("violation_ids"):
            count = len(chosen["violation_ids"])
            lines = [(self.app.tr("pay.fines_item", count=count), yuan(int(chosen.get("amount_fen", 0))))]
        if not lines and self._fee["items"]:  # a fee schedule: each part on its own line
            lines = [(self.app.tr(key), yuan(int(fen))) for key, fen in self._fee["items"]]
        if not lines:
            title = self.flow.service.title.get(lang)
            lines = [(self.app.tr("pay.fee_item", service=title), yuan(int(self._fee["amount_fen"])))]
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
        self.code_mode = state.pay_by == CODE
        self.code_text = self.app.tr(state.code_key) if state.code_key else ""
        self.wants_next = state.phase == WAITING and state.can_show_code
        self.main_key = ("pay.show_qr" if self.code_mode else "pay.show_code") if self.wants_next else ""
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
