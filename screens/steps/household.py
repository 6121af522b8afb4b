"""The household services' own steps (issue #19): who may apply, the household-member check and
the thumb prints. The rules are the Kivy-free engines in ``kiosk/steps/`` (household_rules,
household_check, fingerprint); these widgets build one, draw its state and forward touches. Every
stop is a result screen (:class:`~screens.steps.base.StepResult`) with a way forward.
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, StringProperty

from kiosk.steps.backend_step import BackendEngine, LookupState, queue_clients
from kiosk.steps.fingerprint import (
    AT_PICKUP,
    CAPTURING,
    DONE,
    FingerprintEngine,
    FingerprintState,
    scan_attachments,
)
from kiosk.steps.household_check import KEY_NOT_SAME, KEY_SELF, HouseholdCheckEngine
from kiosk.steps.household_rules import RuleOutcome, applicant_outcome
from screens.steps.base import StepBase, StepResult, lookup_result
from screens.steps.lookups import BackendStep

log = logging.getLogger(__name__)

SHOW_DONE_S = 1.2  # "两手拇指指纹已采集" stays this long before the flow moves on


def today(app: Any) -> dt.date:
    """The kiosk's date (a test's runtime may carry its own ``today``)."""
    clock = getattr(app.runtime, "today", None)
    return clock() if callable(clock) else dt.date.today()


def rule_result(outcome: RuleOutcome, retry_key: str = "result.change_answer") -> StepResult:
    """A rule's stop as a result screen; the retry lets the resident change an answer (or lay
    another card)."""
    return StepResult(
        "problem",
        f"{outcome.stop}.title",
        f"{outcome.stop}.body",
        retry_key=retry_key,
        retry_main=False,
        detail=outcome.detail,
    )


class ApplicantRulesStep(StepBase):
    """Judges the identified applicant (age, the renewal window) and goes on by itself, or stops."""

    message = StringProperty("")

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        self.refresh_texts()
        self._going: Any = None
        outcome = applicant_outcome(dict(flow.service.rules), flow.session, today(self.app))
        self.show_outcome(outcome)

    def show_outcome(self, outcome: RuleOutcome) -> None:
        if self._going is not None:
            self._going.cancel()
            self._going = None
        if outcome.ok:
            self._going = Clock.schedule_once(lambda _dt: self.app.step_done(results=outcome.results), 0)
        else:
            log.info("applicant rules: stop %s (%s)", outcome.stop, outcome.cause)
            self.result = rule_result(outcome)

    def refresh_texts(self) -> None:
        self.message = self.app.tr("household.rules.checking")

    def teardown(self) -> None:
        if self._going is not None:
            self._going.cancel()
            self._going = None
        super().teardown()


HOUSEHOLD_RESULTS = {
    key: StepResult("problem", key, key.replace(".title", ".body"), retry_key="household.change_number")
    for key in (KEY_NOT_SAME, KEY_SELF)
}


class HouseholdCheckStep(BackendStep):
    """The backend confirms that the member typed is in the applicant's household."""

    def make_engine(self) -> BackendEngine[Any]:
        return HouseholdCheckEngine(
            self.flow.session, queue_clients(self.app.runtime), self.tasks, on_change=self.render
        )

    def render(self, state: LookupState) -> None:
        super().render(state)
        self.result = HOUSEHOLD_RESULTS.get(state.message_key) or lookup_result(state)


class FingerprintStep(StepBase):
    """Both thumbs on the collector, or the note that they are taken at pick-up."""

    instruction = StringProperty("")
    phase = StringProperty("place")
    thumbs = ListProperty([])  # [(label, taken?)] for the two thumbs
    capturing = BooleanProperty(False)
    has_collector = BooleanProperty(False)

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        collector = self.app.runtime.devices.get("fingerprint")
        self.has_collector = collector is not None
        self.engine = FingerprintEngine(collector, self.tasks, on_change=self.render)
        self._moving_on: Any = None
        self.render(self.engine.state)
        Clock.schedule_once(lambda _dt: self.engine.start(), 0)

    def render(self, state: FingerprintState) -> None:
        self.phase = state.phase
        self.capturing = state.phase == CAPTURING
        self.busy = self.capturing
        self.instruction = self.app.tr(state.instruction_key)
        self.thumbs = [
            (self.app.tr(f"fingerprint.{finger}"), finger in state.taken)
            for finger in ("right_thumb", "left_thumb")
        ]
        self.question = self.app.tr(
            "fingerprint.title_at_pickup" if state.phase == AT_PICKUP else "fingerprint.title"
        )
        self.wants_next = state.phase == AT_PICKUP
        if state.phase == DONE and self._moving_on is None:
            self._moving_on = Clock.schedule_once(lambda _dt: self.next(), SHOW_DONE_S)

    def refresh_texts(self) -> None:
        self.render(self.engine.state)

    def next(self) -> None:
        if not self.engine.state.finished:
            return
        scans = scan_attachments(self.engine)
        if scans:
            self.flow.session.artifacts["fingerprint_scans"] = scans
        self.app.step_done(results=self.engine.results())

    def teardown(self) -> None:
        if self._moving_on is not None:
            self._moving_on.cancel()
            self._moving_on = None
        self.engine.leave()
        super().teardown()
