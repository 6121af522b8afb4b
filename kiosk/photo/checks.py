"""Per-frame photo checks: pure functions on a BGR frame, each with a measured value and a reason.

Every :class:`Check` says pass/fail, the value it measured (for the technician's ``--json`` and for
tuning) and a resident-facing message key from ``config/messages/photo.toml``. The live preview runs
them on every analysed frame to show one hint at a time; ``kiosk-tech id-photo`` runs them once.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace

import cv2
import numpy as np

from drivers.camera.base import Image
from kiosk.identity.landmarks import eye_aspect_ratio, head_pose, mouth_opening
from kiosk.photo.detect import Face, FaceDetector
from kiosk.photo.specs import PhotoSpec

HAIR_ABOVE_BOX = 0.38  # top of the hair above the Haar face box, as a fraction of the box height
SHARPNESS_WIDTH = 128  # the face is scaled to this width before measuring sharpness


@dataclass(frozen=True)
class Limits:
    """Thresholds of the checks (grey levels 0-255, fractions of the frame, degrees)."""

    min_face_px: int = 90  # a smaller face would be enlarged more than ~2.3x for the photo
    min_face_fraction: float = 0.2  # live: face box width / frame width; smaller = "come closer"
    max_face_fraction: float = 0.5  # live: larger = "move back"
    max_centre_offset_x: float = 0.1  # live: |face centre - frame centre| / frame width
    centre_y: float = 0.42  # live: where the face centre should sit, fraction of frame height
    max_centre_offset_y: float = 0.12
    max_roll_deg: float = 6.0
    min_sharpness: float = 40.0  # variance of the Laplacian on the face scaled to 128 px wide
    min_brightness: float = 70.0  # mean grey level of the face
    max_brightness: float = 210.0
    max_unevenness: float = 35.0  # |mean(left cheek) - mean(right cheek)|, cheeks placed by landmarks
    min_eye_aspect: float = 0.14  # each eye's height / width (open: 0.2-0.4, shut: ~0.1)
    max_mouth_opening: float = 0.2  # inner-lip gap / mouth width: a smile passes, an open mouth not
    max_yaw_deg: float = 15.0  # head turned left/right (3-D fit of the landmarks)
    max_pitch_deg: float = 30.0  # head up/down: lenient, the generic head model biases it by ~10-20
    frame_min_brightness: float = 35.0  # no face found: the whole frame is judged, more leniently
    frame_max_brightness: float = 245.0


@dataclass(frozen=True)
class Check:
    """One check: ``name``, pass/fail, the measured ``value`` and the resident-facing ``message`` key."""

    name: str
    passed: bool
    value: float | None
    message: str

    def as_dict(self) -> dict[str, object]:
        data = asdict(self)
        if isinstance(self.value, float):
            data["value"] = round(self.value, 3)
        return data


@dataclass(frozen=True)
class Assessment:
    """All checks on one frame, in hint order, and the face they measured (if exactly one)."""

    checks: tuple[Check, ...]
    face: Face | None
    frame_size: tuple[int, int]  # width, height
    extra: dict[str, float] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return all(c.passed for c in self.checks)

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def hint(self) -> str:
        """The one message key to show now: the first failure, or ``photo.hint.hold_still``."""
        failures = self.failures
        return failures[0].message if failures else "photo.hint.hold_still"


def crop_rect(face: Face, spec: PhotoSpec) -> tuple[float, float, float, float]:
    """The source rectangle (x, y, w, h) that becomes ``spec``'s photo, positioned from the face box."""
    x, y, w, h = face.box
    scale = spec.target_face_width / w
    crop_w, crop_h = spec.width / scale, spec.height / scale
    head_top = y - HAIR_ABOVE_BOX * h
    return x + w / 2 - crop_w / 2, head_top - spec.target_head_top / scale, crop_w, crop_h


def _face_region(grey: np.ndarray, face: Face) -> np.ndarray:
    x, y, w, h = face.box
    return grey[max(0, y) : y + h, max(0, x) : x + w]


def check_count(faces: list[Face]) -> Check:
    n = len(faces)
    message = "photo.hint.no_face" if n == 0 else "photo.hint.many_faces"
    return Check("face_count", n == 1, float(n), message)


def check_size(face: Face, frame_width: int, limits: Limits, live: bool) -> Check:
    w = face.box[2]
    fraction = w / frame_width
    if w < limits.min_face_px:
        return Check(
            "face_size", False, float(w), "photo.hint.closer" if live else "photo.hint.face_too_small"
        )
    if live and fraction < limits.min_face_fraction:
        return Check("face_size", False, fraction, "photo.hint.closer")
    if live and fraction > limits.max_face_fraction:
        return Check("face_size", False, fraction, "photo.hint.farther")
    return Check("face_size", True, fraction if live else float(w), "photo.hint.closer")


def check_centring(face: Face, size: tuple[int, int], limits: Limits) -> Check:
    """Live only: is the face inside the head outline drawn on the preview?"""
    cx, cy = face.centre
    dx = abs(cx / size[0] - 0.5) / limits.max_centre_offset_x
    dy = abs(cy / size[1] - limits.centre_y) / limits.max_centre_offset_y
    offset = max(dx, dy)  # <= 1 inside the tolerance box
    return Check("centring", offset <= 1.0, offset, "photo.hint.centre")


def check_framing(face: Face, size: tuple[int, int], spec: PhotoSpec) -> Check:
    """The spec's crop must lie inside the image: we never invent pixels around a head."""
    cx, cy, cw, ch = crop_rect(face, spec)
    outside = max(0.0, -cx, -cy, cx + cw - size[0], cy + ch - size[1])
    return Check("framing", outside <= 1.0, outside, "photo.hint.framing")


def check_roll(face: Face, limits: Limits) -> Check:
    if face.eyes is None:
        return Check("head_roll", False, None, "photo.hint.face_camera")
    (lx, ly), (rx, ry) = face.eyes
    angle = math.degrees(math.atan2(ry - ly, rx - lx))
    return Check("head_roll", abs(angle) <= limits.max_roll_deg, angle, "photo.hint.level")


def check_head_pose(face: Face, limits: Limits) -> Check:
    """GA 461: the face looks straight at the camera (not turned left/right, up/down)."""
    if face.points is None:
        return Check("head_pose", False, None, "photo.hint.face_camera")
    pose = head_pose(face.points)
    ok = abs(pose.yaw) <= limits.max_yaw_deg and abs(pose.pitch) <= limits.max_pitch_deg
    return Check("head_pose", ok, pose.yaw, "photo.hint.face_camera")


def check_eyes_open(face: Face, limits: Limits) -> Check:
    """GA 461: both eyes open (the narrower eye's aspect ratio)."""
    if face.points is None:
        return Check("eyes_open", False, None, "photo.hint.eyes_open")
    value = min(eye_aspect_ratio(face.points))
    return Check("eyes_open", value >= limits.min_eye_aspect, value, "photo.hint.eyes_open")


def check_mouth_closed(face: Face, limits: Limits) -> Check:
    """GA 461: natural expression, mouth closed."""
    if face.points is None:
        return Check("mouth_closed", False, None, "photo.hint.mouth_closed")
    value = mouth_opening(face.points)
    return Check("mouth_closed", value <= limits.max_mouth_opening, value, "photo.hint.mouth_closed")


def cheek_regions(grey: np.ndarray, face: Face) -> tuple[np.ndarray, np.ndarray] | None:
    """Two square patches on the cheeks, placed and sized by the landmarks (image-left first).

    Each is centred between the jaw line, the nose wing and the lower eyelid on its side, and as
    wide as 40 % of the distance from jaw to nose wing: the same skin whatever the framing, the
    hair or the background (the halves of the detector's box shifted with all three).
    """
    if face.points is None:
        return None
    p = face.points
    height, width = grey.shape[:2]
    out = []
    for jaw, nose, lid in ((2, 31, 41), (14, 35, 46)):
        cx = (p[jaw][0] + p[nose][0] + p[lid][0]) / 3
        cy = (p[jaw][1] + p[nose][1] + p[lid][1]) / 3
        half = 0.2 * math.hypot(p[nose][0] - p[jaw][0], p[nose][1] - p[jaw][1])
        x0, x1 = max(0, round(cx - half)), min(width, round(cx + half) + 1)
        y0, y1 = max(0, round(cy - half)), min(height, round(cy + half) + 1)
        if x1 - x0 < 2 or y1 - y0 < 2:
            return None
        out.append(grey[y0:y1, x0:x1])
    return out[0], out[1]


def check_sharpness(region: np.ndarray, limits: Limits) -> Check:
    factor = SHARPNESS_WIDTH / max(1, region.shape[1])
    scaled = cv2.resize(region, None, fx=factor, fy=factor, interpolation=cv2.INTER_AREA)
    value = float(cv2.Laplacian(scaled, cv2.CV_64F).var())
    return Check("sharpness", value >= limits.min_sharpness, value, "photo.hint.blurred")


def check_exposure(region: np.ndarray, limits: Limits) -> Check:
    mean = float(region.mean()) if region.size else 0.0
    if mean < limits.min_brightness:
        return Check("exposure", False, mean, "photo.hint.too_dark")
    if mean > limits.max_brightness:
        return Check("exposure", False, mean, "photo.hint.too_bright")
    return Check("exposure", True, mean, "photo.hint.too_dark")


def check_evenness(grey: np.ndarray, face: Face, limits: Limits) -> Check:
    """Light falls evenly: the two cheeks (``cheek_regions``) differ little in mean grey level."""
    cheeks = cheek_regions(grey, face)
    if cheeks is None:
        return Check("evenness", False, None, "photo.hint.uneven")
    diff = abs(float(cheeks[0].mean()) - float(cheeks[1].mean()))
    return Check("evenness", diff <= limits.max_unevenness, diff, "photo.hint.uneven")


def check_background(image: Image, face: Face, spec: PhotoSpec) -> Check:
    """Plain light backdrop: the strips beside and above the head inside the spec's crop."""
    height, width = image.shape[:2]
    x, y, w, h = face.box
    cx, cy, cw, _ = crop_rect(face, spec)
    left, top = max(0, int(cx)), max(0, int(cy))
    right, bottom = min(width, int(cx + cw)), min(height, int(y + h * 0.5))
    hair_top = max(top, int(y - HAIR_ABOVE_BOX * h))
    margin = int(w * 0.3)  # hair and ears extend past the Haar box
    patches = [
        image[top:bottom, left : max(left, x - margin)],
        image[top:bottom, min(right, x + w + margin) : right],
        image[top : max(top, hair_top - 2), left:right],
    ]
    pixels = [p.reshape(-1, 3) for p in patches if p.size >= 3 * 50]
    if not pixels:
        return Check("background", False, None, "photo.hint.framing")
    sample = np.concatenate(pixels)[None, :, :]
    grey = cv2.cvtColor(sample, cv2.COLOR_BGR2GRAY)
    saturation = cv2.cvtColor(sample, cv2.COLOR_BGR2HSV)[..., 1]
    brightness, spread = float(grey.mean()), float(grey.std())
    limits = spec.background
    ok = (
        brightness >= limits.min_brightness
        and spread <= limits.max_unevenness
        and float(saturation.mean()) <= limits.max_saturation
    )
    return Check("background", ok, brightness, "photo.hint.background")


def assess(
    image: Image,
    detector: FaceDetector,
    spec: PhotoSpec,
    *,
    limits: Limits | None = None,
    live: bool = True,
) -> Assessment:
    """Run every check on ``image``. ``live`` adds centring in the preview; offline it checks framing."""
    limits = limits or Limits()
    height, width = image.shape[:2]
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    faces = detector.detect(image)
    count = check_count(faces)
    if not count.passed:
        # Without one face only the frame's light can be judged; a black frame says "too dark".
        frame_limits = replace(
            limits, min_brightness=limits.frame_min_brightness, max_brightness=limits.frame_max_brightness
        )
        exposure = check_exposure(grey[::4, ::4], frame_limits)
        failed: tuple[Check, ...] = (exposure, count) if not exposure.passed else (count,)
        return Assessment(failed, None, (width, height))
    face = faces[0]
    region = _face_region(grey, face)
    checks = (
        check_exposure(region, limits),
        count,
        check_size(face, width, limits, live),
        check_centring(face, (width, height), limits) if live else check_framing(face, (width, height), spec),
        check_roll(face, limits),
        check_head_pose(face, limits),
        check_eyes_open(face, limits),
        check_mouth_closed(face, limits),
        check_sharpness(region, limits),
        check_evenness(grey, face, limits),
        check_background(image, face, spec),
    )
    return Assessment(checks, face, (width, height))
