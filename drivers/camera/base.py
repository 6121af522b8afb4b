"""The camera interface: frames, status values, and the latest-frame-wins slot.

A camera captures in its own thread; consumers never queue frames. They ask for the newest frame
(``latest``) or wait for one newer than what they already have (``wait_frame``), so a slow consumer
(the checks) and a fast one (the preview) each see fresh frames and no backlog builds up.
"""

from __future__ import annotations

import enum
import threading
import time
from dataclasses import dataclass
from typing import Any, Protocol

import numpy.typing as npt

from drivers.base import DeviceHealth, Health

Image = npt.NDArray[Any]
"""A BGR image, shape (height, width, 3), dtype uint8 (OpenCV's layout; typed loosely because
OpenCV's stubs return untyped arrays)."""


class CameraStatus(enum.Enum):
    """What the capture thread is doing now (a value, never an exception)."""

    STARTING = "starting"  # opening the device for the first time
    STREAMING = "streaming"  # frames arrive
    NO_CAMERA = "no_camera"  # the device could not be opened; retrying
    RECONNECTING = "reconnecting"  # the device vanished mid-stream; retrying
    BLACK = "black"  # frames arrive but are black (lens cap, dead sensor, no light)
    FROZEN = "frozen"  # frames arrive but do not change (stuck driver)
    STOPPED = "stopped"  # closed


_HEALTH = {
    CameraStatus.STARTING: Health.UNKNOWN,
    CameraStatus.STREAMING: Health.OK,
    CameraStatus.NO_CAMERA: Health.DOWN,
    CameraStatus.RECONNECTING: Health.DOWN,
    CameraStatus.BLACK: Health.DEGRADED,
    CameraStatus.FROZEN: Health.DEGRADED,
    CameraStatus.STOPPED: Health.DOWN,
}


def status_health(status: CameraStatus, detail: str = "") -> DeviceHealth:
    """The dashboard health for a camera status; the status value is the stable code."""
    return DeviceHealth(_HEALTH[status], status.value, detail)


@dataclass(frozen=True)
class Frame:
    """One captured frame: the BGR image, when it was captured (``time.monotonic``), a sequence number."""

    image: Image
    timestamp: float
    seq: int


class Camera(Protocol):
    """A running camera. ``start`` begins capture; all other methods return promptly."""

    simulated: bool

    def start(self) -> None:
        """Start the capture thread (idempotent)."""
        ...

    def status(self) -> CameraStatus: ...

    def latest(self) -> Frame | None:
        """The newest frame, or None if none has arrived yet."""
        ...

    def wait_frame(self, after_seq: int, timeout: float) -> Frame | None:
        """Block up to ``timeout`` s for a frame newer than ``after_seq``; None on timeout."""
        ...

    def health(self) -> DeviceHealth: ...

    def close(self) -> None: ...


class FrameSlot:
    """Holds only the newest frame; writers overwrite, readers wait for a newer sequence number."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._frame: Frame | None = None
        self._seq = 0

    def put(self, image: Image) -> Frame:
        with self._cond:
            self._seq += 1
            frame = Frame(image, time.monotonic(), self._seq)
            self._frame = frame
            self._cond.notify_all()
        return frame

    def latest(self) -> Frame | None:
        with self._cond:
            return self._frame

    def wait_newer(self, after_seq: int, timeout: float) -> Frame | None:
        deadline = time.monotonic() + timeout
        with self._cond:
            while self._frame is None or self._frame.seq <= after_seq:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return None
                self._cond.wait(remaining)
            return self._frame

    def wake(self) -> None:
        """Wake waiters (on close) so they notice the camera stopped."""
        with self._cond:
            self._cond.notify_all()
