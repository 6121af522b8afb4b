"""Face and eye detection with OpenCV 4's Haar cascades, loaded offline from the installed wheel.

Why Haar from ``cv2.data``: the opencv-python(-headless) 4.x wheels ship the cascade XML files, so
nothing is downloaded at run time and no second model package is needed; the frontal-face cascade
finds upright, frontal faces -- exactly what an ID photo requires -- in a few milliseconds at the
sizes used here. OpenCV 5 wheels ship neither the cascades nor ``CascadeClassifier`` in the main
module, so the project pins ``opencv-python-headless>=4.10,<5`` (see docs/photo.md).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from drivers.camera.base import Image
from kiosk.errors import ConfigError, ConfigProblem

Box = tuple[int, int, int, int]  # x, y, width, height in source pixels

DETECT_WIDTH = 320  # faces are searched on a grey copy this wide (a 640x480 frame is halved)
EYE_ROI_WIDTH = 120  # the upper face is scaled to this width before looking for eyes
MIN_FACE_FRACTION = 0.08  # smallest face searched for, as a fraction of the frame width
MIN_WINDOW = 24  # the frontal-face cascade's window size in pixels


@dataclass(frozen=True)
class Face:
    """A detected face box and, when both were found, the eye centres (left-in-image first)."""

    box: Box
    eyes: tuple[tuple[float, float], tuple[float, float]] | None

    @property
    def centre(self) -> tuple[float, float]:
        x, y, w, h = self.box
        return x + w / 2, y + h / 2


def _cascade_path(name: str) -> Path:
    data = getattr(cv2, "data", None)
    folder = Path(getattr(data, "haarcascades", "")) if data is not None else Path()
    path = folder / name
    if not path.is_file():
        raise ConfigError(
            [
                ConfigProblem(
                    "opencv",
                    name,
                    "Haar cascade not found in cv2.data; install opencv-python-headless 4.x (5.x ships none)",
                )
            ]
        )
    return path


class FaceDetector:
    """Finds frontal faces and their eyes in BGR frames. Thread-safe (one lock per detector).

    Cascades are not documented as safe for concurrent use, so each detector serialises its calls;
    the live checks and the CLI each own one detector.
    """

    def __init__(self, *, scale_factor: float = 1.2, min_neighbors: int = 5) -> None:
        self._faces = cv2.CascadeClassifier(str(_cascade_path("haarcascade_frontalface_default.xml")))
        self._eyes = cv2.CascadeClassifier(str(_cascade_path("haarcascade_eye.xml")))
        if self._faces.empty() or self._eyes.empty():
            raise ConfigError(
                [ConfigProblem("opencv", "haarcascades", "a Haar cascade file could not be loaded")]
            )
        self._scale_factor = scale_factor
        self._min_neighbors = min_neighbors
        self._lock = threading.Lock()

    def detect(self, image: Image) -> list[Face]:
        """All faces in ``image`` (largest first), boxes in ``image`` pixels, with eyes where found."""
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        height, width = grey.shape[:2]
        scale = min(1.0, DETECT_WIDTH / width)
        if min(height, width) * scale < MIN_WINDOW:
            return []  # smaller than the cascade's window: no face can be found (and resize would fail)
        small = (
            grey if scale == 1.0 else cv2.resize(grey, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        )
        min_side = max(MIN_WINDOW, round(small.shape[1] * MIN_FACE_FRACTION))
        with self._lock:
            found = self._faces.detectMultiScale(
                small,
                scaleFactor=self._scale_factor,
                minNeighbors=self._min_neighbors,
                minSize=(min_side, min_side),
            )
            faces = []
            for sx, sy, sw, sh in found:
                box = (round(sx / scale), round(sy / scale), round(sw / scale), round(sh / scale))
                box = (int(box[0]), int(box[1]), int(box[2]), int(box[3]))
                faces.append(Face(box, self._find_eyes(grey, box)))
        faces.sort(key=lambda f: f.box[2] * f.box[3], reverse=True)
        return faces

    def _find_eyes(
        self, grey: np.ndarray, box: Box
    ) -> tuple[tuple[float, float], tuple[float, float]] | None:
        x, y, w, h = box
        # Eyes sit in the upper part of the Haar face box; searching only there avoids nostrils/mouth.
        top, bottom = y + round(h * 0.15), y + round(h * 0.6)
        roi = grey[max(0, top) : bottom, max(0, x) : x + w]
        if roi.size == 0:
            return None
        factor = EYE_ROI_WIDTH / roi.shape[1]
        roi = cv2.resize(roi, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
        eyes = self._eyes.detectMultiScale(
            roi, scaleFactor=1.1, minNeighbors=5, minSize=(14, 14), maxSize=(50, 50)
        )
        if len(eyes) < 2:
            return None
        # Keep the two largest, one on each half of the face.
        ranked = sorted(eyes, key=lambda e: e[2] * e[3], reverse=True)
        centres = [(float(ex + ew / 2), float(ey + eh / 2)) for ex, ey, ew, eh in ranked]
        mid = EYE_ROI_WIDTH / 2
        left = next((c for c in centres if c[0] < mid), None)
        right = next((c for c in centres if c[0] >= mid), None)
        if left is None or right is None:
            return None
        to_src = lambda c: (max(0, x) + c[0] / factor, max(0, top) + c[1] / factor)  # noqa: E731
        return to_src(left), to_src(right)
