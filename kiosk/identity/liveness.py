"""The liveness check's rules, Kivy-free: an active challenge (blink, or turn the head and back).

Events in: :meth:`LivenessEngine.start` (the check begins; the deadline is read from the injected
clock), :meth:`~LivenessEngine.feed_frame` (a camera frame, BGR as ``drivers.camera.base.Image``;
the engine finds the landmarks with its ``FaceLandmarker``), :meth:`~LivenessEngine.feed` (an
observation already made: tests and recorded landmark streams), :meth:`~LivenessEngine.tick` (the
screen's timer: the deadline passes even when no frame arrives). State out: :class:`LivenessState`
(the instruction's message key for screen and voice, progress, passed, failed with a reason).
No threads: the caller runs ``feed_frame`` off the UI thread (it takes ~2-100 ms).

The rules:

- First one steady frontal face with open eyes for ``SETTLE_FRAMES`` frames: that is the baseline
  (eye opening, yaw). Until then the instruction says what is wrong (no face, several people).
- blink: the eyes' opening (``landmarks.eye_openness``, an area ratio that no move or tilt of a
  flat photo changes) drops below ``CLOSED_RATIO`` of the baseline and comes back above
  ``OPEN_RATIO`` within ``MAX_CLOSED_S``. A still, moved or tilted photo never blinks.
- turn: the engine chooses left or right (the resident's own side; frames are the unmirrored
  camera view); the yaw moves ``TURN_DEG`` from the baseline that way, passing through at least
  one intermediate sample (a swap of two photos jumps), then comes back within ``BACK_DEG``.
  Recorded sequences use ``EITHER`` (the side is unknown in advance).
  Yaw comes from a 3-D fit of the landmarks (``landmarks.head_pose``) that no affine map of the
  image changes: moving, rotating in the image plane, scaling or tilting a flat photo.
- Frozen or replayed frames: ``FROZEN_FRAMES`` consecutive frames that differ by less than
  ``FROZEN_CHANGE`` grey levels on average fail at once ("frozen"); a real sensor always has noise.
- A face narrower than ``MIN_FACE_PX`` is asked to come closer (its landmarks are too coarse).
- Several faces for ``SEVERAL_FRAMES`` frames during the challenge fail ("several_faces"); a face
  lost for ``FACE_LOST_S`` or jumping by more than its own width restarts the challenge from the
  baseline (continuity is part of the proof).
- At the deadline the check fails with what was missing: "no_face", "several_faces",
  "not_frontal" (a face, but never steady and frontal with open eyes), "no_blink", "no_turn".
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from contract.faces import FaceBox
from kiosk.identity.landmarks import FaceObservation, eye_openness, head_pose

BLINK, TURN = "blink", "turn"
CHALLENGES = (BLINK, TURN)
LEFT, RIGHT = "left", "right"
EITHER = "either"  # recorded sequences (``kiosk-tech liveness``): a turn to either side counts

# phases
WAITING = "waiting"  # looking for one steady, frontal face
ACTING = "acting"  # the challenge is asked: blink, or turn
RETURNING = "returning"  # turn: turned far enough, now back to the camera
PASSED = "passed"
FAILED = "failed"

FAIL_REASONS = ("frozen", "no_face", "several_faces", "not_frontal", "no_blink", "no_turn")

LIVENESS_TIMEOUT_S = 15.0
SETTLE_FRAMES = 3
FRONTAL_YAW_DEG = 20.0
# eye opening: ``landmarks.eye_openness`` (eye area / a rigid face triangle; 0.06-0.15 open in the
# fixtures, towards 0 closed). Landmark noise on a held photo moves it by up to ~25 %.
MIN_OPENNESS = 0.035
CLOSED_RATIO = 0.5
OPEN_RATIO = 0.85
MAX_CLOSED_S = 2.0
TURN_DEG = 20.0
BACK_DEG = 8.0
FROZEN_CHANGE = 0.3  # mean absolute grey-level difference between consecutive frames
FROZEN_FRAMES = 5
SEVERAL_FRAMES = 3
FACE_LOST_S = 1.5
JUMP_WIDTHS = 1.0
MIN_FACE_PX = 80  # face box width in frame pixels (a resident at the kiosk: ~150-250 at 640x480)


class Observer(Protocol):
    """What finds the face in a frame (``landmarks.FaceLandmarker``; a test fake)."""

    def observe(self, frame: npt.NDArray[np.uint8]) -> FaceObservation: ...

    def reset(self) -> None: ...


@dataclass(frozen=True)
class LivenessState:
    """What the screen shows: ``instruction`` and ``reason`` are message keys (zh/en, voice)."""

    challenge: str
    phase: str = WAITING
    instruction: str = "liveness.look"
    progress: float = 0.0
    reason: str = ""  # one of FAIL_REASONS once failed
    direction: str = ""  # turn: LEFT or RIGHT (the resident's own side)
    remaining_s: float = LIVENESS_TIMEOUT_S

    @property
    def passed(self) -> bool:
        return self.phase == PASSED

    @property
    def failed(self) -> bool:
        return self.phase == FAILED

    @property
    def done(self) -> bool:
        return self.phase in (PASSED, FAILED)

    @property
    def reason_message(self) -> str:
        """The message key that explains a failure (``liveness.failed.<reason>``)."""
        return f"liveness.failed.{self.reason}" if self.reason else ""


def frame_signature(frame: npt.NDArray[np.uint8]) -> npt.NDArray[np.int16]:
    """A grey, 4x-subsampled copy (no averaging, so sensor noise survives) to compare frames."""
    sub = frame[::4, ::4]
    grey = sub.mean(axis=2) if sub.ndim == 3 else sub
    return np.asarray(grey, dtype=np.int16)


def frame_change(a: npt.NDArray[np.int16] | None, b: npt.NDArray[np.int16]) -> float:
    """Mean absolute grey-level difference of two signatures (inf when there is no previous one)."""
    if a is None or a.shape != b.shape:
        return float("inf")
    return float(np.mean(np.abs(a - b)))


class LivenessEngine:
    """One liveness check of one visit (see the module's rules)."""

    _settling: list[tuple[float, float]]
    _open0: float
    _yaw0: float
    _closed_since: float | None
    _intermediate: bool
    _lost_since: float | None
    _last_box: FaceBox | None
    _several: int
    _frontal_now: bool

    def __init__(
        self,
        challenge: str,
        *,
        clock: Callable[[], float],
        observer: Observer | None = None,
        direction: str | None = None,
        rng: random.Random | None = None,
        timeout_s: float = LIVENESS_TIMEOUT_S,
        on_change: Callable[[LivenessState], None] | None = None,
    ) -> None:
        if challenge not in CHALLENGES:
            raise ValueError(f"unknown liveness challenge {challenge!r} (blink or turn)")
        if direction is None and challenge == TURN:
            direction = (rng or random.Random()).choice((LEFT, RIGHT))
        if direction not in (None, LEFT, RIGHT, EITHER):
            raise ValueError(f"unknown turn direction {direction!r}")
        self.challenge = challenge
        self._clock = clock
        self._observer = observer
        self._timeout_s = timeout_s
        self._on_change = on_change
        self.state = LivenessState(challenge, direction=direction or "", remaining_s=timeout_s)
        self.deadline: float | None = None
        self._signature: npt.NDArray[np.int16] | None = None
        self._frame_for_match: npt.NDArray[np.uint8] | None = None
        self._frozen = 0  # consecutive frames without change
        self._last_faces = 0  # faces in the last observation (what was missing at the deadline)
        self._reset_tracking()

    # -- events ---------------------------------------------------------------------------------

    def start(self) -> LivenessState:
        """Begin (or begin again): a new deadline, a new baseline."""
        self.deadline = self._clock() + self._timeout_s
        self._signature = None
        self._frame_for_match = None
        self._frozen = 0
        self._reset_tracking()
        if self._observer is not None:
            self._observer.reset()
        return self._set(
            LivenessState(self.challenge, direction=self.state.direction, remaining_s=self._timeout_s)
        )

    def feed_frame(self, frame: npt.NDArray[np.uint8]) -> LivenessState:
        """One camera frame (BGR uint8). Frames are not kept, except the last frontal one with open
        eyes, in memory, for the face match that follows (:meth:`frame_for_match`)."""
        if self._observer is None:
            raise RuntimeError("LivenessEngine.feed_frame needs an observer (a FaceLandmarker)")
        if self.state.done:
            return self.state
        signature = frame_signature(frame)
        change = frame_change(self._signature, signature)
        self._signature = signature
        observation = self._observer.observe(frame)
        state = self.feed(observation, change)
        if self._frontal_now and not state.failed:
            self._frame_for_match = frame.copy()
        return state

    def feed(self, observation: FaceObservation, change: float = float("inf")) -> LivenessState:
        """One observation; ``change`` is the frame's difference from the previous one."""
        if self.state.done:
            return self.state
        if self.deadline is None:
            self.start()
        now = self._clock()
        self._frontal_now = False
        if change < FROZEN_CHANGE:
            self._frozen += 1
            if self._frozen >= FROZEN_FRAMES:
                return self._fail("frozen")
        else:
            self._frozen = 0
        if self._past_deadline(now):
            return self._fail(self._missing())
        self._last_faces = observation.faces
        if observation.faces >= 2:
            self._several += 1
            if self.state.phase != WAITING and self._several >= SEVERAL_FRAMES:
                return self._fail("several_faces")
            return self._instruct("liveness.one_person", now)
        self._several = 0
        if not observation.single:
            if self.state.phase != WAITING:
                self._lost_since = now if self._lost_since is None else self._lost_since
                if now - self._lost_since >= FACE_LOST_S:
                    self._restart()
            return self._instruct("liveness.look", now)
        self._lost_since = None
        if observation.box is not None and observation.box.width < MIN_FACE_PX:
            return self._instruct("liveness.closer", now)
        if self._jumped(observation):
            self._restart()
        self._last_box = observation.box
        opening = eye_openness(observation.points)
        yaw = head_pose(observation.points).yaw
        if self.state.phase == WAITING:
            return self._settle(opening, yaw, now)
        self._frontal_now = abs(yaw - self._yaw0) <= BACK_DEG and opening >= OPEN_RATIO * self._open0
        if self.challenge == BLINK:
            return self._blink(opening, now)
        return self._turn(yaw, now)

    def tick(self) -> LivenessState:
        """The screen's timer: fails at the deadline even when frames stop coming."""
        if self.state.done or self.deadline is None:
            return self.state
        now = self._clock()
        if self._past_deadline(now):
            return self._fail(self._missing())
        return self._set(replace(self.state, remaining_s=self._remaining(now)))

    def end(self) -> LivenessState:
        """The input ended (a recording ran out, the resident left): fail with what was missing,
        unless already done."""
        if self.state.done:
            return self.state
        return self._fail(self._missing())

    def frame_for_match(self) -> npt.NDArray[np.uint8] | None:
        """After a pass: the last frontal frame with open eyes seen during the check (BGR)."""
        return self._frame_for_match if self.state.passed else None

    def clear(self) -> None:
        """Forget the frame kept for the match (the visit ends)."""
        self._frame_for_match = None
        self._signature = None

    # -- rules ----------------------------------------------------------------------------------

    def _settle(self, opening: float, yaw: float, now: float) -> LivenessState:
        if abs(yaw) > FRONTAL_YAW_DEG or opening < MIN_OPENNESS:
            self._settling.clear()
            return self._instruct("liveness.look", now)
        self._settling.append((opening, yaw))
        if len(self._settling) < SETTLE_FRAMES:
            return self._instruct("liveness.look", now, progress=0.1)
        self._open0 = statistics.median(e for e, _ in self._settling)
        self._yaw0 = statistics.median(y for _, y in self._settling)
        self._frontal_now = True
        return self._set(replace(self.state, phase=ACTING, instruction=self._ask(), progress=0.3))

    def _blink(self, opening: float, now: float) -> LivenessState:
        if self._closed_since is None:
            if opening <= CLOSED_RATIO * self._open0:
                self._closed_since = now
                return self._instruct(self._ask(), now, progress=0.6)
            return self._instruct(self._ask(), now, progress=0.3)
        if opening >= OPEN_RATIO * self._open0:
            if now - self._closed_since <= MAX_CLOSED_S:
                return self._pass()
            self._closed_since = None  # eyes shut too long: not a blink
            return self._instruct(self._ask(), now, progress=0.3)
        return self._instruct(self._ask(), now, progress=0.6)

    def _turn(self, yaw: float, now: float) -> LivenessState:
        # the resident's left is the nose moving to the image's right (yaw > 0)
        if self.state.direction == EITHER:
            turned = abs(yaw - self._yaw0)
        else:
            turned = (1.0 if self.state.direction == LEFT else -1.0) * (yaw - self._yaw0)
        if self.state.phase == ACTING:
            if 0.25 * TURN_DEG <= turned < 0.85 * TURN_DEG:
                self._intermediate = True
            if turned >= TURN_DEG and self._intermediate:
                return self._set(
                    replace(self.state, phase=RETURNING, instruction="liveness.turn_back", progress=0.7)
                )
            if turned >= TURN_DEG:  # got there in one jump: not a head turning
                return self._instruct(self._ask(), now, progress=0.3)
            share = max(0.0, min(1.0, turned / TURN_DEG))
            return self._instruct(self._ask(), now, progress=0.3 + 0.4 * share)
        if abs(yaw - self._yaw0) <= BACK_DEG:
            return self._pass()
        back = 1.0 - min(1.0, abs(yaw - self._yaw0) / TURN_DEG)
        return self._instruct("liveness.turn_back", now, progress=0.7 + 0.3 * back)

    def _ask(self) -> str:
        if self.challenge == BLINK:
            return "liveness.blink"
        return f"liveness.turn_{self.state.direction}" if self.state.direction != EITHER else "liveness.turn"

    def _jumped(self, observation: FaceObservation) -> bool:
        prev, box = self._last_box, observation.box
        if prev is None or box is None:
            return False
        dx = (box.left + box.right - prev.left - prev.right) / 2
        dy = (box.top + box.bottom - prev.top - prev.bottom) / 2
        return bool((dx * dx + dy * dy) ** 0.5 > JUMP_WIDTHS * max(prev.width, 1))

    def _restart(self) -> None:
        """Continuity broke (face lost, jumped): back to the baseline, same deadline and side."""
        self._reset_tracking()
        self.state = replace(self.state, phase=WAITING, instruction="liveness.look", progress=0.0)

    def _reset_tracking(self) -> None:
        self._settling = []
        self._open0 = 0.0
        self._yaw0 = 0.0
        self._closed_since = None
        self._intermediate = False
        self._lost_since = None
        self._last_box = None
        self._several = 0
        self._frontal_now = False

    def _missing(self) -> str:
        if self.state.phase in (ACTING, RETURNING):
            return "no_blink" if self.challenge == BLINK else "no_turn"
        if self._last_faces >= 2:
            return "several_faces"
        if self._last_faces == 0:
            return "no_face"
        return "not_frontal"

    def _past_deadline(self, now: float) -> bool:
        return self.deadline is not None and now >= self.deadline

    def _remaining(self, now: float) -> float:
        return max(0.0, (self.deadline or now) - now)

    def _instruct(self, key: str, now: float, *, progress: float | None = None) -> LivenessState:
        return self._set(
            replace(
                self.state,
                instruction=key,
                progress=self.state.progress if progress is None else progress,
                remaining_s=self._remaining(now),
            )
        )

    def _pass(self) -> LivenessState:
        return self._set(replace(self.state, phase=PASSED, instruction="liveness.passed", progress=1.0))

    def _fail(self, reason: str) -> LivenessState:
        self._frame_for_match = None
        return self._set(
            replace(self.state, phase=FAILED, instruction=f"liveness.failed.{reason}", reason=reason)
        )

    def _set(self, state: LivenessState) -> LivenessState:
        changed = state != self.state
        self.state = state
        if changed and self._on_change is not None:
            self._on_change(state)
        return state
