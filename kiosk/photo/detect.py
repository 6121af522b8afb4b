"""Face detection for the photo step: OpenCV 4's Haar face cascade for the box, dlib's 68-point
landmarks inside it for everything the GA 461 rules look at (eyes, mouth, head pose, cheeks).

Why Haar for the box: the opencv-python(-headless) 4.x wheels ship the cascade XML files, and the
frontal-face cascade finds upright, frontal faces -- exactly what an ID photo requires -- in a few
milliseconds, so the live checks keep their frame rate (dlib's HOG detector takes ~0.1 s a frame).
OpenCV 5 wheels ship neither the cascades nor ``CascadeClassifier`` in the main module, so the
project pins ``opencv-python-headless>=4.10,<5`` (see docs/photo.md).

Why landmarks for the rest: the Haar eye cascade only finds eye-like blobs (open or shut) and the
face box shifts with hair and background; dlib's shape predictor (``contract.faces.landmarks``,
~2 ms in a box) places the eyelids, lips, nose and jaw, and measures defined on them do not move
with framing or scale. The Haar box is mapped to the box dlib's predictor was trained on
(``HAAR_TO_DLIB``, measured on the fixture photos). The 68-point model's training data (iBUG
300-W) excludes commercial use: see README, "Face model".
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from contract.faces import FaceBox, MatcherUnavailable, landmarks
from drivers.camera.base import Image
from kiosk.errors import ConfigError, ConfigProblem

Box = tuple[int, int, int, int]  # x, y, width, height in source pixels
Point = tuple[float, float]

DETECT_WIDTH = 320  # faces are searched on a grey copy this wide (a 640x480 frame is halved)
# dlib's detector box relative to the Haar box (x offset, y offset, size, as fractions of the Haar
# box): measured on the fixture photos and LFW faces, mean (0.02, 0.12, 0.93), spread ~0.05-0.09
HAAR_TO_DLIB = (0.03, 0.14, 0.91)
MIN_FACE_FRACTION = 0.08  # smallest face searched for, as a fraction of the frame width
MIN_WINDOW = 24  # the frontal-face cascade's window size in pixels


@dataclass(frozen=True)
class Face:
    """A detected face box, the eye centres (left-in-image first) and the 68 landmarks, if found."""

    box: Box
    eyes: tuple[tuple[float, float], tuple[float, float]] | None
    points: tuple[Point, ...] | None = None

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
    """Finds frontal faces and the largest one's landmarks in BGR frames. Thread-safe (one lock per
    detector).

    Cascades are not documented as safe for concurrent use, so each detector serialises its calls;
    the live checks and the CLI each own one detector.
    """

    def __init__(self, *, scale_factor: float = 1.2, min_neighbors: int = 5) -> None:
        self._faces = cv2.CascadeClassifier(str(_cascade_path("haarcascade_frontalface_default.xml")))
        if self._faces.empty():
            raise ConfigError(
                [ConfigProblem("opencv", "haarcascades", "a Haar cascade file could not be loaded")]
            )
        self._scale_factor = scale_factor
        self._min_neighbors = min_neighbors
        self._lock = threading.Lock()

    def detect(self, image: Image) -> list[Face]:
        """All faces in ``image`` (largest first), boxes in ``image`` pixels; the largest with its
        landmarks and eye centres (the checks judge that one)."""
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
            boxes = []
            for sx, sy, sw, sh in found:
                box = (round(sx / scale), round(sy / scale), round(sw / scale), round(sh / scale))
                boxes.append((int(box[0]), int(box[1]), int(box[2]), int(box[3])))
        boxes.sort(key=lambda b: b[2] * b[3], reverse=True)
        faces = [Face(box, None) for box in boxes]
        if faces:
            faces[0] = _with_landmarks(image, faces[0])
        return faces


def _with_landmarks(image: Image, face: Face) -> Face:
    """``face`` with dlib's 68 landmarks fitted in the box mapped from Haar's, and eye centres."""
    x, y, w, h = face.box
    dx, dy, size = HAAR_TO_DLIB
    left, top = round(x + dx * w), round(y + dy * h)
    box = FaceBox(left, top, left + round(size * w), top + round(size * h))
    rgb = np.ascontiguousarray(image[:, :, ::-1]) if image.ndim == 3 else image
    try:
        points = tuple(landmarks(rgb, box, 68))
    except MatcherUnavailable as exc:
        raise ConfigError([ConfigProblem("dlib", "landmarks", str(exc))]) from exc
    left_eye = np.mean(points[36:42], axis=0)
    right_eye = np.mean(points[42:48], axis=0)
    eyes = ((float(left_eye[0]), float(left_eye[1])), (float(right_eye[0]), float(right_eye[1])))
    return Face(face.box, eyes, points)
