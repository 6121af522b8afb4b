"""The flow engine: runs a service from its description, one step at a time.

Screens never navigate to each other; they tell the flow what the resident did
(:meth:`Flow.complete`, :meth:`Flow.back`) and ask it where to go (:attr:`Flow.route`). Steps with a
``when`` condition are skipped or taken depending on earlier answers, so the same engine runs every
service in ``config/services.toml``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from drivers.base import DeviceHealth, Health
from kiosk.catalogue import Service, Step
from kiosk.errors import FlowError
from kiosk.fields import FieldError, validate_field
from kiosk.session import Session
from kiosk.steps import STEP_KINDS


@dataclass(frozen=True)
class Availability:
    """Whether a service can be started now; if not, a resident message key and technician detail."""

    ok: bool
    reason_key: str = ""
    detail: str = ""


AVAILABLE = Availability(True)


def service_availability(
    service: Service,
    *,
    ready_kinds: frozenset[str],
    device_health: Callable[[str], DeviceHealth | None],
    backend_ok: bool = True,
) -> Availability:
    """Decide if ``service`` can run: every step kind has a screen, every device it needs is usable,
    and the backend is reachable when a step must ask it something."""
    for step in service.steps:
        if step.kind not in ready_kinds:
            return Availability(False, "service.unavailable.not_ready", f"step kind {step.kind!r} not built")
    roles = list(service.devices)
    for step in service.steps:
        roles.extend(STEP_KINDS[step.kind].devices)
    for role in dict.fromkeys(roles):
        health = device_health(role)
        if health is None:
            return Availability(False, f"service.unavailable.device.{role}", f"{role} not configured")
        if health.state is Health.UNKNOWN and health.code == "starting":
            return Availability(False, "service.unavailable.starting", f"{role} is being opened")
        if not health.usable:
            return Availability(
                False, f"service.unavailable.device.{role}", f"{role}: {health.code} {health.detail}".strip()
            )
    if not backend_ok and any(STEP_KINDS[s.kind].backend for s in service.steps):
        return Availability(False, "service.unavailable.backend", "backend look-up unreachable")
    return AVAILABLE


@dataclass(frozen=True)
class Route:
    """Where the presentation layer should be: a screen name and, for the step host, the step."""

    screen: str  # "step" | "review" | "done"
    step: Step


class Flow:
    """One resident's way through one service."""

    def __init__(self, service: Service, session: Session) -> None:
        self.service = service
        self.session = session
        session.service_id = service.id
        self._history: list[int] = []
        self._index = self._next_index(-1)

    # -- where we are -------------------------------------------------------------------------
    @property
    def step(self) -> Step:
        return self.service.steps[self._index]

    @property
    def route(self) -> Route:
        kind = self.step.kind
        screen = kind if kind in ("review", "done") else "step"
        return Route(screen, self.step)

    @property
    def finished(self) -> bool:
        return self.step.kind == "done"

    @property
    def can_go_back(self) -> bool:
        """Back is offered until the request is submitted or paid for (a payment is never made
        twice, and what was paid for cannot be changed afterwards)."""
        done = self.session.artifacts
        return bool(self._history) and "submitted" not in done and "payment" not in done

    def progress(self) -> tuple[int, int]:
        """(1-based number of the current step, number of steps the resident will see)."""
        visible = self._active_indices()
        position = visible.index(self._index) + 1 if self._index in visible else len(self._history) + 1
        return position, len(visible)

    def steps_taken(self) -> list[Step]:
        return [self.service.steps[i] for i in self._history]

    # -- what the resident did ----------------------------------------------------------------
    def complete(
        self, values: Mapping[str, Any] | None = None, *, results: Mapping[str, Any] | None = None
    ) -> list[FieldError]:
        """Finish the current step with ``values`` (form fields). Returns the field errors;
        when there are none, the values are stored in the session and the flow advances.

        ``results`` are values a non-form step produced and checked itself (the plate a resident
        typed, the violations chosen); they are stored as they are, under their own keys."""
        if self.finished:
            raise FlowError("the service is already finished")
        values = dict(values or {})
        errors: list[FieldError] = []
        clean: dict[str, Any] = {}
        for field in self.step.fields:
            value, problem = validate_field(field, values.get(field.id))
            if problem:
                errors.append(FieldError(field.id, problem))
            else:
                clean[field.id] = value
        if errors:
            return errors
        self.session.values.update(clean)
        self.session.values.update(results or {})
        self._history.append(self._index)
        self._index = self._next_index(self._index)
        return []

    def back(self) -> bool:
        """Return to the previous step the resident saw; False when there is none."""
        if not self.can_go_back:
            return False
        self._index = self._history.pop()
        return True

    # -- internals ----------------------------------------------------------------------------
    def _applies(self, step: Step) -> bool:
        return step.when is None or step.when.holds(self.session.values)

    def _next_index(self, after: int) -> int:
        for i in range(after + 1, len(self.service.steps)):
            if self._applies(self.service.steps[i]):
                return i
        raise FlowError(f"service {self.service.id!r} has no step after index {after}")

    def _active_indices(self) -> list[int]:
        return [i for i, s in enumerate(self.service.steps) if self._applies(s)]
