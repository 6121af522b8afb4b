"""The two liveness checks the face-check step runs (:class:`kiosk.steps.face_check.LivenessCheck`).

- :class:`ChallengeLiveness`: the active challenge (blink, turn the head) on the live video: camera
  frames, newest first, fed to the face model's frame-by-frame liveness engine
  (``kiosk.identity.liveness``) until it says passed or failed, or the time runs out.
- :class:`DeviceLiveness`: a site's infrared / binocular liveness camera (the ``liveness`` device
  role): its vendor SDK gives the verdict; the colour camera gives the frame that is matched.

Both run on a worker thread, never on the UI thread; the preview draws the camera's newest frame
on its own, so it keeps its frame rate while they work.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any, Protocol

from kiosk.steps.face_check import LivenessOutcome, LivenessProgress

log = logging.getLogger(__name__)

FRAME_WAIT_S = 0.5


class FrameSource(Protocol):
    """What the checks need of :class:`drivers.camera.base.Camera`."""

    def latest(self) -> Any: ...

    def wait_frame(self, after_seq: int, timeout: float) -> Any: ...


class FrameLiveness(Protocol):
    """:class:`kiosk.identity.liveness.LivenessEngine` as this module uses it: ``start``, ``tick``
    and ``feed_frame`` (a BGR frame) answer its state (``instruction`` message key, ``progress``
    0..1, ``passed``, ``failed``, ``reason``); ``frame_for_match`` is the frontal frame to match."""

    def start(self) -> Any: ...

    def tick(self) -> Any: ...

    def feed_frame(self, frame: Any) -> Any: ...

    def frame_for_match(self) -> Any: ...

    def clear(self) -> None: ...


# the engine's own deadline failures: the resident did not (could not) do what was asked, which
# the face check answers with 呼叫帮助; "frozen" and "several_faces" are failures of the scene
UNDONE = frozenset({"no_blink", "no_turn", "no_face", "not_frontal"})


def bgr_to_rgb(image: Any) -> Any:
    return image[:, :, ::-1].copy()


class ChallengeLiveness:
    """The active challenge on the camera's frames (the engine keeps its own deadline)."""

    def __init__(self, camera: FrameSource, engine: Callable[[], FrameLiveness]) -> None:
        self._camera = camera
        self._engine = engine

    def run(self, report: Callable[[LivenessProgress], None], stop: threading.Event) -> LivenessOutcome:
        engine = self._engine()
        state = engine.start()
        seq = 0
        shown: tuple[str, float] = ("", -1.0)
        try:
            while not stop.is_set():
                frame = self._camera.wait_frame(seq, FRAME_WAIT_S)
                if frame is not None:
                    seq = frame.seq
                    state = engine.feed_frame(frame.image)
                else:
                    state = engine.tick()
                now = (str(state.instruction), round(float(state.progress), 2))
                if now != shown:
                    shown = now
                    report(LivenessProgress(now[0], now[1]))
                if state.passed:
                    match = engine.frame_for_match()
                    image = match if match is not None else frame.image if frame is not None else None
                    if image is None:
                        return LivenessOutcome(False, "no_face")
                    return LivenessOutcome(True, frame_rgb=bgr_to_rgb(image))
                if state.failed:
                    reason = str(state.reason or "not_live")
                    return LivenessOutcome(False, "timeout" if reason in UNDONE else reason)
            return LivenessOutcome(False, "stopped")
        finally:
            engine.clear()  # the frame it kept for the match: the outcome carries it now


class LivenessDevice(Protocol):
    """The ``liveness`` device role (:class:`drivers.liveness.base.LivenessCamera`) as this module
    uses it: ``check(timeout_s)`` blocks for the vendor SDK's verdict (a ``LivenessResult``:
    ``live``, ``verdict``); a device that fails raises (the face check then offers 呼叫帮助)."""

    def check(self, timeout_s: float) -> Any: ...


class DeviceLiveness:
    """The verdict of the site's liveness camera, with the colour camera's frame for the match."""

    def __init__(self, device: LivenessDevice, camera: FrameSource, *, timeout_s: float) -> None:
        self._device = device
        self._camera = camera
        self._timeout_s = timeout_s

    def run(self, report: Callable[[LivenessProgress], None], stop: threading.Event) -> LivenessOutcome:
        report(LivenessProgress("liveness.look", 0.0))
        verdict = self._device.check(self._timeout_s)
        if stop.is_set():
            return LivenessOutcome(False, "stopped")
        if not getattr(verdict, "live", False):
            tag = getattr(verdict, "verdict", None)
            return LivenessOutcome(False, str(getattr(tag, "value", tag) or "not_live"))  # spoof, no_face
        frame = self._camera.latest() or self._camera.wait_frame(0, FRAME_WAIT_S)
        if frame is None:
            return LivenessOutcome(False, "no_frame")
        report(LivenessProgress("liveness.look", 1.0))
        return LivenessOutcome(True, frame_rgb=bgr_to_rgb(frame.image))
