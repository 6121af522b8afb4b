"""The top bar's assistance controls: voice prompts per screen (再听一遍, volume, mute) and the help
button (呼叫帮助) that raises an alert to the backend.

The app calls :meth:`Assist.screen_shown` each time it shows a screen and :meth:`Assist.reset` at
every session wipe. The attract screen greets at most once per ``voice_attract_every_min`` so the
booth is not noisy; maintenance screens neither speak nor offer help. A help alert is committed to
the outbox by ``runtime.queue.raise_help`` on a worker thread (kiosk.work) and delivered with the
requests (kiosk/queue/alerts.py); the resident is told calmly that staff are coming, and touching
help again in the same visit shows that message again without raising a new alert.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from kivy.uix.modalview import ModalView

from kiosk.errors import KioskError
from kiosk.visit.voice import (
    BuildReport,
    VoiceBuildError,
    VoiceLibrary,
    build_voice,
    espeak_synthesiser,
    number_prompt_keys,
    resolve_key,
)
from kiosk.work import Tasks
from screens.assist.voice import VoicePlayer

log = logging.getLogger(__name__)

SILENT_PREFIX = "maintenance"  # the PIN screen and every maintenance page: technicians only
VOLUME_STEP = 0.2
QUEUE_WAIT_S = 30.0  # a touch in the first seconds after start waits this long for the outbox


class SoundPopover(ModalView):
    """Louder / quieter / mute, in a small panel under the top bar (look in voice.kv)."""


class HelpNotice(ModalView):
    """'Staff have been notified, please wait' (look in voice.kv)."""


class Assist:
    def __init__(self, app: Any) -> None:
        self.app = app
        runtime = app.runtime
        display = runtime.config.display
        self.enabled = display.voice
        recorded = runtime.config.resolve(display.voice_recorded_dir) if display.voice_recorded_dir else None
        self.library = VoiceLibrary(runtime.messages, runtime.config.data_dir / "voice", recorded)
        self.player = VoicePlayer(self.library, app.post, volume=display.voice_volume)
        self.attract_every_s = display.voice_attract_every_min * 60
        self._last_attract: float | None = None
        self.help_alert_id = ""  # the alert of this visit, if help was called
        self._help_view: HelpNotice | None = None
        self._sound_view: SoundPopover | None = None
        self._screen = ""
        self._help_tasks = Tasks(app.post, app.fail)  # cancelled when the visit ends
        self._build_tasks = Tasks(app.post, app.fail)
        self.build_thread: threading.Thread | None = None  # tests wait for the start-up build
        app.voice_volume = display.voice_volume
        app.bind(lang=lambda *_: self._language_changed())

    # -- voice -----------------------------------------------------------------------------------

    def build_in_background(self) -> threading.Thread | None:
        """Synthesise prompts that are missing or whose text changed (an upgrade, an edited
        message), on a worker thread after the first frame; ~0.01 s when nothing changed. Without
        espeak-ng the kiosk keeps whatever files exist (recorded ones need no synthesiser)."""
        if not self.enabled:
            return None
        try:
            synthesise, slow = espeak_synthesiser(), espeak_synthesiser(slow=True)
        except VoiceBuildError as exc:
            log.warning("voice prompts not built: %s", exc)
            return None

        def work() -> BuildReport | None:
            try:
                return build_voice(self.app.runtime.messages, self.library.folder, synthesise, slow=slow)
            except OSError as exc:
                log.warning("voice prompts not built: %s", exc)
                return None

        def built(report: BuildReport | None) -> None:
            if report is None:
                return
            for eid, why in sorted(report.failed.items()):
                log.warning("voice prompt %s not built: %s", eid, why)
            if report.built or report.removed:
                log.info("voice prompts: %d built, %d removed", len(report.built), len(report.removed))
                self.library.reload()

        def failed(exc: Exception) -> None:  # prompts are optional: a bug here ends no visit
            log.error("voice prompts not built", exc_info=exc)

        task = self._build_tasks.run(work, built, failed, name="voice-build")
        self.build_thread = task.thread
        return self.build_thread

    def set_slow(self, on: bool) -> None:
        """长辈模式 speaks slower: the prompts' slow variants from now on."""
        self.player.slow = on

    def screen_shown(self, screen: str) -> None:
        self._screen = screen
        silent = screen.startswith(SILENT_PREFIX)
        self.app.assist_shown = not silent
        self._close_views()
        if not self.enabled or silent:
            self.player.play(None, self.app.lang)
            return
        if screen == "attract":
            now = self.app.runtime.clock()
            recent = self._last_attract is not None and now - self._last_attract < self.attract_every_s
            if not self.attract_every_s or recent:
                self.player.play(None, self.app.lang)
                return
            self._last_attract = now
        self.player.play(self.prompt_key(), self.app.lang, then=self._number_keys(screen))

    def _number_keys(self, screen: str) -> list[str]:
        """The done and error screens read the acceptance number (受理号) aloud after their words."""
        if screen not in ("done", "error"):
            return []
        digits = str(getattr(self.app.screen(screen), "spoken_digits", "") or "")
        return number_prompt_keys(digits) if digits else []

    def prompt_key(self) -> str | None:
        flow = self.app.flow
        if self._screen == "step" and flow is not None:
            step = flow.step
            return resolve_key(
                self.app.messages, "step", step_kind=step.kind, service_id=flow.service.id, step_id=step.id
            )
        return resolve_key(self.app.messages, self._screen)

    def say(self, key: str) -> None:
        """Speak ``key`` now (a step's live instruction, e.g. the face check's "please blink"),
        instead of the step's own prompt; silent when the voice is off."""
        if self.enabled:
            self.player.play(key, self.app.lang)

    def repeat(self) -> None:
        """再听一遍: the current screen's prompt again (unmutes: the resident asked to hear it)."""
        if self.app.voice_muted:
            self.set_muted(False)
        self.player.play(self.prompt_key(), self.app.lang)

    def _language_changed(self) -> None:
        speaking = self.player.current_key is not None and self._screen
        if speaking and not self._screen.startswith(SILENT_PREFIX):
            self.player.play(self.prompt_key(), self.app.lang)

    def change_volume(self, steps: int) -> None:
        volume = round(min(1.0, max(0.0, self.app.voice_volume + steps * VOLUME_STEP)), 2)
        self.app.voice_volume = volume
        self.player.set_volume(volume)
        if steps > 0 and self.app.voice_muted:
            self.set_muted(False)

    def set_muted(self, muted: bool) -> None:
        self.app.voice_muted = muted
        self.player.set_muted(muted)

    def open_sound(self) -> None:
        if self._sound_view is None:
            self._sound_view = SoundPopover()
            self._sound_view.bind(on_dismiss=lambda *_: setattr(self, "_sound_view", None))
            self._sound_view.open(animation=False)

    # -- help ------------------------------------------------------------------------------------

    def call_help(self) -> None:
        """呼叫帮助: one alert per visit; the notice shows at every touch."""
        self._show_help()
        if self.help_alert_id:
            log.info("help touched again; alert %s is already raised", self.help_alert_id)
            return
        self.help_alert_id = "pending"
        self.app.help_state = "pending"
        flow = self.app.flow
        screen, service, step = self._screen, flow.service.id if flow else "", flow.step.id if flow else ""
        runtime = self.app.runtime

        def work() -> str:
            queue = _wait_for_queue(runtime)
            return str(queue.raise_help(screen, service, step))

        self._help_tasks.run(work, self._raised, self._not_raised, name="help-alert")

    def _raised(self, alert_id: str) -> None:
        self.help_alert_id = alert_id
        self.app.help_state = "sent"

    def _not_raised(self, exc: Exception) -> None:
        log.error("help alert could not be queued: %s", exc)
        self.help_alert_id = ""
        # a failed queue still tells the resident to wait: the log names the cause for technicians
        self.app.help_state = "sent"

    def _show_help(self) -> None:
        if self._help_view is None:
            self._help_view = HelpNotice()
            self._help_view.bind(on_dismiss=lambda *_: setattr(self, "_help_view", None))
            self._help_view.open(animation=False)

    # -- sessions --------------------------------------------------------------------------------

    def _close_views(self) -> None:
        for view in (self._help_view, self._sound_view):
            if view is not None:
                view.dismiss(animation=False)
        self._help_view = self._sound_view = None

    def reset(self) -> None:
        """A visit ended: the next resident starts at the default volume, unmuted, help not called.
        An alert still being committed is raised all the same; only its answer is dropped."""
        self._help_tasks.cancel()
        self._close_views()
        self.help_alert_id = ""
        self.app.help_state = ""
        self.set_muted(False)
        self.change_volume(0)
        self.app.voice_volume = self.app.runtime.config.display.voice_volume
        self.player.set_volume(self.app.voice_volume)


def _wait_for_queue(runtime: Any) -> Any:
    """The request queue, once started (worker thread: the outbox opens after the first frame).
    KioskError when it failed to start or is not up within ``QUEUE_WAIT_S``."""
    deadline = time.monotonic() + QUEUE_WAIT_S
    while runtime.queue is None:
        if runtime.queue_error is not None or time.monotonic() > deadline:
            raise KioskError(f"the request queue is not available: {runtime.queue_error or 'not started'}")
        time.sleep(0.1)
    return runtime.queue
