"""The vehicle register's steps: the driving licence and its window, the electronic health-check
record, the owner check before a re-issue, and the inspection-exempt car's sticker.

The rules live in Kivy-free engines (:mod:`kiosk.steps.licence`, :mod:`kiosk.steps.vehicle_owner`)
built with the step's ``rules`` from the catalogue; these widgets draw the engine's state, forward
touches, put the main action (确认无误, or 下一步 once a record number is typed) in the action bar's
main slot, and show every stop in the host's result template.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.gridlayout import GridLayout

from kiosk.steps.backend_step import ANSWERED, DONE, FINISHED, BackendEngine, LookupState, queue_clients
from kiosk.steps.licence import HealthCheckEngine, HealthState, LicenceCheckEngine, LicenceRules, LicenceState
from kiosk.steps.vehicle_owner import InspectionCheckEngine, OwnerCheckEngine, OwnerState, plate_type_label
from screens.steps.base import StepResult, lookup_result
from screens.steps.form import KeypadEntry
from screens.steps.lookups import BackendStep

__all__ = [
    "HealthCheckStep",
    "InspectionCheckStep",
    "KeypadEntry",
    "LicenceCheckStep",
    "OwnerCheckStep",
    "RecordRows",
]

# a stop of these steps (the engine's message key) -> the result screen; ``detail`` is a date or count
_RETRY = {"owner.unknown_plate": "result.plate_again", "health.record_unknown": "health.type_again"}
STOPS = (
    "licence.unknown", "licence.not_normal", "licence.expired", "licence.too_early",
    "health.record_unknown", "health.record_failed", "health.record_expired", "health.record_last_cycle",
    "owner.unknown_plate", "owner.not_owner", "owner.vehicle_status",
    "inspection.not_exempt", "inspection.station", "inspection.too_early", "inspection.no_insurance",
    "inspection.violations",
)  # fmt: skip


def vehicle_result(state: Any) -> StepResult | None:
    """The result screen of a vehicle step's stop, or the shared one (offline, refused), or None."""
    key = getattr(state, "message_key", "")
    if key in STOPS and getattr(state, "refused", False):
        return StepResult(
            "problem", f"vresult.{key}.title", f"vresult.{key}.body",
            retry_key=_RETRY.get(key, ""), detail=str(getattr(state, "detail", "") or ""),
        )  # fmt: skip
    return lookup_result(state)


class RecordRows(GridLayout):
    """The record's label/value rows (see vehicle_checks.kv), two to a line in 长辈模式 on a
    landscape screen so that all four fit. ``step`` is set by the step's kv rule after this widget's
    own rule bound ``root.step.rows``: it must rebind (as BackendStatus)."""

    step = ObjectProperty(None, allownone=True, rebind=True)


class RecordStep(BackendStep):
    """A record from the register shown as label/value rows for the resident to confirm."""

    rows = ListProperty([])  # (label, value)
    answered = BooleanProperty(False)

    def render(self, state: LookupState) -> None:
        rows = getattr(state, "rows", ())
        self.rows = [(self.app.tr(label), self.value_text(label, value)) for label, value in rows]
        self.answered = state.phase == ANSWERED
        self.wants_next = self.answered
        self.main_key = "vehicle.confirm" if self.answered else ""
        super().render(state)
        if state.phase not in (DONE, FINISHED):  # a finished step has moved the flow on
            self.result = vehicle_result(state)

    def value_text(self, label: str, value: str) -> str:
        return value

    def next(self) -> None:
        confirm = getattr(self.engine, "confirm", None)
        if confirm is not None:
            confirm()

    def result_action(self, action: str) -> None:
        """再试一次 asks again; 重新输入号牌 goes back to the plate; the way out ends the visit."""
        state = self.engine.state
        if action == "retry" and state.message_key == "owner.unknown_plate":
            self.app.go_back()
        else:
            super().result_action(action)


class LicenceCheckStep(RecordStep):
    def make_engine(self) -> BackendEngine[Any]:
        rules = LicenceRules.of(self.step.rules)
        return LicenceCheckEngine(
            self.flow.session, queue_clients(self.app.runtime), self.tasks, rules, on_change=self.render
        )

    def render(self, state: LookupState) -> None:
        assert isinstance(state, LicenceState)
        super().render(state)


class OwnerCheckStep(RecordStep):
    engine_class: type[OwnerCheckEngine] = OwnerCheckEngine

    def make_engine(self) -> BackendEngine[Any]:
        return self.engine_class(
            self.flow.session,
            queue_clients(self.app.runtime),
            self.tasks,
            self.step.rules,
            on_change=self.render,
        )

    def render(self, state: LookupState) -> None:
        assert isinstance(state, OwnerState)
        super().render(state)

    def value_text(self, label: str, value: str) -> str:
        if label == "owner.row.plate_type":
            return plate_type_label(self.step.rules, value, self.app.lang)
        return value


class InspectionCheckStep(OwnerCheckStep):
    engine_class = InspectionCheckEngine


class HealthCheckStep(BackendStep):
    """The record number typed on the digit pad (reusing the form's :class:`KeypadEntry`), sent
    with 下一步; the backend's answer and the record's date decide (the engine)."""

    entry = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # built with ``form`` set: its kv rule binds ``root.form.entry`` once, at construction
        self.pad = KeypadEntry(form=self)
        self.add_widget(self.pad)

    def make_engine(self) -> BackendEngine[Any]:
        rules = LicenceRules.of(self.step.rules)
        return HealthCheckEngine(
            self.flow.session, queue_clients(self.app.runtime), self.tasks, rules, on_change=self.render
        )

    @property
    def health(self) -> HealthCheckEngine:
        assert isinstance(self.engine, HealthCheckEngine)
        return self.engine

    def render(self, state: LookupState) -> None:
        assert isinstance(state, HealthState)
        self.entry = state.entry
        self.wants_next = self.health.complete and not state.busy
        if getattr(self, "pad", None) is not None:
            self.pad.disabled = state.busy
        super().render(state)
        if state.phase not in (DONE, FINISHED):
            self.result = vehicle_result(state)

    # what KeypadEntry asks of its ``form``
    def keys(self) -> list[str]:
        return ["1", "2", "3", "4", "5", "6", "7", "8", "9", "", "0", "⌫"]

    def press(self, key: str) -> None:
        if key == "clear":
            self.health.again()
        else:
            self.health.press("del" if key == "⌫" else key)

    def shown_entry(self, entry: str) -> str:
        """Grouped in fours, as the report prints it."""
        return " ".join(entry[i : i + 4] for i in range(0, len(entry), 4))

    def next(self) -> None:
        self.health.submit()

    def back(self) -> bool:
        """Back deletes the typed digits first, then leaves the step."""
        if self.entry:
            self.health.again()
            return True
        return False

    def result_action(self, action: str) -> None:
        if action == "retry" and self.engine.state.can_retry:
            self.health.retry()
        else:
            super().result_action(action)
