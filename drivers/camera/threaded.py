"""The capture thread shared by every camera: pacing, reconnect, black and frozen detection.

Implementations only supply a :class:`FrameSource` (open / read one frame / release), the seam tests
fake; this module turns it into a :class:`~drivers.camera.base.Camera`.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Protocol

import numpy as np

from drivers.base import DeviceHealth
from drivers.camera.base import CameraStatus, Frame, FrameSlot, Image, status_health
from drivers.errors import DeviceError

log = logging.getLogger(__name__)

BLACK_LEVEL = 8.0  # mean grey level below which a frame counts as black
FROZEN_EPSILON = 0.5  # mean absolute change of a 32x24 thumbnail below which frames are "the same"


class FrameSource(Protocol):
    """The tiny part of a capture API a camera needs."""

    name: str  # for messages: "/dev/video0", "index 0", "folder /x"

    def open(self) -> None:
        """Open the device; raise a DeviceError (DeviceNotFound, ...) if it is not there."""
        ...

    def read(self) -> Image | None:
        """One BGR frame, or None if the device vanished (the thread then reconnects)."""
        ...

    def release(self) -> None: ...


def _thumbnail(image: Image) -> np.ndarray:
    h, w = image.shape[:2]
    step_y, step_x = max(1, h // 24), max(1, w // 32)
    return image[::step_y, ::step_x].astype(np.float32)


_FAULTS = (CameraStatus.NO_CAMERA, CameraStatus.RECONNECTING, CameraStatus.BLACK, CameraStatus.FROZEN)


class ThreadedCamera:
    """Captures from a :class:`FrameSource` in a daemon thread at up to ``fps`` frames per second.

    The newest frame wins (no queue). When the source fails it is released and reopened every
    ``reconnect_interval`` seconds until it returns; meanwhile the status says why there are no frames.
    """

    simulated = False

    def __init__(
        self,
        source: FrameSource,
        *,
        fps: float = 30.0,
        reconnect_interval: float = 1.0,
        black_after: float = 1.0,
        frozen_after: float = 2.0,
        device: str = "camera",
    ) -> None:
        if fps <= 0:
            raise ValueError("fps must be positive")
        self._source = source
        self._period = 1.0 / fps
        self._reconnect_interval = reconnect_interval
        self._black_after = black_after
        self._frozen_after = frozen_after
        self._device = device
        self._slot = FrameSlot()
        self._status = CameraStatus.STARTING
        self._detail = ""
        self.faults = 0  # diagnostics: failure states entered, and the last one with its cause
        self.last_fault = ""
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- public API -------------------------------------------------------------------------------
    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._run, name=f"camera:{self._source.name}", daemon=True)
            self._thread.start()

    def start_and_wait(self, timeout: float = 2.0) -> CameraStatus:
        """Start, then wait up to ``timeout`` s for the first frame or a failure (device-open time)."""
        self.start()
        deadline = time.monotonic() + timeout
        while self.status() is CameraStatus.STARTING and time.monotonic() < deadline:
            self._slot.wait_newer(0, min(0.05, max(0.0, deadline - time.monotonic())))
        return self.status()

    def status(self) -> CameraStatus:
        with self._lock:
            return self._status

    def health(self) -> DeviceHealth:
        with self._lock:
            return status_health(self._status, self._detail)

    def latest(self) -> Frame | None:
        return self._slot.latest()

    def wait_frame(self, after_seq: int, timeout: float) -> Frame | None:
        return self._slot.wait_newer(after_seq, timeout)

    def close(self) -> None:
        self._stop.set()
        self._slot.wake()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)
        self._set(CameraStatus.STOPPED, "")

    # -- capture thread ---------------------------------------------------------------------------
    def _set(self, status: CameraStatus, detail: str) -> None:
        with self._lock:
            if status is not self._status:
                log.info("camera %s: %s %s", self._source.name, status.value, detail)
                if status in _FAULTS:
                    self.faults += 1  # each time the camera goes into a failure state
                    self.last_fault = f"{status.value}: {detail}"
            self._status, self._detail = status, detail

    def _open(self, failed_status: CameraStatus) -> bool:
        try:
            self._source.open()
        except DeviceError as exc:
            self._set(failed_status, str(exc))
            return False
        return True

    def _run(self) -> None:
        opened = self._open(CameraStatus.NO_CAMERA)
        failed_status = CameraStatus.NO_CAMERA
        while not opened:
            if self._stop.wait(self._reconnect_interval):
                return
            opened = self._open(failed_status)
        self._set(CameraStatus.STARTING, "")
        last_thumb: np.ndarray | None = None
        dark_since: float | None = None
        same_since: float | None = None
        next_due = time.monotonic()
        try:
            while not self._stop.is_set():
                image = self._read()
                now = time.monotonic()
                if image is None:
                    self._source.release()
                    self._set(CameraStatus.RECONNECTING, f"{self._source.name} stopped delivering frames")
                    last_thumb, dark_since, same_since = None, None, None
                    while not self._stop.wait(self._reconnect_interval):
                        if self._open(CameraStatus.RECONNECTING):
                            break
                    next_due = time.monotonic()
                    continue
                thumb = _thumbnail(image)
                dark = float(thumb.mean()) < BLACK_LEVEL
                dark_since = (dark_since or now) if dark else None
                same = last_thumb is not None and float(np.abs(thumb - last_thumb).mean()) < FROZEN_EPSILON
                same_since = (same_since or now) if same else None
                last_thumb = thumb
                if dark_since is not None and now - dark_since >= self._black_after:
                    self._set(CameraStatus.BLACK, "frames are black")
                elif same_since is not None and now - same_since >= self._frozen_after:
                    self._set(CameraStatus.FROZEN, "frames do not change")
                else:
                    self._set(CameraStatus.STREAMING, "")
                self._slot.put(image)  # after the status, so a frame's waiter sees its status
                next_due += self._period
                delay = next_due - time.monotonic()
                if delay > 0:
                    self._stop.wait(delay)
                else:
                    next_due = time.monotonic()  # running late: do not try to catch up
        finally:
            self._source.release()

    def _read(self) -> Image | None:
        try:
            return self._source.read()
        except DeviceError as exc:
            log.warning("camera %s read failed: %s", self._source.name, exc)
            return None
