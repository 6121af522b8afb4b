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
from kiosk.errors import FlowError
from kiosk.services.catalogue import Service, Step
from kiosk.services.fields import FieldError, validate_field
from kiosk.services.step_kinds import STEP_KINDS
from kiosk.visit.session import Session

BACKEND = "backend"  # a need that is not a device role: the backend's look-ups


@dataclass(frozen=True)
class BlockedOption:
    """One answer of a choice that cannot be taken now, because its branch needs something down."""

    field: str
    value: str
    reason_key: str  # resident message: service.degraded.<role>
    detail: str  # technician detail, as for a disabled service


@dataclass(frozen=True)
class Availability:
    """Whether a service can be started now; if not, a resident message key and technician detail.

    A service may also be *degraded*: available, with some answers of a choice blocked (``blocked``)
    because only their branch needs a device that is down, e.g. traffic-fine by ID card while the
    reader is unplugged (by plate still works)."""

    ok: bool
    reason_key: str = ""
    detail: str = ""
    blocked: tuple[BlockedOption, ...] = ()

    @property
    def degraded(self) -> bool:
        return self.ok and bool(self.blocked)


AVAILABLE = Availability(True)


def _problem(
    need: str, device_health: Callable[[str], DeviceHealth | None], backend_ok: bool
) -> tuple[str, str] | None:
    """(resident message key, technician detail) when ``need`` cannot be met now, else None."""
    if need == BACKEND:
        return None if backend_ok else ("service.unavailable.backend", "backend look-up unreachable")
    health = device_health(need)
    if health is None:
        return f"service.unavailable.device.{need}", f"{need} not configured"
    if health.state is Health.UNKNOWN and health.code == "starting":
        return "service.unavailable.starting", f"{need} is being opened"
    if not health.usable:
        return f"service.unavailable.device.{need}", f"{need}: {health.code} {health.detail}".strip()
    return None


def step_needs(step: Step) -> tuple[str, ...]:
    """The device roles (and ``backend``) a step's kind needs to run."""
    kind = STEP_KINDS[step.kind]
    return kind.devices + ((BACKEND,) if kind.backend else ())


def branch_needs(service: Service) -> tuple[list[str], dict[tuple[str, str], list[str]]]:
    """What the service needs whatever the resident answers, and what each answer's branch needs
    on top: steps with ``when = {field, equals}`` belong to that answer, and an option may list
    ``needs`` itself. Everything else (including ``not_equals`` conditions) is needed always."""
    always: list[str] = list(service.devices)
    branches: dict[tuple[str, str], list[str]] = {}
    for step in service.steps:
        if step.when is not None and step.when.equals is not None and step.when.not_equals is None:
            branches.setdefault((step.when.field, step.when.equals), []).extend(step_needs(step))
        else:
            always.extend(step_needs(step))
        for field in step.fields:
            for option in field.options:
                if option.needs:
                    branches.setdefault((field.id, option.value), []).extend(option.needs)
    return always, branches


def service_availability(
    service: Service,
    *,
    ready_kinds: frozenset[str],
    device_health: Callable[[str], DeviceHealth | None],
    backend_ok: bool = True,
) -> Availability:
    """Decide if ``service`` can run: every step kind has a screen, every device it needs whatever
    the answers is usable, the backend is reachable when a step must ask it something, and at least
    one answer of every choice remains. Answers whose branch needs something down are blocked."""
    for step in service.steps:
        if step.kind not in ready_kinds:
            return Availability(False, "service.unavailable.not_ready", f"step kind {step.kind!r} not built")
    always, branches = branch_needs(service)
    devices_first = sorted(dict.fromkeys(always), key=lambda need: need == BACKEND)
    for need in devices_first:
        problem = _problem(need, device_health, backend_ok)
        if problem is not None:
            return Availability(False, *problem)
    blocked: list[BlockedOption] = []
    for (field_id, value), needs in branches.items():
        for need in dict.fromkeys(needs):
            problem = _problem(need, device_health, backend_ok)
            if problem is not None:
                reason = "service.degraded.backend" if need == BACKEND else f"service.degraded.{need}"
                blocked.append(BlockedOption(field_id, value, reason, problem[1]))
                break
    for field_id in dict.fromkeys(b.field for b in blocked):
        field = service.field(field_id)
        shut = {b.value for b in blocked if b.field == field_id}
        if field is not None and field.options and {o.value for o in field.options} <= shut:
            first = next(b for b in blocked if b.field == field_id)  # no way through is left
            key = first.reason_key.replace("service.degraded.", "service.unavailable.device.")
            key = "service.unavailable.backend" if first.reason_key == "service.degraded.backend" else key
            return Availability(False, key, "; ".join(b.detail for b in blocked if b.field == field_id))
    return Availability(True, blocked=tuple(blocked))


@dataclass(frozen=True)
class Route:
    """Where the presentation layer should be: a screen name and, for the step host, the step."""

    screen: str  # "step" | "review" | "done"
    step: Step


class Flow:
    """One resident's way through one service."""

    def __init__(
        self, service: Service, session: Session, *, blocked: tuple[BlockedOption, ...] = ()
    ) -> None:
        self.service = service
        self.session = session
        self.blocked = blocked  # answers that cannot be taken in this visit (a device is down)
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
            problem = problem or self.blocked_reason(field.id, value)
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

    def blocked_reason(self, field_id: str, value: Any) -> str | None:
        """The message key saying why this answer cannot be taken now, or None."""
        for option in self.blocked:
            if option.field == field_id and option.value == value:
                return option.reason_key
        return None

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
