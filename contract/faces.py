"""1:1 face matching shared by the kiosk (card photo) and the backend (register photo).

The interface is ``FaceMatcher``: a template from an RGB image, the similarity of two templates
(in [0, 1], higher = more alike) and the matcher's own threshold. ``DlibMatcher`` implements it with
dlib's ResNet metric model (``dlib_face_recognition_resnet_model_v1``, 99.38 % on LFW as published
by dlib), whose weights ship inside the ``face_recognition_models`` package (nothing is downloaded at
run time). A site with a licensed SDK plugs in its own class with ``load_matcher("module:Class")``.

This module needs numpy, Pillow and dlib (``dlib-bin``), all imported lazily so that importing
``contract`` alone stays cheap for code that never matches a face; it never imports OpenCV, so the
backend's install needs neither Kivy nor OpenCV.

Privacy: templates and images live in memory only. Nothing here logs or writes a template; the
template's ``repr`` leaves the vector out so that an accidental log line cannot carry it.
"""

from __future__ import annotations

import importlib
import io
import math
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

    RGBImage = npt.NDArray[np.uint8]
    Vector = npt.NDArray[np.float32]

__all__ = [
    "DLIB_MODEL",
    "DlibMatcher",
    "FaceBox",
    "FaceMatcher",
    "FaceTemplate",
    "FaceUnusable",
    "MatcherUnavailable",
    "decode_image",
    "default_matcher",
    "is_match",
    "load_matcher",
    "pick_face",
]

DLIB_MODEL = "dlib_face_recognition_resnet_model_v1"

# Detection runs on a copy whose long side is at most this (HOG cost grows with the pixel count:
# 0.13 s at 512x512, 0.9 s at 2333x1434 on this machine); landmarks and the descriptor are then
# computed on the full-resolution image, so a large photo loses nothing.
DETECT_LONG_SIDE = 640
# An image at most this long (the ID card's 102x126 photo) is searched with 2x upsampling at once.
SMALL_IMAGE = 200
# Smallest face that gives a usable template, as the face box width in source pixels (dlib's
# descriptor works on a 150x150 chip; below ~40 px the chip is mostly interpolation).
MIN_FACE_PX = 40
# A second detection makes the image "several_faces" only when it is a confident detection
# (HOG score; real faces in the fixtures score 0.78-2.2) and at least this wide relative to the
# largest face. Weaker or smaller detections are ignored: scikit-image's astronaut photo yields a
# second, false detection of score 0.12 (a patch on her suit), and a bystander far behind the
# resident is not the person being verified.
SECOND_FACE_MIN_SCORE = 0.5
SECOND_FACE_MIN_WIDTH_RATIO = 0.6

UNUSABLE_REASONS = ("unreadable", "no_face", "several_faces", "face_too_small")
_MESSAGES = {
    "unreadable": "the image could not be read",
    "no_face": "no face was found in the image",
    "several_faces": "more than one face is in the image",
    "face_too_small": "the face is too small to compare",
}


class FaceUnusable(ValueError):
    """An image from which no template can be made; ``reason`` is one of ``UNUSABLE_REASONS``."""

    def __init__(self, reason: str, detail: str = "") -> None:
        if reason not in _MESSAGES:
            raise ValueError(f"unknown FaceUnusable reason {reason!r}")
        self.reason = reason
        message = _MESSAGES[reason]
        super().__init__(f"{message} ({detail})" if detail else message)


class MatcherUnavailable(RuntimeError):
    """The face matcher cannot be built: a missing package, a bad ``module:Class`` spec."""


@dataclass(frozen=True, eq=False)
class FaceTemplate:
    """A face's feature vector (float32, shape (128,) for dlib) and the model that made it.

    Templates of different models are not comparable; ``similarity`` refuses them. The vector is
    left out of ``repr`` so a template never lands in a log line by accident.
    """

    vector: Vector = field(repr=False)
    model: str


@dataclass(frozen=True)
class FaceBox:
    """A detected face in source pixels (right/bottom exclusive) with the detector's score."""

    left: int
    top: int
    right: int
    bottom: int
    score: float = 0.0

    @property
    def width(self) -> int:
        return self.right - self.left

    @property
    def height(self) -> int:
        return self.bottom - self.top


@runtime_checkable
class FaceMatcher(Protocol):
    """A 1:1 face matcher: what the kiosk and the backend need of any face model or SDK."""

    name: str
    threshold: float

    def template(self, rgb: RGBImage) -> FaceTemplate:
        """The template of the one face in ``rgb`` (HxWx3 uint8, RGB). Raises ``FaceUnusable``."""
        ...

    def similarity(self, a: FaceTemplate, b: FaceTemplate) -> float:
        """How alike two templates are, in [0, 1]; ``>= threshold`` is the same person."""
        ...


def is_match(matcher: FaceMatcher, a: FaceTemplate, b: FaceTemplate) -> bool:
    """Whether ``a`` and ``b`` are the same person by ``matcher``'s own threshold."""
    return matcher.similarity(a, b) >= matcher.threshold


def decode_image(data: bytes) -> RGBImage:
    """JPEG/PNG/BMP bytes as an RGB uint8 array (EXIF rotation applied). Raises ``FaceUnusable``."""
    import numpy as np
    from PIL import Image, ImageOps, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            img.load()
            upright = ImageOps.exif_transpose(img)
            rgb = upright.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as exc:
        raise FaceUnusable("unreadable", type(exc).__name__) from exc
    return np.ascontiguousarray(np.asarray(rgb, dtype=np.uint8))


def pick_face(boxes: list[FaceBox]) -> FaceBox:
    """The face to use among ``boxes``: the largest; ``FaceUnusable`` for none or two large faces.

    A second face counts only if the detector is confident of it and it is at least
    ``SECOND_FACE_MIN_WIDTH_RATIO`` of the largest face's width (see the constants above).
    """
    if not boxes:
        raise FaceUnusable("no_face")
    ordered = sorted(boxes, key=lambda b: b.width * b.height, reverse=True)
    first = ordered[0]
    for other in ordered[1:]:
        if other.score >= SECOND_FACE_MIN_SCORE and other.width >= SECOND_FACE_MIN_WIDTH_RATIO * first.width:
            raise FaceUnusable("several_faces")
    if first.width < MIN_FACE_PX:
        raise FaceUnusable("face_too_small", f"{first.width} px wide, {MIN_FACE_PX} needed")
    return first


def _as_rgb(rgb: Any) -> RGBImage:
    import numpy as np

    arr = np.asarray(rgb)
    if arr.dtype != np.uint8 or arr.size == 0:
        raise FaceUnusable("unreadable", "not an 8-bit image")
    if arr.ndim == 2:
        arr = np.stack([arr] * 3, axis=-1)
    elif arr.ndim == 3 and arr.shape[2] == 4:
        arr = arr[:, :, :3]
    if arr.ndim != 3 or arr.shape[2] != 3:
        raise FaceUnusable("unreadable", f"image of shape {arr.shape}")
    return np.ascontiguousarray(arr)


class _DlibModels:
    """dlib's detector, 5- and 68-point shape predictors and the ResNet, each loaded once."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loaded: dict[str, Any] = {}

    def get(self, what: str) -> Any:
        with self._lock:
            if what not in self._loaded:
                self._loaded[what] = self._load(what)
            return self._loaded[what]

    @staticmethod
    def _load(what: str) -> Any:
        try:
            import dlib
        except ImportError as exc:
            raise MatcherUnavailable("face matching needs the package dlib-bin") from exc
        if what == "detector":
            return dlib.get_frontal_face_detector()
        folder = _model_folder()
        if what == "shape5":
            return dlib.shape_predictor(str(folder / "shape_predictor_5_face_landmarks.dat"))
        if what == "shape68":
            return dlib.shape_predictor(str(folder / "shape_predictor_68_face_landmarks.dat"))
        if what == "resnet":
            return dlib.face_recognition_model_v1(str(folder / "dlib_face_recognition_resnet_model_v1.dat"))
        raise ValueError(what)


def _model_folder() -> Path:
    """The ``models`` folder of the installed ``face_recognition_models`` package, found without
    importing it: its ``__init__`` imports ``pkg_resources``, which setuptools 81 and later no
    longer ship (a fresh virtual environment has none)."""
    import importlib.util

    spec = importlib.util.find_spec("face_recognition_models")
    locations = list(spec.submodule_search_locations or []) if spec is not None else []
    for location in locations:
        folder = Path(location) / "models"
        if (folder / "dlib_face_recognition_resnet_model_v1.dat").is_file():
            return folder
    raise MatcherUnavailable("face matching needs the package face_recognition_models (its model files)")


MODELS = _DlibModels()
# dlib's objects are not documented as safe for concurrent calls: one lock serialises every call
# into them (one verification takes ~0.15 s; a kiosk has one resident at a time).
DLIB_LOCK = threading.RLock()


def detect_faces(rgb: RGBImage, *, upsample_if_none: bool = True) -> list[FaceBox]:
    """Every face dlib's HOG detector finds in ``rgb`` (RGB uint8), boxes in ``rgb``'s pixels.

    Detection runs on a copy at most ``DETECT_LONG_SIDE`` long, where it finds faces from ~80 px;
    if nothing is found there (and ``upsample_if_none``), once more with dlib's 2x upsampling,
    which finds faces down to ~40 px (a small card photo) at four times the cost. Live video
    passes False: an empty frame must stay cheap.
    """
    import numpy as np
    from PIL import Image

    img = _as_rgb(rgb)
    h, w = img.shape[:2]
    scale = min(1.0, DETECT_LONG_SIDE / max(h, w))
    small = img
    if scale < 1.0:
        size = (max(1, round(w * scale)), max(1, round(h * scale)))
        small = np.asarray(Image.fromarray(img).resize(size, Image.Resampling.BILINEAR))
    detector = MODELS.get("detector")
    with DLIB_LOCK:
        if upsample_if_none and max(small.shape[:2]) <= SMALL_IMAGE:
            rects, scores, _ = detector.run(small, 1, 0.0)  # a card photo: its face is under 80 px
        else:
            rects, scores, _ = detector.run(small, 0, 0.0)
            if len(rects) == 0 and upsample_if_none:
                rects, scores, _ = detector.run(small, 1, 0.0)
    boxes = []
    for rect, score in zip(rects, scores, strict=True):
        left = max(0, math.floor(rect.left() / scale))
        top = max(0, math.floor(rect.top() / scale))
        right = min(w, math.ceil((rect.right() + 1) / scale))
        bottom = min(h, math.ceil((rect.bottom() + 1) / scale))
        boxes.append(FaceBox(left, top, right, bottom, float(score)))
    return sorted(boxes, key=lambda b: b.width * b.height, reverse=True)


def landmarks(rgb: RGBImage, box: FaceBox, points: int = 68) -> list[tuple[float, float]]:
    """The 5- or 68-point landmarks of the face in ``box`` (dlib's shape predictors), as (x, y).

    The 68-point model was trained on iBUG 300-W, whose licence excludes commercial use; a site
    that needs a commercial licence swaps this function's model (see README, "Face model").
    """
    import dlib

    if points not in (5, 68):
        raise ValueError("points must be 5 or 68")
    predictor = MODELS.get("shape5" if points == 5 else "shape68")
    img = _as_rgb(rgb)
    with DLIB_LOCK:
        shape = predictor(img, dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1))
    return [(float(p.x), float(p.y)) for p in shape.parts()]


class DlibMatcher:
    """``FaceMatcher`` with dlib's ResNet: 128-d descriptors compared by euclidean distance ``d``.

    ``similarity = max(0, 1 - d / SCALE)`` with ``SCALE = 1.2``: monotone, 1 for identical
    templates, 0.5 at dlib's customary distance 0.6. The threshold is ``THRESHOLD_DISTANCE``
    expressed as a similarity (see README, "Face model", for the measurement behind it).
    Thread-safe: models are loaded once, lazily, and every dlib call holds ``DLIB_LOCK``.
    """

    SCALE = 1.2
    THRESHOLD_DISTANCE = 0.55

    def __init__(self, threshold_distance: float | None = None) -> None:
        distance = self.THRESHOLD_DISTANCE if threshold_distance is None else threshold_distance
        self.name = DLIB_MODEL
        self.threshold = self.similarity_of_distance(distance)

    @classmethod
    def similarity_of_distance(cls, distance: float) -> float:
        return max(0.0, min(1.0, 1.0 - distance / cls.SCALE))

    def template(self, rgb: RGBImage) -> FaceTemplate:
        import dlib
        import numpy as np

        img = _as_rgb(rgb)
        box = pick_face(detect_faces(img))
        shape_predictor = MODELS.get("shape5")
        resnet = MODELS.get("resnet")
        rect = dlib.rectangle(box.left, box.top, box.right - 1, box.bottom - 1)
        with DLIB_LOCK:
            shape = shape_predictor(img, rect)
            descriptor = resnet.compute_face_descriptor(img, shape, 0, 0.25)
        vector = np.asarray(descriptor, dtype=np.float32).reshape(-1)
        vector.flags.writeable = False
        return FaceTemplate(vector=vector, model=self.name)

    def distance(self, a: FaceTemplate, b: FaceTemplate) -> float:
        import numpy as np

        if a.model != b.model or a.vector.shape != b.vector.shape:
            raise ValueError(f"templates of different models: {a.model} and {b.model}")
        return float(np.linalg.norm(a.vector.astype(np.float64) - b.vector.astype(np.float64)))

    def similarity(self, a: FaceTemplate, b: FaceTemplate) -> float:
        return self.similarity_of_distance(self.distance(a, b))


_default: FaceMatcher | None = None
_default_lock = threading.Lock()


def default_matcher() -> FaceMatcher:
    """The process-wide ``DlibMatcher`` (built on first use; models load on the first template)."""
    global _default
    with _default_lock:
        if _default is None:
            _default = DlibMatcher()
        return _default


def load_matcher(spec: str) -> FaceMatcher:
    """The matcher named by ``spec``: ``""`` is ``default_matcher()``; ``"package.module:Class"``
    imports the module and builds ``Class()`` with no arguments (a site's licensed SDK adapter).

    The class must have ``name``, ``threshold``, ``template`` and ``similarity``
    (``FaceMatcher``); anything else raises ``MatcherUnavailable`` naming the spec.
    """
    spec = spec.strip()
    if not spec:
        return default_matcher()
    module_name, sep, class_name = spec.partition(":")
    if not sep or not module_name or not class_name.isidentifier():
        raise MatcherUnavailable(f"face matcher {spec!r}: expected 'package.module:Class'")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise MatcherUnavailable(f"face matcher {spec!r}: cannot import {module_name} ({exc})") from exc
    cls = getattr(module, class_name, None)
    if cls is None:
        raise MatcherUnavailable(f"face matcher {spec!r}: {module_name} has no {class_name}")
    try:
        matcher = cls()
    except Exception as exc:
        raise MatcherUnavailable(f"face matcher {spec!r}: {class_name}() failed ({exc})") from exc
    if not isinstance(matcher, FaceMatcher):
        raise MatcherUnavailable(f"face matcher {spec!r}: needs name, threshold, template() and similarity()")
    return matcher
