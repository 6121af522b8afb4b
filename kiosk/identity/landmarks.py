"""68-point face landmarks of a camera frame and the geometry read from them.

Landmarks come from dlib's 68-point shape predictor (``contract.faces.landmarks``; its training set,
iBUG 300-W, excludes commercial use: a site that needs that swaps ``FaceLandmarker``, see README).
The geometry functions are pure and take the 68 points in dlib's order:

- ``eye_aspect_ratio``: eye opening (Soukupová & Čech 2016): ~0.3 open, ~0.1 closed.
- ``eye_openness``: the eyes' area relative to a rigid face triangle, unchanged by any affine map
  of the image (what the blink challenge uses).
- ``mouth_opening``: inner-lip gap over mouth width: ~0 closed, > 0.25 open.
- ``head_pose``: yaw, pitch, roll in degrees from a scaled-orthographic fit of a generic 3-D face.

All are invariant under 2-D similarity transforms of the image (moving, turning in the image plane,
or scaling a photo leaves them unchanged); ``eye_openness`` and the yaw and pitch of ``head_pose``
are also invariant under every affine map, so a flat photo tilted in front of the camera (seen in
weak perspective, an affine map of the photo) does not move them either: a 3-D head does.

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


def _area(points: list[Point]) -> float:
    """The area of a simple polygon (shoelace)."""
    total = 0.0
    for (x1, y1), (x2, y2) in zip(points, points[1:] + points[:1], strict=True):
        total += x1 * y2 - x2 * y1
    return abs(total) / 2


def eye_openness(points: tuple[Point, ...]) -> float:
    """Both eyes' area over the area of the triangle outer eye corners - nose base.

    A ratio of areas is unchanged by every affine map of the image, so moving, turning, scaling or
    tilting a flat photo in front of the camera (a weak-perspective view of a plane is affine)
    leaves it where it was, whereas the eye aspect ratio moves when a photo is tilted forward.
    It falls towards 0 when the eyes close.
    """
    eyes = _area([points[i] for i in RIGHT_EYE]) + _area([points[i] for i in LEFT_EYE])
    reference = _area([points[36], points[45], points[33]])
    return eyes / reference if reference > 0 else 0.0


def mouth_opening(points: tuple[Point, ...]) -> float:
    """The mean inner-lip gap over the mouth's width."""
    gap = sum(_dist(points[a], points[b]) for a, b in zip(INNER_LIP_TOP, INNER_LIP_BOTTOM, strict=True)) / 3
    width = _dist(points[MOUTH_LEFT], points[MOUTH_RIGHT])
    return gap / width if width > 0 else 0.0


def head_pose(points: tuple[Point, ...]) -> HeadPose:
    """The head's rotation from a scaled-orthographic fit of the generic model to six landmarks.

    The 2x3 camera matrix is fitted by least squares; its rows, normalised and orthogonalised, are
    the first two rows of the rotation, and the viewing direction (their cross product) gives yaw
    and pitch. Any affine map T of the image (moving, turning, scaling, tilting a flat photo)
    changes the fitted matrix to T @ A: the same row space, so the same viewing direction, and
    yaw and pitch stay. Roll is read from the eye line.
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
    (it counts the faces) and whenever the face is lost; in between, the face is detected again
    only in a window around its last box (three face widths wide: ~10-25 ms), so the landmarks
    always come from a detector box, as the 68-point model was trained. (Fitting them in a box
    made from the previous landmarks lags a moving face and shifts them by tens of degrees of
    apparent yaw.) Faces from ~80 px wide are found (no upsampling: an empty frame costs one
    detection, not five). Thread-safe; frames are never kept.
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
                boxes = detect_faces(rgb, upsample_if_none=False)
                self._faces = len(boxes)
                if not boxes:
                    self._box = None
                    return FaceObservation(0)
                box = boxes[0]
            else:
                assert self._box is not None
                found = _detect_near(rgb, self._box)
                if found is None:
                    boxes = detect_faces(rgb, upsample_if_none=False)
                    self._faces = len(boxes)
                    if not boxes:
                        self._box = None
                        return FaceObservation(0)
                    found = boxes[0]
                box = found
            self._box = box
            return FaceObservation(self._faces, box, tuple(landmarks(rgb, box, 68)))


def _detect_near(rgb: npt.NDArray[np.uint8], last: FaceBox) -> FaceBox | None:
    """The largest face in a window one face width around ``last``, in frame pixels."""
    height, width = rgb.shape[:2]
    margin = last.width
    left, top = max(0, last.left - margin), max(0, last.top - margin)
    right, bottom = min(width, last.right + margin), min(height, last.bottom + margin)
    if right - left < 16 or bottom - top < 16:
        return None
    boxes = detect_faces(rgb[top:bottom, left:right], upsample_if_none=False)
    if not boxes:
        return None
    b = boxes[0]
    return FaceBox(b.left + left, b.top + top, b.right + left, b.bottom + top, b.score)
