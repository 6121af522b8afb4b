"""``OpenCvCamera``: a V4L2/UVC camera (or a video file) through OpenCV's ``VideoCapture``.

Only ``open``/``read``/``release`` of OpenCV are used (the :class:`CvSource` seam); pacing,
reconnects and status come from :class:`~drivers.camera.threaded.ThreadedCamera`.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2

from drivers.camera.base import Image
from drivers.camera.threaded import ThreadedCamera
from drivers.errors import DeviceNotFound, DevicePermissionDenied


class CvSource:
    """A ``cv2.VideoCapture`` on a device index (``0``) or a path (``/dev/video0``, a video file)."""

    def __init__(self, device: int | str, width: int | None = None, height: int | None = None) -> None:
        self.device = device
        self.name = f"index {device}" if isinstance(device, int) else str(device)
        self._width = width
        self._height = height
        self._cap: cv2.VideoCapture | None = None

    def open(self) -> None:
        if isinstance(self.device, str):
            path = Path(self.device)
            if not path.exists():
                raise DeviceNotFound(f"no camera at {path}", device="camera", port=self.name)
            if not os.access(path, os.R_OK):
                raise DevicePermissionDenied(
                    f"no permission to open {path} (is the user in the 'video' group?)",
                    device="camera",
                    port=self.name,
                )
        cap = cv2.VideoCapture(self.device)
        if not cap.isOpened():
            cap.release()
            raise DeviceNotFound("camera could not be opened", device="camera", port=self.name)
        # Keep the driver's queue short: we want the newest frame, not a backlog.
        cap.set(cv2.CAP_PROP_BUFFERSIZE, 1)
        if self._width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, self._width)
        if self._height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, self._height)
        self._cap = cap

    def read(self) -> Image | None:
        if self._cap is None:
            return None
        ok, image = self._cap.read()
        if not ok or image is None:
            return None
        if image.ndim == 2:
            image = cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
        if self._width and self._height and image.shape[1::-1] != (self._width, self._height):
            # Some cameras ignore the requested size; scale so downstream sees what was configured.
            image = cv2.resize(image, (self._width, self._height), interpolation=cv2.INTER_AREA)
        return image

    def release(self) -> None:
        if self._cap is not None:
            self._cap.release()
            self._cap = None


class OpenCvCamera(ThreadedCamera):
    """A real camera. ``device`` is an index or a path; a video file plays and loops (reopened at its end)."""

    simulated = False

    def __init__(
        self,
        device: int | str = 0,
        *,
        width: int | None = 640,
        height: int | None = 480,
        fps: float = 30.0,
        reconnect_interval: float = 1.0,
    ) -> None:
        super().__init__(CvSource(device, width, height), fps=fps, reconnect_interval=reconnect_interval)
