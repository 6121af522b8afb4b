"""Face-check step (人证核验): the live preview with a face outline, the instruction shown and spoken,
a countdown, then the result in plain words. The rules are :class:`kiosk.steps.face_check.FaceCheckEngine`;
this widget builds one, draws its state and forwards touches (我做不了, 再试一次, 呼叫帮助).

The preview draws the camera's newest frame on a clock (a texture blit: no analysis on the UI
thread); liveness and the match run on ``self.tasks`` worker threads, so the preview keeps its
frame rate while they work.
"""

from __future__ import annotations

import logging
from typing import Any

from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.steps.backend_step import queue_clients
from kiosk.steps.face_check import (
    FAILED,
    HELP,
    MATCHING,
    OFFLINE,
    PASSED,
    RETRY,
    FaceCheckEngine,
    FaceCheckSettings,
    FaceCheckState,
    LivenessCheck,
)
from kiosk.steps.face_liveness import ChallengeLiveness, DeviceLiveness
from screens.steps.base import StepBase, StepResult

log = logging.getLogger(__name__)

PREVIEW_FPS = 15.0
DEMO_BLINK_EVERY_S = 2.0  # demo: the simulated camera's demo face blinks this often during the challenge
TICK_S = 0.25
SHOW_PASSED_S = 1.2  # "核验通过" stays this long before the flow moves on
SPOKEN = {  # the phase (or instruction) -> the voice prompt spoken when it starts
    "liveness.blink": "voice.face.blink",
    "liveness.turn_left": "voice.face.turn_left",
    "liveness.turn_right": "voice.face.turn_right",
    PASSED: "voice.face.passed",
    RETRY: "voice.face.retry",
    FAILED: "voice.face.help",
    HELP: "voice.face.help",
}


def encode_jpeg(rgb: Any) -> bytes:
    """The live frame as the JPEG sent to the backend (quality 90: a face, not an archive)."""
    import cv2

    ok, data = cv2.imencode(".jpg", rgb[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 90])
    if not ok:  # pragma: no cover - OpenCV encodes any valid array
        raise ValueError("JPEG encoding failed")
    return bytes(data.tobytes())


def challenge_engine(challenge: str, timeout_s: float) -> Any:
    """The face model's frame-by-frame liveness engine for ``challenge`` (dlib's landmarks)."""
    import time

    from kiosk.identity.landmarks import FaceLandmarker
    from kiosk.identity.liveness import LivenessEngine

    return LivenessEngine(challenge, clock=time.monotonic, observer=FaceLandmarker(), timeout_s=timeout_s)


class FaceCheckStep(StepBase):
    texture = ObjectProperty(None, allownone=True)
    phase = StringProperty("ready")
    instruction = StringProperty("")
    countdown = StringProperty("")
    progress = NumericProperty(0.0)
    title = StringProperty("")  # the result's title (empty while running)
    result_text = StringProperty("")  # the result's sentence (StepBase.result is the host's template)
    note = StringProperty("")  # "nothing was submitted" on a failure
    can_retry = BooleanProperty(False)
    offers_help = BooleanProperty(False)
    running = BooleanProperty(False)
    simulated_liveness = BooleanProperty(False)  # demo: the liveness is simulated (shown as such)

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        runtime = self.app.runtime
        self.camera = runtime.devices.get("camera")
        self._spoken = ""
        self._moving_on: Any = None
        self._events: list[Any] = []
        self.engine: FaceCheckEngine | None = None
        if self.camera is None:
            self.phase, self.offers_help = HELP, True
            self.result_text = self.app.tr("face.no_camera")
            return
        self.engine = self._make_engine(runtime)
        self._events += [
            Clock.schedule_interval(lambda _dt: self._preview(), 1 / PREVIEW_FPS),
            Clock.schedule_interval(lambda _dt: self._tick(), TICK_S),
        ]
        Clock.schedule_once(lambda _dt: self._start(), 0)

    def _make_engine(self, runtime: Any) -> FaceCheckEngine:
        config = runtime.config
        identity = config.identity
        settings = FaceCheckSettings(
            mode=config.identity_match,
            challenge=identity.challenge,
            challenge_timeout_s=identity.challenge_timeout_s,
            match_timeout_s=identity.match_timeout_s,
        )
        device = runtime.devices.get("liveness")
        liveness: LivenessCheck
        if device is not None:
            liveness = DeviceLiveness(device, self.camera, timeout_s=identity.challenge_timeout_s)
            self.simulated_liveness = bool(getattr(device, "simulated", False))
        else:
            challenge, timeout_s = identity.challenge, identity.challenge_timeout_s
            liveness = ChallengeLiveness(self.camera, lambda: challenge_engine(challenge, timeout_s))
            if challenge == "blink" and getattr(self.camera, "can_blink", False):
                # demo: the simulated camera's still demo face blinks, so the real challenge engine
                # can pass on a laptop (a synthetic blink proves the path, not liveness)
                self.simulated_liveness = True
                self._events.append(
                    Clock.schedule_interval(lambda _dt: self._demo_blink(), DEMO_BLINK_EVERY_S)
                )
        from contract.faces import decode_image, default_matcher
        from kiosk.steps.guardian import visit_for

        return FaceCheckEngine(
            visit_for(self.step, self.flow.session),  # the guardian's card and face, for role = "guardian"
            settings,
            liveness=liveness,
            matcher=default_matcher,
            clients=queue_clients(runtime),
            tasks=self.tasks,
            post=self.tasks.post,
            clock=runtime.clock,
            decode_image=decode_image,
            encode_jpeg=encode_jpeg,
            on_change=self.render,
        )

    def _start(self) -> None:
        if self.engine is not None and not self.engine.left:
            self.engine.start()

    # -- drawing -----------------------------------------------------------------------------------
    def _preview(self) -> None:
        frame = self.camera.latest() if self.camera is not None else None
        if frame is None:
            return
        image = frame.image
        height, width = image.shape[:2]
        texture = self.texture
        if texture is None or texture.size != (width, height):
            texture = Texture.create(size=(width, height), colorfmt="bgr")
            texture.flip_vertical()
        texture.blit_buffer(image.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.texture = texture
        self.canvas.ask_update()

    def _demo_blink(self) -> None:
        if self.phase == "liveness":
            self.camera.blink()

    def _tick(self) -> None:
        if self.engine is not None:
            self.engine.tick()

    def render(self, state: FaceCheckState) -> None:
        app = self.app
        self.phase = state.phase
        self.busy = state.phase in (MATCHING, PASSED)  # back and leave shown disabled while matching
        self.running = state.running
        self.progress = state.progress
        self.instruction = (
            app.tr(state.instruction_key) if state.phase not in (RETRY, FAILED, HELP, OFFLINE) else ""
        )
        self.countdown = app.tr("face.seconds_left", seconds=state.seconds_left) if state.seconds_left else ""
        self.title = app.tr(f"face.title.{state.phase}") if state.message_key else ""
        self.result_text = app.tr(state.message_key) if state.message_key else ""
        self.note = app.tr("face.failed_note") if state.phase in (FAILED, HELP) else ""
        self.can_retry, self.offers_help = state.can_retry, state.offers_help
        # a check that did not pass is a result (UX.md): the template's icon, title, what to do
        # next, 再试一次 as its main button where trying again can work, 呼叫帮助, 返回首页
        back = state.phase == FAILED and state.reason == "no_record"
        self.result = (
            StepResult(
                "problem",
                f"face.title.{state.phase}",
                state.message_key,
                # no record for the number typed: the way back is to check that number
                retry_key="face.try_again" if state.can_retry else ("result.check_again" if back else ""),
                retry_main=bool(state.can_retry),
                help=bool(state.offers_help) or state.phase != RETRY,
                note_key="face.failed_note" if state.phase in (FAILED, HELP) else "",
            )
            if state.phase in (RETRY, FAILED, HELP, OFFLINE) and state.message_key
            else None
        )
        self._speak(state)
        if state.phase == PASSED and self._moving_on is None:
            self._moving_on = Clock.schedule_once(lambda _dt: self._finish(), SHOW_PASSED_S)

    def _speak(self, state: FaceCheckState) -> None:
        key = SPOKEN.get(state.phase) or SPOKEN.get(state.instruction_key, "")
        if key and key != self._spoken:
            self._spoken = key
            assist = getattr(self.app, "assist", None)
            if assist is not None:
                assist.say(key)

    def refresh_texts(self) -> None:
        if self.engine is not None:
            self.render(self.engine.state)

    # -- the resident's touches ----------------------------------------------------------------------
    def cannot(self) -> None:
        if self.engine is not None:
            self.engine.cannot()

    def result_action(self, action: str) -> None:
        """The result template's buttons: 再试一次 checks again; 返回首页 ends the visit."""
        if action == "retry" and self.can_retry:
            self.retry()
        elif action == "retry":
            self.teardown()
            self.app.go_back()  # to the number typed: nothing lost, nothing sent
        else:
            self.teardown()
            self.app.cancel()

    def retry(self) -> None:
        if self.engine is not None:
            self._spoken = ""
            self.engine.retry()

    def call_help(self) -> None:
        self.app.assist.call_help()

    def _finish(self) -> None:
        if self.engine is not None and self.engine.state.phase == PASSED:
            self.teardown()
            self.app.step_done()

    def teardown(self) -> None:
        for event in self._events:
            event.cancel()
        self._events = []
        if self._moving_on is not None:
            self._moving_on.cancel()
            self._moving_on = None
        if self.engine is not None:
            self.engine.leave()
        super().teardown()
