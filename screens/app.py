"""The Kivy application: a thin presentation layer over the flow engine and the session.

It owns the screen manager, the theme (language, text scale, unit size), the idle monitor and the
one place where navigation happens (:meth:`KioskApp.show_route`). Screens call its methods
(``start_service``, ``step_done``, ``go_back``, ``cancel``); they never switch screens themselves.
Device and network work runs in worker threads that hand results back through :meth:`post`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.base import ExceptionHandler, ExceptionManager
from kivy.clock import Clock
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.floatlayout import FloatLayout
from kivy.uix.screenmanager import NoTransition, ScreenManager

import screens.widgets  # noqa: F401  (registers KButton, Tile... for the kv rules)
from kiosk.paths import screens_dir
from kiosk.runtime import Runtime
from kiosk.services.flow import Availability, Flow, service_availability
from kiosk.visit.idle import IdleMonitor, IdleState
from kiosk.visit.memory import freeze_startup_objects, release_visit_memory
from kiosk.visit.privacy import MASKING_FILTER
from kiosk.visit.session import Session
from screens.theme import HIGH_CONTRAST, STANDARD

log = logging.getLogger(__name__)

LARGE_TEXT_SCALE = 1.35
# screen name -> its module and kv file under screens/ (package/module)
SCREEN_MODULES: dict[str, str] = {
    "attract": "resident/attract",
    "home": "resident/home",
    "services": "resident/services",
    "step": "resident/step",
    "review": "resident/review",
    "done": "resident/done",
    "error": "resident/error",
    "maintenance_pin": "maintenance/pin",
    "maintenance": "maintenance/main",
}
MAINTENANCE_SCREENS = ("maintenance_pin", "maintenance")
MAINTENANCE_IDLE_S = 300.0
VISIT_RELEASE_DELAY_S = 0.5  # after the attract screen's transition, so its first frames are smooth


class KioskRoot(FloatLayout):
    """The window's root: the screen manager plus overlays (badge, idle warning)."""


class _Handler(ExceptionHandler):
    """Unexpected exceptions in the event loop end the session calmly instead of killing the kiosk."""

    def __init__(self, app: KioskApp) -> None:
        super().__init__()
        self.app = app

    def handle_exception(self, inst: BaseException) -> int:
        if isinstance(inst, KeyboardInterrupt | SystemExit):
            return ExceptionManager.RAISE
        self.app.fail(inst)
        return ExceptionManager.PASS


class KioskApp(App):
    lang = StringProperty("zh")
    text_scale = NumericProperty(1.0)
    large_text = BooleanProperty(False)
    u = NumericProperty(1.0)  # one design pixel (1080-px short side) in window pixels
    simulated = BooleanProperty(False)
    idle_seconds = NumericProperty(0)
    banner = StringProperty("")  # technicians' strip (delivery stuck); never an error for residents
    landscape = BooleanProperty(True)
    high_contrast = BooleanProperty(False)
    # theme colours (screens/theme.py); a theme switch repaints every screen
    c_bg = ListProperty(STANDARD["c_bg"])
    c_card = ListProperty(STANDARD["c_card"])
    c_text = ListProperty(STANDARD["c_text"])
    c_muted = ListProperty(STANDARD["c_muted"])
    c_primary = ListProperty(STANDARD["c_primary"])
    c_primary_down = ListProperty(STANDARD["c_primary_down"])
    c_on_primary = ListProperty(STANDARD["c_on_primary"])
    c_secondary = ListProperty(STANDARD["c_secondary"])
    c_accent = ListProperty(STANDARD["c_accent"])
    c_danger = ListProperty(STANDARD["c_danger"])
    c_ok = ListProperty(STANDARD["c_ok"])
    c_disabled = ListProperty(STANDARD["c_disabled"])
    # assistance in the top bar (screens/assist/assist.py): voice volume/mute, help alert state
    voice_volume = NumericProperty(0.8)
    voice_muted = BooleanProperty(False)
    assist_shown = BooleanProperty(True)  # false on maintenance screens
    help_state = StringProperty("")  # "" | pending | sent

    def __init__(self, runtime: Runtime, *, on_started: Callable[[KioskApp], None] | None = None) -> None:
        super().__init__()
        self.title = "Police self-service kiosk"
        self.runtime = runtime
        self.messages = runtime.messages
        self.catalogue = runtime.catalogue
        self.idle = IdleMonitor(runtime.clock)
        self.session: Session | None = None
        self.flow: Flow | None = None
        self._on_started = on_started
        self._idle_view: Any = None
        self._return_event: Any = None
        self.visit_releases = 0  # how many times a finished visit's memory was released (soak, tests)
        self._watching_cards = False
        self.lang = runtime.config.display.default_language
        self.large_text = runtime.config.display.large_text
        self.high_contrast = runtime.config.display.high_contrast
        self.simulated = runtime.simulated
        from screens.steps import STEP_WIDGETS

        self.ready_kinds = frozenset(STEP_WIDGETS) | {"review", "done"}  # those two are screens

    # -- building --------------------------------------------------------------------------------
    def build(self) -> KioskRoot:
        font = self.runtime.font
        LabelBase.register(DEFAULT_FONT, str(font.path), fn_bold=str(font.bold or font.path))
        Builder.load_file(str(screens_dir() / "widgets.kv"))
        Builder.load_file(str(screens_dir() / "assist" / "voice.kv"))
        from screens.assist.assist import Assist

        self.assist = Assist(self)
        self.manager = ScreenManager(transition=NoTransition())
        for name in ("attract", "home"):  # what the first frames show; the rest follow frame by frame
            self.screen(name)
        self._unbuilt = [n for n in SCREEN_MODULES if not self.manager.has_screen(n)]
        Clock.schedule_once(self._build_next_screen, 0.05)
        root = KioskRoot()
        root.add_widget(self.manager)
        self._apply_scale()
        Window.bind(size=lambda *_: self._apply_scale())
        Window.bind(on_touch_down=self._on_any_touch)
        ExceptionManager.add_handler(_Handler(self))
        Clock.schedule_interval(self._tick, 0.25)
        return root

    def screen(self, name: str) -> Any:
        """The screen called ``name``, built (kv loaded, widgets made) on first use."""
        if not self.manager.has_screen(name):
            import importlib

            if name == "step":
                from screens import steps

                for kv in steps.KV_FILES:
                    Builder.load_file(str(screens_dir() / "steps" / kv))
            where = SCREEN_MODULES[name]
            Builder.load_file(str(screens_dir() / f"{where}.kv"))
            module = importlib.import_module("screens." + where.replace("/", "."))
            self.manager.add_widget(module.SCREEN_CLASS(name=name))
        return self.manager.get_screen(name)

    def _build_next_screen(self, _dt: float) -> None:
        """Build one more screen per frame after start-up, so no resident waits for one later."""
        while self._unbuilt:
            name = self._unbuilt.pop(0)
            if not self.manager.has_screen(name):
                self.screen(name)
                break
        if self._unbuilt:
            Clock.schedule_once(self._build_next_screen, 0)
        else:  # start-up is over: later full collections need not look at what it made
            Clock.schedule_once(lambda _dt: freeze_startup_objects(), 1.0)

    def on_start(self) -> None:
        self.show_attract()
        Window.bind(on_flip=self._after_first_frame)
        from kiosk.maintenance.watchdog import SystemdNotifier

        notifier = SystemdNotifier()
        if notifier.enabled:
            Clock.schedule_once(lambda _dt: notifier.ready(), 0.5)  # after the first frames
            if notifier.ping_interval_s:
                # pinged from the UI thread's clock: a frozen UI stops the pings and systemd restarts us
                Clock.schedule_interval(lambda _dt: notifier.ping(), notifier.ping_interval_s)
        if self._on_started is not None:
            Clock.schedule_once(lambda _dt: self._on_started(self), 0)

    def _after_first_frame(self, *_args: Any) -> None:
        """Devices and the queue start once the first frame is on screen: their imports (OpenCV,
        HTTP) and their waits would otherwise compete with drawing it."""
        Window.unbind(on_flip=self._after_first_frame)
        from kiosk.main import open_devices_in_background, start_queue_in_background

        open_devices_in_background(self.runtime, on_opened=lambda _role: self.post(self._devices_changed))
        start_queue_in_background(self.runtime, self.post, self._devices_changed, self._queue_status)
        self.assist.build_in_background()

    def on_stop(self) -> None:
        self.end_session("app_stop")

    # -- theme -----------------------------------------------------------------------------------
    def on_large_text(self, _instance: Any, value: bool) -> None:
        self.text_scale = LARGE_TEXT_SCALE if value else 1.0

    def _apply_scale(self) -> None:
        design = self.runtime.config.display.size
        width, height = Window.size
        self.landscape = width >= height
        self.u = min(width / design[0], height / design[1]) * (min(design) / 1080)
        if width < design[0] * 0.75 or height < design[1] * 0.75:
            log.warning(
                "window %dx%d is smaller than the designed %dx%d; scaling down", width, height, *design
            )

    def tr(self, key: str, lang: str | None = None, **values: Any) -> str:
        """A resident-facing text; kv calls ``app.tr('key', app.lang)`` so it re-binds on switch."""
        return self.messages.get(key, lang or self.lang, **values)

    def toggle_language(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"
        if self.session is not None:
            self.session.lang = self.lang

    def toggle_large_text(self) -> None:
        self.large_text = not self.large_text

    def toggle_contrast(self) -> None:
        self.high_contrast = not self.high_contrast

    def on_high_contrast(self, _instance: Any, value: bool) -> None:
        for name, colour in (HIGH_CONTRAST if value else STANDARD).items():
            setattr(self, name, list(colour))

    def fee_text(self, fee_fen: int) -> str:
        if fee_fen == 0:
            return self.tr("services.fee_free")
        return self.tr("services.fee", amount=f"{fee_fen / 100:.2f}")

    # -- threads ---------------------------------------------------------------------------------
    @staticmethod
    def post(fn: Callable[[], None]) -> None:
        """Run ``fn`` on the UI thread at the next frame (what workers use to report back)."""
        Clock.schedule_once(lambda _dt: fn(), 0)

    def _devices_changed(self) -> None:
        """A device finished opening (or failed): availability of services may have changed."""
        self.simulated = self.runtime.simulated
        reader = self.runtime.devices.get("card_reader")
        if reader is not None and hasattr(reader, "start_worker") and not self._watching_cards:
            self._watching_cards = True
            reader.start_worker(self.post).subscribe(self._card_event)
        if self.manager.current == "services":
            self.screen("services").refresh()

    def _card_event(self, event: Any) -> None:
        """A card laid on the reader while the attract screen shows starts a visit."""
        from kiosk.steps.card_worker import CardPlaced

        if isinstance(event, CardPlaced) and self.manager.current == "attract":
            log.info("card placed on the attract screen: a visit begins")
            self.begin()

    # -- sessions and navigation ----------------------------------------------------------------
    def show(self, screen: str) -> None:
        self.screen(screen)
        self.manager.current = screen
        self.assist.screen_shown(screen)  # its voice prompt; the last one stops

    def show_attract(self) -> None:
        self._cancel_return()
        self.show("attract")
        Clock.schedule_once(self._release_visit_memory, VISIT_RELEASE_DELAY_S)

    def _release_visit_memory(self, _dt: float = 0) -> None:
        """Nobody at the terminal: free what the visit left (its widgets, textures and the personal data
        they held) and hand the heap back (kiosk/visit/memory.py). Skipped if a visit already began."""
        if self.session is not None or self.manager.current != "attract":
            return
        release_visit_memory()
        self.visit_releases += 1

    def enter_maintenance(self) -> None:
        """The hidden gesture was made on the attract screen: ask for the maintenance PIN."""
        self.end_session("maintenance")
        self.idle.reset(MAINTENANCE_IDLE_S, 30)
        self.show("maintenance_pin")

    def restart(self) -> None:
        """Restart the kiosk process (maintenance action); systemd would do the same on exit."""
        import os
        import sys

        log.warning("restart requested from maintenance mode")
        self.end_session("restart")
        self.runtime.close()
        os.execv(sys.executable, [sys.executable, "-m", "kiosk.cli", *sys.argv[1:]])

    def begin(self) -> None:
        """A resident touched the attract screen: a new session starts at the home screen."""
        self._new_session()
        self.show("home")

    def choose_category(self, category: str) -> None:
        if self.session is None:
            self._new_session()
        self.screen("services").category = category
        self.show("services")

    def availability(self, service_id: str) -> Availability:
        service = self.catalogue[service_id]
        result = service_availability(
            service,
            ready_kinds=self.ready_kinds,
            device_health=self.runtime.device_health,
            backend_ok=self.runtime.backend.reachable,
        )
        if result.ok and any(step.kind == "submit" for step in service.steps):
            if self.runtime.queue_error is not None:
                return Availability(False, "service.unavailable.queue", self.runtime.queue_error)
            if self.runtime.queue is None:
                return Availability(False, "service.unavailable.starting", "request queue starting")
        return result

    def _queue_status(self, status: Any) -> None:
        """Delivery progress: a discreet strip for technicians when requests are stuck."""
        queue = self.runtime.queue
        if queue is not None and queue.stuck(status):
            minutes = int((status.oldest_pending_age_s or 0) // 60)
            self.banner = self.tr(
                "queue.banner_stuck", pending=status.pending, minutes=minutes, reason=status.last_error or "-"
            )
        elif getattr(status, "dead", 0):
            self.banner = self.tr("queue.banner_dead", dead=status.dead)
        else:
            self.banner = ""

    def start_service(self, service_id: str) -> None:
        availability = self.availability(service_id)
        if not availability.ok:
            log.info("service %s refused: %s", service_id, availability.detail)
            self.choose_category(self.catalogue[service_id].category)  # shows the reason
            return
        if self.session is None:
            self._new_session()
        assert self.session is not None
        self.flow = Flow(self.catalogue[service_id], self.session, blocked=availability.blocked)
        if availability.blocked:
            log.info("service %s degraded: %s", service_id, "; ".join(b.detail for b in availability.blocked))
        self.runtime.analytics.record(service_id, "-", "started")
        log.info("session %s: service %s started", self.session.id, service_id)
        self.show_route()

    def show_route(self) -> None:
        """Show whatever the flow says comes now."""
        if self.flow is None:
            self.show("home")
            return
        route = self.flow.route
        timeout = route.step.timeout_s or self.runtime.config.session.idle_timeout_s
        self.idle.reset(timeout, self.runtime.config.session.idle_warning_s)
        screen = self.screen(route.screen)
        screen.load(self.flow)
        self.show(route.screen)
        if route.screen == "done":
            self._schedule_return()

    def step_done(
        self, values: dict[str, Any] | None = None, *, results: dict[str, Any] | None = None
    ) -> list[Any]:
        """The current step finished with ``values``; returns field errors (then nothing moves)."""
        if self.flow is None:
            return []
        errors = self.flow.complete(values, results=results)
        if not errors:
            self.show_route()
        return errors

    def go_back(self) -> None:
        if self.flow is not None and self.flow.back():
            self.show_route()
        elif self.flow is not None:
            self.flow = None
            self.show("services")
        else:
            self.show("home")

    def cancel(self) -> None:
        """The resident ended the visit: wipe everything, back to the attract screen."""
        self.end_session("cancel")
        self.show_attract()

    def finish_without_request(self) -> None:
        """The visit answered the resident's question with nothing to file (no fines due): it ends as
        finished, wiped, back to the attract screen, like a cancel but counted as done."""
        self.end_session("answered")
        self.show_attract()

    def go_home(self) -> None:
        self.flow = None
        self.show("home")

    def end_session(self, reason: str) -> None:
        self._dismiss_idle()
        self._cancel_return()
        self._count_outcome(reason)
        if self.session is not None:
            log.info("session %s ended: %s", self.session.id, reason)
            self.session.wipe()
        self.session = None
        self.flow = None
        if hasattr(self, "assist"):
            self.assist.reset()
        for screen in self.manager.screens if hasattr(self, "manager") else []:
            reset = getattr(screen, "reset", None)
            if reset is not None:
                reset()

    def _count_outcome(self, reason: str) -> None:
        """Step analytics (no personal data): where did this visit end, and how."""
        flow = self.flow
        if flow is None or reason in ("app_stop", "pilot_close", "tour"):
            return
        if flow.finished:
            outcome = "finished"
        else:
            outcome = {"timeout": "timed_out", "error": "failed", "answered": "finished"}.get(
                reason, "abandoned"
            )
        self.runtime.analytics.record(flow.service.id, flow.step.id, outcome)

    def fail(self, exc: BaseException) -> None:
        """An unexpected error: log it for technicians, wipe the session, show a calm screen."""
        log.error("unexpected error; session wiped", exc_info=exc)
        self.end_session("error")
        self.show("error")
        self._schedule_return()

    def _new_session(self) -> None:
        self.end_session("new_session")
        self.session = Session(
            self.lang, clock=self.runtime.clock, scratch_root=self.runtime.config.data_dir / "sessions"
        )
        self.session.on_wipe(MASKING_FILTER.forget)
        self.idle.reset(
            self.runtime.config.session.idle_timeout_s, self.runtime.config.session.idle_warning_s
        )

    # -- idle handling ---------------------------------------------------------------------------
    def _on_any_touch(self, *_args: Any) -> None:
        in_maintenance = self.manager.current in MAINTENANCE_SCREENS
        if (self.session is not None or in_maintenance) and self._idle_view is None:
            self.idle.reset()

    def _tick(self, _dt: float) -> None:
        if self.manager.current in MAINTENANCE_SCREENS:
            if self.idle.status().state is IdleState.EXPIRED:  # a technician walked away
                self.show_attract()
            return
        if self.session is None or self.manager.current in ("attract", "done", "error"):
            return
        status = self.idle.status()
        self.idle_seconds = int(status.remaining_s + 0.999)
        if status.state is IdleState.EXPIRED:
            log.info("session %s timed out", self.session.id)
            self.end_session("timeout")
            self.show_attract()
        elif status.state is IdleState.WARNING and self._idle_view is None:
            from screens.widgets import IdleWarning

            self._idle_view = IdleWarning()
            self._idle_view.open(animation=False)

    def keep_going(self) -> None:
        """The resident answered the idle warning: more time, same step."""
        self._dismiss_idle()
        self.idle.reset()

    def _dismiss_idle(self) -> None:
        if self._idle_view is not None:
            self._idle_view.dismiss(animation=False)
            self._idle_view = None

    def _schedule_return(self) -> None:
        self._cancel_return()
        delay = self.runtime.config.session.attract_return_s
        self._return_deadline = self.runtime.clock() + delay
        self._return_event = Clock.schedule_interval(self._return_tick, 0.25)

    def _return_tick(self, _dt: float) -> None:
        remaining = self._return_deadline - self.runtime.clock()
        self.idle_seconds = max(0, int(remaining + 0.999))
        if remaining <= 0:
            self.end_session("finished")
            self.show_attract()

    def _cancel_return(self) -> None:
        if self._return_event is not None:
            self._return_event.cancel()
            self._return_event = None


def run_kiosk_app(runtime: Runtime, **options: Any) -> int:
    app = KioskApp(runtime, **options)
    try:
        app.run()
    finally:
        runtime.close()
    return 0
