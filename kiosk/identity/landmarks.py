"""68-point face landmarks of a camera frame and the geometry read from them.

Landmarks come from dlib's 68-point shape predictor (``contract.faces.landmarks``; its training set,
iBUG 300-W, excludes commercial use: a site that needs that swaps ``FaceLandmarker``, see README).
The geometry functions are pure and take the 68 points in dlib's order:

- ``eye_aspect_ratio``: eye opening (Soukupová & Čech 2016): ~0.3 open, ~0.1 closed.
- ``mouth_opening``: inner-lip gap over mouth width: ~0 closed, > 0.25 open.
- ``head_pose``: yaw, pitch, roll in degrees from a scaled-orthographic fit of a generic 3-D face.

All three are invariant under 2-D similarity transforms of the image (moving, turning in the image
plane, or scaling a photo leaves them unchanged), and yaw/pitch also survive a flat photo being
tilted (a horizontal or vertical squash): what changes them is a 3-D head.

Frames are BGR (``drivers.camera.base.Image``, the camera's layout); ``FaceLandmarker`` converts.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from contract.faces import FaceBox, detect_faces, landmarks

Point = tuple[float, float]

# dlib's 68-point indices (the subject's right eye is on the image's left)
RIGHT_EYE = range(36, 42)
LEFT_EYE = range(42, 48)
NOSE_TIP = 30
CHIN = 8
MOUTH_LEFT, MOUTH_RIGHT = 48, 54
INNER_LIP_TOP = (61, 62, 63)
INNER_LIP_BOTTOM = (67, 66, 65)

# A generic head (millimetre-like units) for the pose fit, in image-like axes: x to the image's
# right, y down, z away from the camera (right-handed). Points: nose tip, chin, outer eye corners,
# mouth corners; the usual six-point model (nose tip at the origin).
_MODEL_INDEX = (NOSE_TIP, CHIN, 36, 45, MOUTH_LEFT, MOUTH_RIGHT)
_MODEL_3D = np.array(
    [
        (0.0, 0.0, 0.0),
        (0.0, 330.0, 65.0),
        (-225.0, -170.0, 135.0),
        (225.0, -170.0, 135.0),
        (-150.0, 150.0, 125.0),
        (150.0, 150.0, 125.0),
    ]
)


@dataclass(frozen=True)
class HeadPose:
    """Degrees. yaw > 0: the nose points to the image's right (the resident's left on an unmirrored
    camera); pitch > 0: the nose points down; roll > 0: the eye line turns clockwise in the image."""

    yaw: float
    pitch: float
    roll: float


@dataclass(frozen=True)
class FaceObservation:
    """What one frame shows: how many faces, and the chosen face's box and 68 landmarks."""

    faces: int
    box: FaceBox | None = None
    points: tuple[Point, ...] = ()

    @property
    def single(self) -> bool:
        return self.faces == 1 and len(self.points) == 68


def _dist(a: Point, b: Point) -> float:
    return math.hypot(a[0] - b[0], a[1] - b[1])


def _ear(p: tuple[Point, ...], idx: range) -> float:
    p1, p2, p3, p4, p5, p6 = (p[i] for i in idx)
    width = _dist(p1, p4)
    return (_dist(p2, p6) + _dist(p3, p5)) / (2.0 * width) if width > 0 else 0.0


def eye_aspect_ratio(points: tuple[Point, ...]) -> tuple[float, float]:
    """(right eye, left eye) of the subject: eye height over eye width."""
    return _ear(points, RIGHT_EYE), _ear(points, LEFT_EYE)


def mouth_opening(points: tuple[Point, ...]) -> float:
    """The mean inner-lip gap over the mouth's width."""
    gap = sum(_dist(points[a], points[b]) for a, b in zip(INNER_LIP_TOP, INNER_LIP_BOTTOM, strict=True)) / 3
    width = _dist(points[MOUTH_LEFT], points[MOUTH_RIGHT])
    return gap / width if width > 0 else 0.0


def head_pose(points: tuple[Point, ...]) -> HeadPose:
    """The head's rotation from a scaled-orthographic fit of the generic model to six landmarks.

    The 2x3 camera matrix is fitted by least squares; its rows, normalised and orthogonalised, are
    the first two rows of the rotation. Decomposed as R = Rz(roll) Ry(yaw) Rx(pitch), an in-plane
    turn of the image only adds to roll, and a squash of a flat photo only rescales a row, so
    neither moves yaw or pitch.
    """
    image = np.array([points[i] for i in _MODEL_INDEX], dtype=np.float64)
    model = _MODEL_3D - _MODEL_3D.mean(axis=0)
    target = image - image.mean(axis=0)
    solution, *_ = np.linalg.lstsq(model, target, rcond=None)  # model @ solution ~ target
    a = solution.T  # 2x3
    r1 = a[0] / (np.linalg.norm(a[0]) or 1.0)
    r2 = a[1] - np.dot(a[1], r1) * r1
    r2 = r2 / (np.linalg.norm(r2) or 1.0)
    r3 = np.cross(r1, r2)
    yaw = math.degrees(math.asin(max(-1.0, min(1.0, float(r3[0])))))
    pitch = math.degrees(math.atan2(float(r3[1]), float(r3[2])))
    return HeadPose(yaw=yaw, pitch=pitch, roll=_roll(points))


def _roll(points: tuple[Point, ...]) -> float:
    (x1, y1), (x2, y2) = points[36], points[45]
    return math.degrees(math.atan2(y2 - y1, x2 - x1))


class FaceLandmarker:
    """Faces and 68-point landmarks of BGR frames, tracking between full detections.

    A full HOG detection (~0.1 s at 640x480 on this machine) runs every ``redetect_every`` frames
    and whenever the face is lost; in between, the landmarks are fitted in a box derived from the
    previous frame's landmarks (~2 ms), so the liveness check keeps up with a 15 fps camera.
    Thread-safe; frames are never kept.
    """

    def __init__(self, *, redetect_every: int = 5) -> None:
        self._redetect_every = max(1, redetect_every)
        self._count = 0
        self._box: FaceBox | None = None
        self._faces = 0
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._count, self._box, self._faces = 0, None, 0

    def observe(self, frame: npt.NDArray[np.uint8]) -> FaceObservation:
        rgb = np.ascontiguousarray(frame[:, :, ::-1]) if frame.ndim == 3 else frame
        with self._lock:
            full = self._box is None or self._count % self._redetect_every == 0
            self._count += 1
            if full:
                boxes = detect_faces(rgb)
                self._faces = len(boxes)
                if not boxes:
                    self._box = None
                    return FaceObservation(0)
                box = boxes[0]
            else:
                assert self._box is not None
                box = self._box
            points = tuple(landmarks(rgb, box, 68))
            self._box = _box_of(points, rgb.shape[1], rgb.shape[0])
            return FaceObservation(self._faces, box, points)


def _box_of(points: tuple[Point, ...], width: int, height: int) -> FaceBox:
    """A detector-like box around 68 landmarks (dlib's boxes span brows to chin, ear to ear)."""
    xs = [p[0] for p in points[:27]]
    ys = [p[1] for p in points[:27]]
    left, right, top, bottom = min(xs), max(xs), min(ys), max(ys)
    top -= 0.1 * (bottom - top)
    return FaceBox(
        max(0, int(left)),
        max(0, int(top)),
        min(width, math.ceil(right) + 1),
        min(height, math.ceil(bottom) + 1),
        1.0,
    )
