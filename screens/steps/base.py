"""What the step host may ask of a step widget, and a base class that gives the defaults.

The step host (``screens/resident/step.py``) shows one step widget at a time inside the common
frame (titles, progress, back, cancel, "next"). It calls only what :class:`StepWidget` names, so a
widget never has to be probed with ``hasattr``: every widget in ``screens/steps/`` inherits
:class:`StepBase` and overrides what it does differently.

A step's background work runs through ``self.tasks`` (:class:`kiosk.work.Tasks`): the outcome comes
back on the UI thread, an unexpected exception ends the visit calmly through the app's ``fail``,
and :meth:`StepBase.teardown` drops every answer still on its way when the resident leaves.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from kivy.app import App
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.work import Tasks

# -- named stages (UX.md: one progress indicator, 填写 → 拍照 → 核对 → 缴费 → 完成) ----------------

STAGES = ("fill", "photo", "check", "pay", "done")
STAGE_OF_KIND = {
    "take_photo": "photo",
    "review": "check",
    "verify_identity": "check",
    "payment": "pay",
    "submit": "done",
    "print": "done",
    "done": "done",
}


def stage_of(kind: str) -> str:
    """The named stage a step kind belongs to (everything asked of the resident is 填写)."""
    return STAGE_OF_KIND.get(kind, "fill")


def service_stages(kinds: Sequence[str], current_kind: str) -> tuple[list[str], int]:
    """The stages a service goes through, in order, and the index of the current step's."""
    present = {stage_of(kind) for kind in kinds} | {stage_of(current_kind)}
    stages = [stage for stage in STAGES if stage in present]
    return stages, stages.index(stage_of(current_kind))


# -- results: one template for every stop, failure and success (screens.widgets.ResultPanel) -------


@dataclass(frozen=True)
class StepResult:
    """What a step shows instead of itself when it stops: ``kind`` is the icon (ok | wait |
    problem | ok_problem), ``title_key`` says what happened, ``body_key`` what to do next (message
    keys). ``retry_key`` labels a retry where trying again can work (empty: none); ``home_key``
    labels the way out (返回首页, or 完成 once the request is safe). ``detail`` is a line shown
    large (a number). The host calls the widget's ``result_action("retry" | "home")``."""

    kind: str
    title_key: str
    body_key: str
    retry_key: str = ""
    home_key: str = "app.home"
    help: bool = True  # 呼叫帮助 on a problem; good news has none
    detail: str = ""
    retry_main: bool = True  # False: the retry is offered, but the way out stays the main button
    qr: Any = None  # a QR texture shown beside the detail (the status page of a request)
    note_key: str = ""  # a second sentence after the body ("nothing has been submitted")


# what a backend step's state (kiosk/steps/) means for the resident: message key -> result
LOOKUP_RESULTS: dict[str, StepResult] = {
    "lookup.not_verified": StepResult(
        "problem", "result.not_verified.title", "result.not_verified.body", retry_key="result.check_again"
    ),
    "lookup.vehicle_unknown": StepResult(
        "problem",
        "result.vehicle_unknown.title",
        "result.vehicle_unknown.body",
        retry_key="result.plate_again",
    ),
    "lookup.violations_none": StepResult(
        "ok", "result.nothing_due.title", "result.nothing_due.body", home_key="app.finish", help=False
    ),
    "lookup.payment_expired": StepResult(
        "problem",
        "result.payment_expired.title",
        "result.payment_expired.body",
        retry_key="lookup.payment_again",
    ),
    "lookup.payment_unconfirmed": StepResult(
        "wait", "result.payment_unconfirmed.title", "result.payment_unconfirmed.body"
    ),
    "queue.lookup_unavailable": StepResult(
        "problem", "result.offline.title", "result.offline.body", retry_key="lookup.retry"
    ),
    "queue.lookup_refused": StepResult("problem", "result.refused.title", "result.refused.body"),
}


def lookup_result(state: Any) -> StepResult | None:
    """The result a backend step shows for its engine's state, or None while the step goes on."""
    result = LOOKUP_RESULTS.get(getattr(state, "message_key", ""))
    if result is None:
        return None
    if result.title_key == "result.nothing_due.title" and not getattr(state, "nothing_due", False):
        return None
    return result


class StepWidget(Protocol):
    """The step host's view of a step widget."""

    wants_next: bool  # the host shows its "next" button while this is true (a Kivy property)
    busy: bool  # back and leave are shown disabled while true (submitting, verifying, printing)
    result: StepResult | None  # shown in the result template instead of the step
    question: str  # this step's question, the headline of the title row ("" : the step's title)
    main_key: str  # the main button's message key ("" : app.next while wants_next)

    def result_action(self, action: str) -> None:
        """A button of the result template was pressed: ``retry`` or ``home``."""

    def bind(self, **handlers: Callable[..., Any]) -> Any:
        """Kivy's property binding (the host follows ``wants_next``)."""

    def next(self) -> None:
        """The resident pressed the host's "next" button."""

    def back(self) -> bool:
        """The resident pressed "back": True when the step went back inside itself (the previous
        field, the list above), False to let the flow go to the previous step."""

    def refresh_texts(self) -> None:
        """The language or text size changed: draw every text again."""

    def teardown(self) -> None:
        """The step is left (done, back, cancel, idle wipe): stop its work, drop late answers."""


class StepBase(BoxLayout):
    """Defaults for :class:`StepWidget`: no "next" button, "back" leaves the step, nothing to
    redraw or stop but the background work started through ``self.tasks``."""

    wants_next = BooleanProperty(False)
    busy = BooleanProperty(False)
    result = ObjectProperty(None, allownone=True)
    question = StringProperty("")
    main_key = StringProperty("")

    def __init__(self, *, flow: Any = None, step: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow = flow
        self.step = step
        app = self.app
        self.tasks = Tasks(app.post, app.fail)

    @property
    def app(self) -> Any:
        return App.get_running_app()

    def next(self) -> None:
        """Nothing to confirm by default (steps without ``wants_next`` finish by themselves)."""

    def back(self) -> bool:
        return False

    def refresh_texts(self) -> None:
        """Nothing but kv-bound texts by default (kv rules follow ``app.lang`` themselves)."""

    def result_action(self, action: str) -> None:
        """Defaults of the result template's buttons: ``home`` ends the visit, ``retry`` goes back
        to the step before (to correct what was entered); widgets override what differs."""
        if action == "retry":
            self.app.go_back()
        else:
            self.app.cancel()

    def teardown(self) -> None:
        self.tasks.cancel()
