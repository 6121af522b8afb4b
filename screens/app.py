"""The Kivy application: a thin adapter between the window and the visit controller.

The visit's rules (sessions, navigation, idle and return timers, outcome counts, which services may
start) live in :class:`kiosk.visit.controller.VisitController`. Screens report what the resident did
to this app (``begin``, ``start_service``, ``step_done``, ``go_back``, ``cancel``...), which forwards
it to the controller and renders the :class:`~kiosk.visit.controller.View` it answers; screens never
switch themselves. Work off the UI thread reports back through :meth:`KioskApp.post`. What starts
after the first frame (devices, the request queue) is handed in by the composition root
(``kiosk/main.py``), so this module never imports it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.base import ExceptionManager
from kivy.clock import Clock
from kivy.core.window import Window

import screens.widgets  # noqa: F401  (registers KButton, Tile... for the kv rules)
from kiosk.runtime import Runtime
from kiosk.services.flow import Availability
from kiosk.visit.controller import View, VisitController
from kiosk.visit.memory import freeze_startup_objects, release_visit_memory
from kiosk.work import install_excepthook
from screens.forwarding import forward, visit_attribute
from screens.look import ThemedApp
from screens.overlays import IdleOverlay, KioskRoot, SimDock, queue_banner
from screens.registry import ScreenRegistry
from screens.startup import CalmExceptionHandler, InputLock, restart_process, start_watchdog_pings

VISIT_RELEASE_DELAY_S = 0.5  # after the attract screen's transition, so its first frames are smooth
AfterFirstFrame = Callable[["KioskApp"], None]  # what the composition root starts once drawn


class KioskApp(ThemedApp):
    def __init__(
        self,
        runtime: Runtime,
        *,
        on_started: Callable[[KioskApp], None] | None = None,
        after_first_frame: AfterFirstFrame | None = None,
    ) -> None:
        super().__init__()
        from screens.steps import STEP_WIDGETS

        self.title = "Police self-service kiosk"
        self.runtime, self.messages, self.catalogue = runtime, runtime.messages, runtime.catalogue
        self.design_size = runtime.config.display.size
        self.visit = VisitController.for_runtime(runtime, frozenset(STEP_WIDGETS) | {"review", "done"})
        self.visit.on_end(self._visit_ended)
        self.registry = ScreenRegistry()
        self.manager = self.registry.manager
        self.idle_overlay = IdleOverlay()
        self._on_started, self._after_start = on_started, after_first_frame
        self._restore_excepthook: Callable[[], None] | None = None
        self._freeze_pending = False  # start-up objects wait to be frozen until nobody is here
        self.visit_releases = 0  # how many times a finished visit's memory was released (soak, tests)
        self._watching_cards = False
        display = runtime.config.display
        self.lang, self.large_text = display.default_language, display.large_text
        self.high_contrast = display.high_contrast
        self.simulated = runtime.simulated
        runtime.backend.subscribe(lambda _state: self.post(self.availability_changed))

    # the visit's state, read by screens and tests (the tour sets both to picture a step)
    session = visit_attribute("session")
    flow = visit_attribute("flow")
    _idle_view = property(lambda self: self.idle_overlay.view)

    # -- building --------------------------------------------------------------------------------
    def build(self) -> KioskRoot:
        self.load_look(self.runtime.font)
        from screens.assist.assist import Assist

        self.assist = Assist(self)
        # once every screen exists, later full collections need not look at what start-up made
        self.registry.build_first(then=lambda: Clock.schedule_once(self._freeze_startup, 1.0))
        root = KioskRoot()
        root.add_widget(self.manager)
        root.add_widget(SimDock())  # demo builds: the simulation's controls, above every screen
        self.apply_scale()
        Window.bind(size=lambda *_: self.apply_scale())
        Window.bind(on_touch_down=lambda *_: self.visit.touch())
        ExceptionManager.add_handler(CalmExceptionHandler(self.fail))
        Clock.schedule_interval(lambda _dt: self._render(self.visit.tick(), navigate=False), 0.25)
        return root

    def screen(self, name: str) -> Any:
        """The screen called ``name``, built on first use."""
        return self.registry.get(name)

    def on_start(self) -> None:
        # a thread that dies of an exception is logged (masked) and ends the visit calmly
        self._restore_excepthook = install_excepthook(self.post, self.fail)
        self.show_attract()
        # after Kivy's own key handlers: keys reach the app only on the maintenance screen
        self.input_lock = InputLock(lambda: self.manager.current == "maintenance")
        self.input_lock.install(Window)
        Window.bind(on_flip=self._after_first_frame)
        start_watchdog_pings()
        if self._on_started is not None:
            started = self._on_started
            Clock.schedule_once(lambda _dt: started(self), 0)

    def _after_first_frame(self, *_args: Any) -> None:
        """Devices, the queue and the voice assistance start once the first frame is on screen:
        their imports (OpenCV, HTTP) and their waits would otherwise compete with drawing it."""
        Window.unbind(on_flip=self._after_first_frame)
        if self._after_start is not None:
            self._after_start(self)
        self.assist.build_in_background()

    def on_stop(self) -> None:
        self.end_session("app_stop")
        if self._restore_excepthook is not None:
            self._restore_excepthook()

    def elder_mode_changed(self, on: bool) -> None:
        from screens.look import ELDER_TIME_SCALE

        self.visit.set_time_scale(ELDER_TIME_SCALE if on else 1.0)
        if hasattr(self, "assist"):
            self.assist.set_slow(on)

    def on_lang(self, _instance: Any, value: str) -> None:
        self.visit.set_language(value)

    # -- reports from workers --------------------------------------------------------------------
    @staticmethod
    def post(fn: Callable[[], None]) -> None:
        """Run ``fn`` on the UI thread at the next frame (what workers use to report back)."""
        Clock.schedule_once(lambda _dt: fn(), 0)

    def devices_changed(self) -> None:
        """A device finished opening (or failed), or the queue came up: availability may differ."""
        self.simulated = self.runtime.simulated
        reader = self.runtime.devices.get("card_reader")
        if reader is not None and hasattr(reader, "start_worker") and not self._watching_cards:
            self._watching_cards = True
            reader.start_worker(self.post).subscribe(self._card_event)
        self.availability_changed()

    def availability_changed(self) -> None:
        """Devices, the queue or the backend's reachability changed: the service tiles follow."""
        if self.manager.current == "services":
            self.screen("services").refresh()

    def _card_event(self, event: Any) -> None:
        from kiosk.steps.card_worker import CardPlaced

        if isinstance(event, CardPlaced) and (view := self.visit.card_placed()) is not None:
            self._render(view)

    def queue_status(self, status: Any) -> None:
        self.banner = queue_banner(self.tr, self.runtime.queue, status)

    # -- forwarded to the visit controller -------------------------------------------------------
    begin = forward("begin")
    choose_category = forward("choose_category")
    start_service = forward("start_service")
    show_route = forward("show_route")
    go_back = forward("back")
    go_home = forward("go_home")
    cancel = forward("cancel")
    finish_without_request = forward("finish_without_request")
    fail = forward("fail")
    enter_maintenance = forward("enter_maintenance")
    show_attract = forward("show_attract")

    def availability(self, service_id: str) -> Availability:
        return self.visit.availability(service_id)

    def step_done(
        self, values: dict[str, Any] | None = None, *, results: dict[str, Any] | None = None
    ) -> list[Any]:
        """The current step finished with ``values``; returns field errors (then nothing moves)."""
        errors = self.visit.step_done(values, results=results)
        if not errors and self.visit.flow is not None:
            self._render(self.visit.view())
        return errors

    def keep_going(self) -> None:
        self._render(self.visit.keep_going(), navigate=False)

    def end_session(self, reason: str) -> None:
        self.visit.end(reason)
        self.idle_overlay.show(False)

    def restart(self) -> None:
        self.end_session("restart")
        restart_process(self.runtime)

    # -- rendering -------------------------------------------------------------------------------
    def show(self, screen: str) -> None:
        """Switch to ``screen`` as it is (maintenance pages, tours); the visit is told."""
        self.visit.shown(screen)
        self.screen(screen)
        self.manager.current = screen
        self.assist.screen_shown(screen)  # its voice prompt; the last one stops

    def _render(self, view: View, *, navigate: bool = True) -> None:
        """Make the window show ``view``: after a command always, after a tick only what changed."""
        if navigate or view.screen != self.manager.current:
            if view.screen == "services":
                self.screen("services").category = view.category
            if view.route is not None:
                self.screen(view.screen).load(self.visit.flow)
            if view.screen == "error":
                self.screen("error").show_number(view.number)
            self.show(view.screen)
            if view.screen == "attract":
                Clock.schedule_once(self._release_visit_memory, VISIT_RELEASE_DELAY_S)
        if view.seconds_left is not None:
            self.idle_seconds = view.seconds_left
        self.idle_overlay.show(view.idle_warning)

    def _visit_ended(self, _reason: str) -> None:
        """Every screen and the assistance forget the resident (after each session wipe)."""
        if hasattr(self, "assist"):
            self.assist.reset()
        self.registry.reset_all()

    def _freeze_startup(self, _dt: float = 0) -> None:
        """Start-up is over: freeze what it made out of later full collections, but only with
        nobody at the terminal. Frozen objects are never collected, so freezing during a visit
        would keep that resident's session, card and photo (if any cycle holds them) for the
        life of the process; then it waits for the visit's end (:meth:`_release_visit_memory`)."""
        if self.session is not None or self.manager.current != "attract":
            self._freeze_pending = True
            return
        self._freeze_pending = False
        freeze_startup_objects()

    def _release_visit_memory(self, _dt: float = 0) -> None:
        """Nobody at the terminal: free what the visit left (widgets, textures, the personal data they
        held) and hand the heap back (kiosk/visit/memory.py). Skipped if a visit already began."""
        if self.session is not None or self.manager.current != "attract":
            return
        release_visit_memory()
        self.visit_releases += 1
        if self._freeze_pending:
            self._freeze_startup()
