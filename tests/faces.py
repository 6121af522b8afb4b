"""Face images for the identity tests, all built from pictures inside installed packages (no real
resident data, nothing downloaded): scikit-image's astronaut (the demo face) and an LFW face."""

from __future__ import annotations

import base64
from typing import Any

import cv2
import numpy as np

from drivers.camera.samples import portrait
from kiosk.queue.demo_register import demo_face_jpeg, other_face_jpeg

__all__ = ["b64", "blank_jpeg", "demo_face_jpeg", "live_face_jpeg", "other_face_jpeg", "two_faces_jpeg"]


def _jpeg(bgr: Any) -> bytes:
    ok, buf = cv2.imencode(".jpg", bgr, [cv2.IMWRITE_JPEG_QUALITY, 90])
    assert ok
    return bytes(buf.tobytes())


def live_face_jpeg() -> bytes:
    """The demo person as the camera might see her at the kiosk: off-centre, nearer, darker."""
    frame = portrait(shift=(40, -10), scale=1.9).astype(np.float32) * 0.8
    return _jpeg(frame.astype(np.uint8))


def two_faces_jpeg() -> bytes:
    return _jpeg(np.hstack([portrait(320, 480, scale=1.4), portrait(320, 480, scale=1.4)]))


def blank_jpeg() -> bytes:
    return _jpeg(np.full((480, 640, 3), 200, np.uint8))


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
