"""Crop and scale a frame to a named spec and encode a JPEG inside the spec's file-size range.

No background cleaning is done: replacing a backdrop honestly needs a person-segmentation model,
and a wrong mask would eat into hair or face. A backdrop that is not plain and light fails the
``background`` check instead, and the resident is asked to stand in front of the kiosk's panel.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from drivers.camera.base import Image
from kiosk.errors import KioskError
from kiosk.photo.checks import crop_rect
from kiosk.photo.detect import Face
from kiosk.photo.specs import PhotoSpec

MIN_QUALITY, MAX_QUALITY = 40, 98


class PhotoError(KioskError):
    """The photo cannot be made to comply (framing outside the image, JPEG size out of range)."""


@dataclass(frozen=True)
class ComposedPhoto:
    """The final photo: JPEG bytes, the quality used, and the decoded-size facts for reports."""

    jpeg: bytes
    quality: int
    width: int
    height: int


def crop_to_spec(image: Image, face: Face, spec: PhotoSpec) -> Image:
    """The spec-sized crop of ``image`` around ``face``; PhotoError if the crop leaves the image."""
    x, y, w, h = crop_rect(face, spec)
    height, width = image.shape[:2]
    # Allow one pixel of rounding; never pad: invented pixels around a head are not a photo.
    if x < -1 or y < -1 or x + w > width + 1 or y + h > height + 1:
        raise PhotoError("the head is too close to the image edge for this photo size")
    scale = spec.width / w
    # An affine warp does crop + scale in one pass with sub-pixel placement.
    matrix = np.array([[scale, 0.0, -x * scale], [0.0, scale, -y * scale]], dtype=np.float64)
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC
    return cv2.warpAffine(
        image, matrix, (spec.width, spec.height), flags=interpolation, borderMode=cv2.BORDER_REPLICATE
    )


def _encode(image: Image, quality: int) -> bytes:
    ok, buf = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    if not ok:
        raise PhotoError("JPEG encoding failed")
    return buf.tobytes()


def encode_within(image: Image, spec: PhotoSpec) -> ComposedPhoto:
    """The best JPEG quality whose file size lies in ``spec.jpeg_kb``; PhotoError if none does."""
    low, high = spec.jpeg_bytes
    lo_q, hi_q = MIN_QUALITY, MAX_QUALITY
    best: tuple[int, bytes] | None = None
    # File size grows with quality: binary search for the highest quality not above the maximum.
    while lo_q <= hi_q:
        q = (lo_q + hi_q) // 2
        data = _encode(image, q)
        if len(data) > high:
            hi_q = q - 1
        else:
            if len(data) >= low:
                best = (q, data)
            lo_q = q + 1
    if best is None:
        smallest, largest = len(_encode(image, MIN_QUALITY)), len(_encode(image, MAX_QUALITY))
        raise PhotoError(
            f"no JPEG quality gives {spec.jpeg_kb[0]:g}-{spec.jpeg_kb[1]:g} KiB "
            f"(quality {MIN_QUALITY}: {smallest / 1024:.1f} KiB, {MAX_QUALITY}: {largest / 1024:.1f} KiB)"
        )
    quality, data = best
    return ComposedPhoto(data, quality, spec.width, spec.height)


def compose(image: Image, face: Face, spec: PhotoSpec) -> ComposedPhoto:
    """Crop, scale and encode: the photo as it is submitted."""
    return encode_within(crop_to_spec(image, face, spec), spec)
