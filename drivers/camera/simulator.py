"""``SimulatedCamera``: plays image files or a video from a folder in a loop, with fault injection.

With no folder it shows the built-in demo portrait (see :mod:`drivers.camera.samples`). Like a real
sensor, every frame carries a little noise, so a working simulated camera is never "frozen";
the ``FROZEN`` fault turns the noise off. Faults are driven by tests and the maintenance screen.
"""

from __future__ import annotations

import enum
import itertools
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from drivers.camera.base import Image
from drivers.camera.samples import cached_portrait
from drivers.camera.threaded import ThreadedCamera
from drivers.errors import DeviceNotFound

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp"}
VIDEO_SUFFIXES = {".mp4", ".avi", ".mkv", ".mov"}


class Fault(enum.Enum):
    """Faults the simulator can fake."""

    GONE = "gone"  # unplugged: reads fail and reopening fails until cleared
    BLACK = "black"  # frames are all black
    FROZEN = "frozen"  # the same frame again and again


def _fit(image: Image, width: int, height: int) -> Image:
    if image.shape[1::-1] == (width, height):
        return image
    return cv2.resize(image, (width, height), interpolation=cv2.INTER_AREA)


def load_folder(folder: Path, width: int, height: int) -> list[Image]:
    """All images in ``folder`` (sorted by name), and every frame of its videos, scaled to the frame size."""
    if not folder.is_dir():
        raise DeviceNotFound(f"simulator folder {folder} does not exist", device="camera", port="simulated")
    frames: list[Image] = []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix in IMAGE_SUFFIXES:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                frames.append(_fit(image, width, height))
        elif suffix in VIDEO_SUFFIXES:
            cap = cv2.VideoCapture(str(path))
            try:
                while True:
                    ok, image = cap.read()
                    if not ok:
                        break
                    frames.append(_fit(image, width, height))
            finally:
                cap.release()
    if not frames:
        raise DeviceNotFound(f"no readable images or videos in {folder}", device="camera", port="simulated")
    return frames


class SimulatedSource:
    """The frame source behind :class:`SimulatedCamera`."""

    def __init__(self, frames: list[Image], *, noise: int = 2, seed: int = 0) -> None:
        self.name = "simulated"
        self._frames = frames
        self._cycle: Iterator[Image] = itertools.cycle(frames)
        rng = np.random.default_rng(seed)
        shape = frames[0].shape
        self.frame_shape = shape
        # A few precomputed noise fields: cheap per frame, and enough to make frames differ.
        self._noise = (
            [rng.integers(-noise, noise + 1, shape, dtype=np.int16) for _ in range(4)] if noise else []
        )
        self._noise_index = 0
        self._lock = threading.Lock()
        self._fault: Fault | None = None
        self._scene: Image | None = None  # something held up to the camera (hold_up)
        self._blink: Image | None = None  # the demo face with closed eyes, during a blink
        self._blink_frames = 0
        self._last: Image | None = None
        self._open = False

    def set_fault(self, fault: Fault | None) -> None:
        with self._lock:
            self._fault = fault

    def set_scene(self, image: Image | None) -> None:
        with self._lock:
            self._scene = image

    def blink(self, image: Image, frames: int) -> None:
        with self._lock:
            self._blink, self._blink_frames = image, frames

    def open(self) -> None:
        with self._lock:
            if self._fault is Fault.GONE:
                raise DeviceNotFound("simulated camera unplugged", device="camera", port="simulated")
            self._open = True

    def read(self) -> Image | None:
        with self._lock:
            fault, scene = self._fault, self._scene
            if fault is Fault.GONE or not self._open:
                return None
            if scene is None and self._blink_frames > 0:
                scene, self._blink_frames = self._blink, self._blink_frames - 1
        if fault is Fault.FROZEN and self._last is not None:
            return self._last.copy()
        base = next(self._cycle) if scene is None else scene
        if fault is Fault.BLACK:
            return np.zeros_like(base)
        if self._noise:
            noise = self._noise[self._noise_index]
            self._noise_index = (self._noise_index + 1) % len(self._noise)
            image: Image = np.clip(base.astype(np.int16) + noise, 0, 255).astype(np.uint8)
        else:
            image = base.copy()
        self._last = image
        return image

    def release(self) -> None:
        with self._lock:
            self._open = False


class SimulatedCamera(ThreadedCamera):
    """A camera that plays ``folder`` (images and videos) or, without one, the demo portrait."""

    simulated = True

    def __init__(
        self,
        folder: Path | None = None,
        *,
        width: int = 640,
        height: int = 480,
        fps: float = 15.0,
        frames: list[Image] | None = None,
        reconnect_interval: float = 0.5,
        frozen_after: float = 2.0,
        black_after: float = 1.0,
        cache_dir: Path | None = None,
    ) -> None:
        self._demo_face = frames is None and folder is None
        self._size = (width, height)
        self._closed_eyes: Image | None = None
        self._cache_dir = cache_dir  # the demo face's frames, composed once (samples.cached_portrait)
        if frames is None:
            if folder is None:
                frames = [cached_portrait(cache_dir, width, height)]
            else:
                frames = load_folder(folder, width, height)
        self.source = SimulatedSource(frames)
        super().__init__(
            self.source,
            fps=fps,
            reconnect_interval=reconnect_interval,
            frozen_after=frozen_after,
            black_after=black_after,
        )

    def inject(self, fault: Fault | None) -> None:
        """Start faking ``fault`` (None clears it); the capture thread reacts within one frame."""
        self.source.set_fault(fault)

    @property
    def can_blink(self) -> bool:
        """Whether :meth:`blink` does anything: only the built-in demo face can blink."""
        return self._demo_face

    def blink(self, frames: int = 3) -> None:
        """The demo face closes its eyes for ``frames`` frames (then opens them): demo mode plays
        this for the liveness challenge "blink". A synthetic blink of a still photo: it shows the
        path runs, not that liveness works on people (docs/identity.md)."""
        if not self._demo_face:
            return
        if self._closed_eyes is None:
            self._closed_eyes = cached_portrait(self._cache_dir, *self._size, eyes_closed=True)
        self.source.blink(self._closed_eyes, frames)

    def hold_up(self, image: Image | None) -> None:
        """Show ``image`` (same size as the frames) instead of the usual frames, as if something were
        held up to the lens (a receipt's QR code); None puts the usual frames back."""
        if image is not None and image.shape != self.source.frame_shape:
            image = _fit(image, self.source.frame_shape[1], self.source.frame_shape[0])
        self.source.set_scene(image)
