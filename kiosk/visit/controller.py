"""The visit lifecycle, without Kivy: one resident's visit from the first touch to the wipe.

:class:`VisitController` owns the :class:`~kiosk.visit.session.Session` and the
:class:`~kiosk.services.flow.Flow` of the person at the terminal, the idle timer and its warning,
the return to the attract screen after the done (or error) screen, the step analytics of how each
visit ended, and whether a service may start now (devices, the request queue, the backend).

Events in, state out: the presentation calls one method per thing that happened (a touch, a tap on
a service, a step that finished, a tick of its clock) and renders the :class:`View` it gets back;
the controller never draws and never sleeps. Its clock is injected, so the unit tests drive every
timeout with a fake one (``tests/unit/test_visit_controller.py``).

Every end of a visit (finish, cancel, idle timeout, unexpected error, a new visit, maintenance)
goes through :meth:`VisitController.end`: the outcome is counted, the session wiped, and the
``on_end`` listeners run (the app resets its screens there).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from kiosk.config.model import SessionSection
from kiosk.services.catalogue import Catalogue
from kiosk.services.fields import FieldError
from kiosk.services.flow import Availability, Flow, Route
from kiosk.visit.analytics import StepAnalytics
from kiosk.visit.availability import Surroundings, visit_availability
from kiosk.visit.idle import IdleMonitor, IdleState
from kiosk.visit.privacy import MASKING_FILTER
from kiosk.visit.session import Session

if TYPE_CHECKING:
    from kiosk.runtime import Runtime

log = logging.getLogger(__name__)

MAINTENANCE_SCREENS = ("maintenance_pin", "maintenance")
MAINTENANCE_IDLE_S = 300.0  # a technician who walks away is logged out after five minutes
MAINTENANCE_WARNING_S = 30.0
QUIET_SCREENS = ("attract", "done", "error")  # no idle countdown: nobody or a visit that has ended
ROUTE_SCREENS = ("step", "review", "done")  # screens that show the flow's current step
# ends of a visit that say nothing about how residents get on (the app stops, a test or tour resets)
UNCOUNTED = ("app_stop", "pilot_close", "tour")
OUTCOME_OF_REASON = {"timeout": "timed_out", "error": "failed", "answered": "finished"}


@dataclass(frozen=True)
class View:
    """What the presentation should show now.

    ``route`` is set while a flow step's screen shows (the step host loads it when navigated to);
    ``seconds_left`` is the idle countdown during a visit, or the seconds until the return to the
    attract screen on the done and error screens, None where nothing counts down."""

    screen: str
    category: str = "household"
    route: Route | None = None
    idle_warning: bool = False
    seconds_left: int | None = None
    number: str = ""  # the error screen: the acceptance number of a request filed before the failure


class VisitController:
    """One resident's visit at a time: sessions, flow navigation, idle and return timers."""

    def __init__(
        self,
        catalogue: Catalogue,
        settings: SessionSection,
        surroundings: Surroundings,
        *,
        ready_kinds: frozenset[str],
        analytics: StepAnalytics | None = None,
        clock: Callable[[], float] = time.monotonic,
        scratch_root: Path | None = None,
        lang: str = "zh",
    ) -> None:
        self.catalogue = catalogue
        self.settings = settings
        self.surroundings = surroundings
        self.ready_kinds = ready_kinds
        self.analytics = analytics if analytics is not None else StepAnalytics()
        self.clock = clock
        self.scratch_root = scratch_root
        self.lang = lang
        self.idle = IdleMonitor(clock)
        self.session: Session | None = None
        self.flow: Flow | None = None
        self.screen = "attract"
        self.category = "household"
        self.idle_warning = False
        self.return_at: float | None = None  # when the done/error screen gives way to the attract one
        # the acceptance number (受理号, not personal data) of a request already filed when the visit
        # failed: the error screen says it was submitted, so the resident does not file it again
        self.failed_number = ""
        self.time_scale = 1.0  # 长辈模式 gives more time: every idle limit is multiplied by this
        self._on_end: list[Callable[[str], None]] = []

    @classmethod
    def for_runtime(cls, runtime: Runtime, ready_kinds: frozenset[str]) -> VisitController:
        """The controller of the kiosk's visits, wired to its runtime (catalogue, session limits,
        devices, queue and backend state, analytics, clock)."""
        return cls(
            runtime.catalogue,
            runtime.config.session,
            runtime,
            ready_kinds=ready_kinds,
            analytics=runtime.analytics,
            clock=runtime.clock,
            scratch_root=runtime.config.data_dir / "sessions",
        )

    def on_end(self, listener: Callable[[str], None]) -> None:
        """Call ``listener(reason)`` after every end of a visit, once the session is wiped."""
        self._on_end.append(listener)

    # -- what to show ---------------------------------------------------------------------------
    def view(self, now: float | None = None) -> View:
        """The current state, without changing it."""
        now = self.clock() if now is None else now
        route = self.flow.route if self.flow is not None and self.screen in ROUTE_SCREENS else None
        seconds: int | None = None
        if self.return_at is not None:
            seconds = max(0, math.ceil(self.return_at - now))
        elif self.session is not None and self.screen not in QUIET_SCREENS + MAINTENANCE_SCREENS:
            seconds = math.ceil(self.idle.status(now).remaining_s)
        number = self.failed_number if self.screen == "error" else ""
        return View(self.screen, self.category, route, self.idle_warning, seconds, number)

    def tick(self, now: float | None = None) -> View:
        """Time passed: warn of, or end, an idle visit; leave the done screen; log out an idle
        technician. Returns what to show now."""
        now = self.clock() if now is None else now
        if self.screen in MAINTENANCE_SCREENS:
            if self.idle.status(now).state is IdleState.EXPIRED:
                log.info("maintenance mode left: nobody touched the screen")
                self.show_attract()
        elif self.return_at is not None:
            if now >= self.return_at:
                self.end("finished")
                self.show_attract()
        elif self.session is not None and self.screen not in QUIET_SCREENS:
            state = self.idle.status(now).state
            if state is IdleState.EXPIRED:
                log.info("session %s timed out", self.session.id)
                self.end("timeout")
                self.show_attract()
            elif state is IdleState.WARNING:
                self.idle_warning = True
        return self.view(now)

    # -- touches --------------------------------------------------------------------------------
    def touch(self) -> None:
        """Any touch on the screen: the resident (or technician) is still there. While the idle
        warning shows, only its own button (:meth:`keep_going`) counts."""
        if (self.session is not None or self.screen in MAINTENANCE_SCREENS) and not self.idle_warning:
            self.idle.reset()

    def keep_going(self) -> View:
        """The resident answered the idle warning: more time, same step."""
        self.idle_warning = False
        self.idle.reset()
        return self.view()

    def set_time_scale(self, scale: float) -> None:
        """长辈模式 on or off: the idle limits of this step and every later one are ``scale`` times
        the configured ones (the count starts again now)."""
        self.time_scale = scale
        if self.session is not None and self.screen not in MAINTENANCE_SCREENS:
            timeout = self.flow.step.timeout_s if self.flow is not None and not self.flow.finished else None
            timeout = timeout or self.settings.idle_timeout_s
            self.idle.reset(timeout * scale, self.settings.idle_warning_s * scale)

    def set_language(self, lang: str) -> None:
        self.lang = lang
        if self.session is not None:
            self.session.lang = lang

    # -- navigation -----------------------------------------------------------------------------
    def shown(self, screen: str) -> None:
        """The presentation switched to ``screen`` by itself (a maintenance page, a tour)."""
        self.screen = screen

    def show_attract(self) -> View:
        """Back to the attract screen (the visit, if any, was ended before)."""
        self.return_at = None
        self.failed_number = ""
        self.screen = "attract"
        return self.view()

    def begin(self) -> View:
        """A resident touched the attract screen (or laid a card on it): a new visit, at home."""
        self._new_session()
        self.failed_number = ""
        self.screen = "home"
        return self.view()

    def card_placed(self) -> View | None:
        """A card was laid on the reader: it starts a visit only while nobody is using the kiosk."""
        if self.screen != "attract":
            return None
        log.info("card placed on the attract screen: a visit begins")
        return self.begin()

    def choose_category(self, category: str) -> View:
        if self.session is None:
            self._new_session()
        self.category = category
        self.screen = "services"
        return self.view()

    def go_home(self) -> View:
        self.flow = None
        self.screen = "home"
        return self.view()

    def availability(self, service_id: str) -> Availability:
        """Whether ``service_id`` can start now, and if not the reason to show."""
        return visit_availability(self.catalogue[service_id], self.ready_kinds, self.surroundings)

    def start_service(self, service_id: str) -> View:
        """The resident chose a service: its first step, or its area again with the reason when it
        cannot run now."""
        service = self.catalogue[service_id]
        availability = self.availability(service_id)
        if not availability.ok:
            log.info("service %s refused: %s", service_id, availability.detail)
            return self.choose_category(service.category)
        if self.session is None:
            self._new_session()
        assert self.session is not None
        self.flow = Flow(service, self.session, blocked=availability.blocked)
        if availability.blocked:
            log.info("service %s degraded: %s", service_id, "; ".join(b.detail for b in availability.blocked))
        self.analytics.record(service_id, "-", "started")
        log.info("session %s: service %s started", self.session.id, service_id)
        return self.show_route()

    def show_route(self) -> View:
        """Whatever the flow says comes now (home when there is no flow)."""
        if self.flow is None:
            self.screen = "home"
            return self.view()
        route = self.flow.route
        timeout = route.step.timeout_s or self.settings.idle_timeout_s
        self.idle.reset(timeout * self.time_scale, self.settings.idle_warning_s * self.time_scale)
        self.screen = route.screen
        if route.screen == "done":
            self.return_at = self.clock() + self.settings.attract_return_s
        return self.view()

    def step_done(
        self, values: Mapping[str, Any] | None = None, *, results: Mapping[str, Any] | None = None
    ) -> list[FieldError]:
        """The current step finished with ``values``; returns the field errors (then nothing
        moves), else the flow advances and :meth:`view` shows its next step."""
        if self.flow is None:
            return []
        errors = self.flow.complete(values, results=results)
        if not errors:
            self.show_route()
        return errors

    def back(self) -> View:
        """The previous step; the service list from a flow's first step; home otherwise."""
        if self.flow is not None and self.flow.back():
            return self.show_route()
        if self.flow is not None:
            self.flow = None
            self.screen = "services"
        else:
            self.screen = "home"
        return self.view()

    # -- ends -----------------------------------------------------------------------------------
    def cancel(self) -> View:
        """The resident ended the visit: wipe everything, back to the attract screen."""
        self.end("cancel")
        return self.show_attract()

    def finish_without_request(self) -> View:
        """The visit answered the resident's question with nothing to file (no fines due): it ends
        as finished, wiped, back to the attract screen."""
        self.end("answered")
        return self.show_attract()

    def fail(self, exc: BaseException) -> View:
        """An unexpected error: logged for technicians (through the masked log), the session wiped,
        a calm screen that returns to the attract screen by itself."""
        log.error("unexpected error; session wiped", exc_info=exc)
        submitted = self.session.artifacts.get("submitted") if self.session is not None else None
        number = str(getattr(submitted, "number", "") or "")
        self.end("error")
        self.failed_number = number
        self.screen = "error"
        self.return_at = self.clock() + self.settings.attract_return_s
        return self.view()

    def enter_maintenance(self) -> View:
        """The hidden gesture was made: any visit ends, the PIN pad shows, with its own idle limit."""
        self.end("maintenance")
        self.idle.reset(MAINTENANCE_IDLE_S, MAINTENANCE_WARNING_S)
        self.screen = "maintenance_pin"
        return self.view()

    def end(self, reason: str) -> None:
        """End the visit (if any) for ``reason``: count its outcome, wipe the session, forget the
        flow and every timer, then tell the listeners. Safe to call with no visit."""
        self.idle_warning = False
        self.return_at = None
        self._count_outcome(reason)
        if self.session is not None:
            log.info("session %s ended: %s", self.session.id, reason)
            self.session.wipe()
        self.session = None
        self.flow = None
        for listener in list(self._on_end):
            listener(reason)

    def _count_outcome(self, reason: str) -> None:
        """Step analytics (no personal data): where did this visit end, and how."""
        flow = self.flow
        if flow is None or reason in UNCOUNTED:
            return
        outcome = "finished" if flow.finished else OUTCOME_OF_REASON.get(reason, "abandoned")
        self.analytics.record(flow.service.id, flow.step.id, outcome)

    def _new_session(self) -> None:
        self.end("new_session")
        self.session = Session(self.lang, clock=self.clock, scratch_root=self.scratch_root)
        self.session.on_wipe(MASKING_FILTER.forget)
        scale = self.time_scale
        self.idle.reset(self.settings.idle_timeout_s * scale, self.settings.idle_warning_s * scale)
