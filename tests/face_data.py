"""Real face photos for the face tests, and what the tests make of them.

- The face_recognition 1.3.0 test images (Obama x6, Biden x1), unpacked by ``scripts/face-fixtures``
  into ``.cache/face-fixtures/`` (never downloaded by a test). Missing: the test fails under CI and
  skips elsewhere, naming the script.
- scikit-image's bundled ``lfw_subset`` (100 real LFW faces, 25x25 grey, unlabelled: several
  people appear more than once) upscaled 5x on a grey margin, and its ``astronaut`` (Eileen
  Collins): "someone else" for the Obama/Biden photos.
- Augmentations (crop, scale, light, small rotation, JPEG) and compositions (two faces side by
  side; a photo moved, turned or squashed in front of a camera, with sensor noise).
"""

from __future__ import annotations

import io
import math
from functools import cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance

from tests.conftest import skip_or_fail

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / ".cache" / "face-fixtures"
OBAMA = (
    "obama.jpg",
    "obama2.jpg",
    "obama3.jpg",
    "obama_partial_face.jpg",
    "obama_partial_face2.jpg",
    "32bit.png",
)
BIDEN = ("biden.jpg",)

RGB = np.ndarray


def fixture_path(name: str) -> Path:
    path = FIXTURES / name
    if not path.is_file():
        skip_or_fail(
            f"face fixture {path} is missing: run scripts/face-fixtures (scripts/bootstrap --test does)"
        )
    return path


@cache
def _fixture(name: str) -> bytes:
    return fixture_path(name).read_bytes()


def fixture_bytes(name: str) -> bytes:
    return _fixture(name)


def fixture_rgb(name: str, long_side: int | None = None) -> RGB:
    """The fixture as RGB uint8, optionally resized so its long side is ``long_side``."""
    img = Image.open(io.BytesIO(_fixture(name))).convert("RGB")
    if long_side is not None:
        scale = long_side / max(img.size)
        img = img.resize((round(img.width * scale), round(img.height * scale)), Image.Resampling.LANCZOS)
    return np.asarray(img)


@cache
def lfw_faces() -> tuple[RGB, ...]:
    """The 100 faces of scikit-image's LFW subset, 25x25 grey -> 125x125 RGB on a 40 px grey margin."""
    try:
        from skimage import data
    except ImportError:
        skip_or_fail("scikit-image (test extra) is needed for the LFW subset")
    faces = []
    for face in data.lfw_subset()[:100]:
        grey = Image.fromarray((face * 255).astype(np.uint8)).resize((125, 125), Image.Resampling.BICUBIC)
        padded = np.pad(np.asarray(grey), 40, constant_values=128)
        faces.append(np.stack([padded] * 3, axis=-1))
    return tuple(faces)


def astronaut() -> RGB:
    try:
        from skimage import data
    except ImportError:
        skip_or_fail("scikit-image (test extra) is needed for the astronaut photo")
    return np.asarray(data.astronaut())


# -- augmentations: the same person, another take ---------------------------------------------


def crop(rgb: RGB, left: float, top: float, right: float, bottom: float) -> RGB:
    h, w = rgb.shape[:2]
    return np.ascontiguousarray(rgb[round(top * h) : round(bottom * h), round(left * w) : round(right * w)])


def scale(rgb: RGB, factor: float) -> RGB:
    img = Image.fromarray(rgb)
    size = (max(1, round(img.width * factor)), max(1, round(img.height * factor)))
    return np.asarray(img.resize(size, Image.Resampling.LANCZOS))


def light(rgb: RGB, brightness: float = 1.0, contrast: float = 1.0, gamma: float = 1.0) -> RGB:
    img = ImageEnhance.Contrast(ImageEnhance.Brightness(Image.fromarray(rgb)).enhance(brightness)).enhance(
        contrast
    )
    out = np.asarray(img).astype(np.float64) / 255.0
    return (np.clip(out**gamma, 0, 1) * 255).round().astype(np.uint8)


def side_light(rgb: RGB, strength: float = 0.5) -> RGB:
    """Light falling from the image's left: a horizontal ramp from 1 to ``1 - strength``."""
    ramp = np.linspace(1.0, 1.0 - strength, rgb.shape[1])[None, :, None]
    return (rgb.astype(np.float64) * ramp).round().clip(0, 255).astype(np.uint8)


def rotate(rgb: RGB, degrees: float, fill: int = 128) -> RGB:
    return np.asarray(
        Image.fromarray(rgb).rotate(degrees, resample=Image.Resampling.BICUBIC, fillcolor=(fill, fill, fill))
    )


def jpeg(rgb: RGB, quality: int) -> RGB:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, "JPEG", quality=quality)
    return np.asarray(Image.open(io.BytesIO(out.getvalue())).convert("RGB"))


def encode(rgb: RGB, fmt: str = "JPEG") -> bytes:
    out = io.BytesIO()
    Image.fromarray(rgb).save(out, fmt)
    return out.getvalue()


def augmentations(rgb: RGB) -> dict[str, RGB]:
    """Named variants of one photo: crops, scales, light, small rotations, JPEG quality."""
    return {
        "crop-tight": crop(rgb, 0.1, 0.05, 0.9, 0.85),
        "crop-left": crop(rgb, 0.0, 0.0, 0.85, 1.0),
        "half-size": scale(rgb, 0.5),
        "double-size": scale(rgb, 2.0),
        "darker": light(rgb, brightness=0.6),
        "brighter": light(rgb, brightness=1.35),
        "low-contrast": light(rgb, contrast=0.6),
        "gamma": light(rgb, gamma=1.6),
        "side-light": side_light(rgb, 0.5),
        "rotate+8": rotate(rgb, 8),
        "rotate-8": rotate(rgb, -8),
        "jpeg-30": jpeg(rgb, 30),
    }


def side_by_side(a: RGB, b: RGB, gap: int = 20) -> RGB:
    """Two photos on one grey canvas, both at the height of the taller."""
    h = max(a.shape[0], b.shape[0])
    canvas = np.full((h, a.shape[1] + gap + b.shape[1], 3), 128, np.uint8)
    canvas[: a.shape[0], : a.shape[1]] = a
    canvas[: b.shape[0], a.shape[1] + gap :] = b
    return canvas


# -- a photo held up in front of a camera: recorded sequences ---------------------------------


def camera_frame(
    photo: RGB,
    *,
    dx: float = 0.0,
    dy: float = 0.0,
    angle: float = 0.0,
    squash: float = 1.0,
    size: tuple[int, int] = (640, 480),
    noise: int = 2,
    rng: np.random.Generator | None = None,
) -> RGB:
    """A BGR 640x480 camera frame of ``photo`` held up: moved by (dx, dy) px, turned ``angle``
    degrees in the image plane, squashed horizontally by ``squash`` (a flat photo tilted about its
    vertical axis), on a grey wall, with sensor noise of +-``noise`` grey levels."""
    w, h = size
    img = Image.fromarray(photo)
    fit = 0.8 * min(w / img.width, h / img.height)
    img = img.resize(
        (max(1, round(img.width * fit * squash)), round(img.height * fit)), Image.Resampling.BILINEAR
    )
    canvas = Image.new("RGB", size, (128, 128, 128))
    canvas.paste(img, (round((w - img.width) / 2 + dx), round((h - img.height) / 2 + dy)))
    if angle:
        centre = (w / 2 + dx, h / 2 + dy)
        canvas = canvas.rotate(
            angle, resample=Image.Resampling.BILINEAR, center=centre, fillcolor=(128, 128, 128)
        )
    frame = np.asarray(canvas)[:, :, ::-1]
    if noise:
        rng = rng or np.random.default_rng(0)
        frame = np.clip(frame.astype(np.int16) + rng.integers(-noise, noise + 1, frame.shape), 0, 255)
    return np.ascontiguousarray(frame.astype(np.uint8))


def held_photo(photo: RGB, kind: str, frames: int, rng_seed: int = 0) -> list[RGB]:
    """``frames`` camera frames of a photo held up: still, translated, rotated, tilted or frozen."""
    rng = np.random.default_rng(rng_seed)
    out = []
    for i in range(frames):
        phase = math.sin(2 * math.pi * i / 30)  # one back-and-forth every 2 s at 15 fps
        if kind == "still":
            out.append(camera_frame(photo, rng=rng))
        elif kind == "translated":
            out.append(camera_frame(photo, dx=60 * phase, dy=20 * math.cos(2 * math.pi * i / 30), rng=rng))
        elif kind == "rotated":
            out.append(camera_frame(photo, angle=25 * phase, rng=rng))
        elif kind == "tilted":
            out.append(camera_frame(photo, squash=1.0 - 0.45 * abs(phase), rng=rng))
        elif kind == "frozen":
            out.append(out[0] if out else camera_frame(photo, rng=rng))
        else:
            raise ValueError(kind)
    return out
