"""``PhotoSession``: the photo step's pure-Python engine, for a Kivy screen that only draws.

Thread model
------------
* the camera captures in its own thread (latest frame wins);
* a *display* thread hands the newest frame to ``on_frame`` through ``post`` at up to
  ``display_fps``; a new frame replaces one the UI has not drawn yet, so a busy UI never builds a
  backlog (see :class:`Latest`);
* an *analysis* thread runs the checks on the newest frame as fast as the CPU allows (at most
  ``analysis_fps``) and drives the state machine; every change reaches ``on_state`` through
  ``post`` as an immutable :class:`PhotoState`, also coalesced.

State machine: WAITING (camera not streaming) -> GUIDING (hint per frame) -> COUNTDOWN (checks
passed for ``stable_frames`` frames; any failure goes back) -> REVIEW (shot taken) -> ``retake()``
-> GUIDING ... After ``max_attempts`` shots, or when guidance runs ``give_up_after`` seconds
without a shot, the way forward is HELP (ask staff) -- the resident may still accept an earlier shot.
"""

from __future__ import annotations

import enum
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from drivers.camera.base import Camera, CameraStatus, Frame, Image
from kiosk.errors import FlowError
from kiosk.photo.checks import Assessment, Limits, assess
from kiosk.photo.compose import ComposedPhoto, compose
from kiosk.photo.detect import Face, FaceDetector
from kiosk.photo.specs import PhotoSpec

Post = Callable[[Callable[[], None]], None]
T = TypeVar("T")


class Phase(enum.Enum):
    WAITING = "waiting"
    GUIDING = "guiding"
    COUNTDOWN = "countdown"
    REVIEW = "review"
    HELP = "help"
    STOPPED = "stopped"


@dataclass(frozen=True)
class Shot:
    """A captured frame that passed every check, with the face the crop is placed from."""

    image: Image
    face: Face
    assessment: Assessment
    taken_at: float


@dataclass(frozen=True)
class PhotoState:
    """What the screen shows. ``hint`` is a message key; ``countdown`` whole seconds left, if counting."""

    phase: Phase
    hint: str
    camera: CameraStatus
    countdown: int | None
    attempts_left: int
    shots: int
    selected: int | None
    assessment: Assessment | None


class Latest(Generic[T]):
    """Delivers the newest value to ``deliver`` on the UI thread; at most one delivery is pending."""

    def __init__(self, post: Post, deliver: Callable[[T], None]) -> None:
        self._post, self._deliver = post, deliver
        self._lock = threading.Lock()
        self._value: T | None = None
        self._pending = False
        self.posted = 0  # how many callbacks were posted (for tests and the benchmark)

    def submit(self, value: T) -> None:
        with self._lock:
            self._value = value
            if self._pending:
                return  # the pending callback will pick up this newer value
            self._pending = True
            self.posted += 1
        self._post(self._run)

    def _run(self) -> None:
        with self._lock:
            value, self._value, self._pending = self._value, None, False
        if value is not None:
            self._deliver(value)


_CAMERA_HINTS = {
    CameraStatus.STARTING: "photo.camera.starting",
    CameraStatus.NO_CAMERA: "photo.camera.no_camera",
    CameraStatus.RECONNECTING: "photo.camera.reconnecting",
    CameraStatus.BLACK: "photo.camera.black",
    CameraStatus.FROZEN: "photo.camera.frozen",
    CameraStatus.STOPPED: "photo.camera.no_camera",
}


class PhotoSession:
    """Live guidance, automatic capture, review, retakes and the final JPEG for one resident."""

    def __init__(
        self,
        camera: Camera,
        spec: PhotoSpec,
        post: Post,
        *,
        on_frame: Callable[[Frame], None] | None = None,
        on_state: Callable[[PhotoState], None] | None = None,
        detector: FaceDetector | None = None,
        limits: Limits | None = None,
        stable_frames: int = 5,
        countdown_s: float = 3.0,
        max_attempts: int = 3,
        keep_shots: int = 3,
        give_up_after: float = 90.0,
        display_fps: float = 30.0,
        analysis_fps: float = 15.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.camera, self.spec = camera, spec
        # Loading the cascades takes ~20 ms: done on the analysis thread, not in the screen's constructor.
        self._detector = detector
        self._limits = limits or Limits()
        self._stable_needed = stable_frames
        self._countdown_s = countdown_s
        self._max_attempts = max_attempts
        self._keep = keep_shots
        self._give_up_after = give_up_after
        self._display_period = 1.0 / display_fps
        self._analysis_period = 1.0 / analysis_fps
        self._clock = clock
        self._frames: Latest[Frame] = Latest(post, on_frame or (lambda _f: None))
        self._states: Latest[PhotoState] = Latest(post, on_state or (lambda _s: None))
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._phase = Phase.WAITING
        self._hint = "photo.camera.starting"
        self._stable = 0
        self._deadline: float | None = None
        self._guiding_since = clock()
        self._attempts = 0
        self._shots: list[Shot] = []
        self._selected: int | None = None
        self._assessment: Assessment | None = None
        self._last_state: PhotoState | None = None

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the camera and both worker threads (returns at once). One session per resident:
        a stopped session cannot be started again."""
        if self._threads or self._stop.is_set():
            raise FlowError("a photo session can be started once")
        self.camera.start()
        for target, name in ((self._display_loop, "photo-display"), (self._analysis_loop, "photo-analysis")):
            thread = threading.Thread(target=target, name=name, daemon=True)
            self._threads.append(thread)
            thread.start()

    def stop(self) -> None:
        """Stop the workers and forget every shot (session wipe). The camera stays open."""
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5)
        with self._lock:
            self._phase = Phase.STOPPED
            self._shots.clear()
            self._selected = None
            self._assessment = None

    # -- resident actions (call from the UI thread; they only flip state) --------------------------
    def retake(self) -> bool:
        """Go back to guidance for another shot; False when no attempts are left."""
        with self._lock:
            if self._phase not in (Phase.REVIEW, Phase.HELP) or self._attempts >= self._max_attempts:
                return False
            self._to_guiding()
        self._publish()
        return True

    def select(self, index: int) -> None:
        """Choose one of the kept shots (0 = oldest kept) for ``compose``."""
        with self._lock:
            if not 0 <= index < len(self._shots):
                raise FlowError(f"no shot {index} (have {len(self._shots)})")
            self._selected = index
        self._publish()

    def shots(self) -> list[Shot]:
        with self._lock:
            return list(self._shots)

    def compose(self, spec: PhotoSpec | None = None) -> ComposedPhoto:
        """The selected shot as the spec's JPEG (about 5-10 ms; may run on the UI thread)."""
        with self._lock:
            if self._selected is None:
                raise FlowError("no photo has been taken yet")
            shot = self._shots[self._selected]
        return compose(shot.image, shot.face, spec or self.spec)

    def state(self) -> PhotoState:
        with self._lock:
            return self._snapshot()

    # -- analysis: one frame through the state machine ---------------------------------------------
    def process(self, frame: Frame | None, status: CameraStatus) -> PhotoState:
        """Advance the state machine with one frame (the analysis thread calls this; so can tests)."""
        assessment: Assessment | None = None
        with self._lock:
            phase = self._phase
        if phase in (Phase.REVIEW, Phase.HELP, Phase.STOPPED):
            return self.state()
        if status is not CameraStatus.STREAMING or frame is None:
            with self._lock:
                if self._phase in (Phase.GUIDING, Phase.COUNTDOWN, Phase.WAITING):
                    self._phase, self._hint = (
                        Phase.WAITING,
                        _CAMERA_HINTS.get(status, "photo.camera.starting"),
                    )
                    self._stable, self._deadline = 0, None
            return self._publish()
        if self._detector is None:
            self._detector = FaceDetector()
        assessment = assess(frame.image, self._detector, self.spec, limits=self._limits, live=True)
        now = self._clock()
        with self._lock:
            if self._phase is Phase.WAITING:
                self._to_guiding()
            self._assessment = assessment
            if not assessment.passed or assessment.face is None:
                self._stable, self._deadline = 0, None
                self._phase, self._hint = Phase.GUIDING, assessment.hint
                if now - self._guiding_since >= self._give_up_after:
                    self._attempts += 1
                    self._phase, self._hint = Phase.HELP, "photo.staff_help"
            else:
                self._stable += 1
                self._hint = "photo.hint.hold_still"
                if self._phase is Phase.GUIDING and self._stable >= self._stable_needed:
                    self._phase, self._deadline = Phase.COUNTDOWN, now + self._countdown_s
                if self._phase is Phase.COUNTDOWN and self._deadline is not None and now >= self._deadline:
                    self._capture(frame, assessment.face, assessment, now)
        return self._publish()

    def _capture(self, frame: Frame, face: Face, assessment: Assessment, now: float) -> None:
        self._shots.append(Shot(frame.image.copy(), face, assessment, now))
        del self._shots[: -self._keep]
        self._selected = len(self._shots) - 1
        self._attempts += 1
        self._deadline = None
        self._phase = Phase.REVIEW
        self._hint = "photo.staff_help" if self._attempts >= self._max_attempts else "photo.hint.hold_still"

    def _to_guiding(self) -> None:
        self._phase, self._hint = Phase.GUIDING, "photo.hint.no_face"
        self._stable, self._deadline = 0, None
        self._guiding_since = self._clock()

    def _snapshot(self) -> PhotoState:
        countdown = None
        if self._phase is Phase.COUNTDOWN and self._deadline is not None:
            countdown = max(0, math.ceil(self._deadline - self._clock()))
        return PhotoState(
            phase=self._phase,
            hint=self._hint,
            camera=self.camera.status(),
            countdown=countdown,
            attempts_left=max(0, self._max_attempts - self._attempts),
            shots=len(self._shots),
            selected=self._selected,
            assessment=self._assessment,
        )

    def _publish(self) -> PhotoState:
        with self._lock:
            state = self._snapshot()
            changed = self._last_state is None or _visible(state) != _visible(self._last_state)
            self._last_state = state
        if changed:
            self._states.submit(state)
        return state

    # -- worker threads ---------------------------------------------------------------------------
    def _display_loop(self) -> None:
        seq = 0
        while not self._stop.is_set():
            frame = self.camera.wait_frame(seq, timeout=0.25)
            if frame is None:
                continue
            seq = frame.seq
            self._frames.submit(frame)
            self._stop.wait(self._display_period)

    def _analysis_loop(self) -> None:
        seq = 0
        while not self._stop.is_set():
            started = time.monotonic()
            frame = self.camera.wait_frame(seq, timeout=0.25)
            if frame is not None:
                seq = frame.seq
            self.process(frame, self.camera.status())
            self._stop.wait(max(0.0, self._analysis_period - (time.monotonic() - started)))


def _visible(state: PhotoState) -> tuple[object, ...]:
    """The parts of a state the screen shows; frames that change nothing visible are not posted."""
    return (
        state.phase,
        state.hint,
        state.camera,
        state.countdown,
        state.attempts_left,
        state.shots,
        state.selected,
    )
