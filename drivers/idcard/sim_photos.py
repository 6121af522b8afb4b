"""Photos of the simulated cards, and the simulated WLT decoder that hands them out.

A real card holds its photo as 1024 bytes of encrypted WLT that only a licensed vendor library
decodes (:mod:`drivers.idcard.wlt`). A synthetic card's "WLT" is :func:`simulated_wlt`: a marker,
the name of its photo and filler, 1024 bytes like the real thing, so the real driver reads it over
the simulated wire unchanged. :class:`SimulatedWltDecoder` turns those bytes back into the
102x126 24-bit BMP a vendor decoder returns; real WLT bytes it refuses (None), as a decoder refuses
a photo it cannot read. It is a simulated device: production mode refuses it
(:func:`kiosk.config.production.production_problems`).

Photo names (``photo = ...`` in ``sim_cards.toml``):

- ``demo``: the simulated camera's demo face (:mod:`drivers.camera.samples`), so the demo resident
  matches the face in front of the simulated camera;
- ``lfw:N``: face N (0..99) of scikit-image's bundled LFW subset (25x25 grey), someone else;
- ``none``: no photo (the pseudo-random bytes of old; no decoder can read them).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from functools import cache

import cv2
import numpy as np

from drivers.camera.base import Image
from drivers.errors import DeviceNotFound
from drivers.idcard.wlt import BMP_LEN, WLT_LEN

PHOTO_SIZE = (102, 126)  # width, height of the card photo
MARKER = b"SIMWLT1\x00"
LFW_FACES = 100  # the first 100 images of lfw_subset.npy are faces, the rest are not


def simulated_wlt(photo: str, seed: bytes) -> bytes:
    """The 1024 "WLT" bytes of a synthetic card whose photo is ``photo`` (see the module doc)."""
    if photo in ("", "none"):
        return b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(32))
    name = photo.encode("ascii")
    head = MARKER + bytes([len(name)]) + name
    filler = b"".join(hashlib.sha256(seed + bytes([i])).digest() for i in range(32))
    return (head + filler)[:WLT_LEN]


def photo_name(wlt: bytes) -> str | None:
    """The photo a simulated card's WLT bytes name, or None for anything else."""
    if len(wlt) != WLT_LEN or not wlt.startswith(MARKER):
        return None
    size = wlt[len(MARKER)]
    return wlt[len(MARKER) + 1 : len(MARKER) + 1 + size].decode("ascii", errors="replace")


def _bmp(image: Image) -> bytes:
    ok, encoded = cv2.imencode(".bmp", cv2.resize(image, PHOTO_SIZE, interpolation=cv2.INTER_AREA))
    if not ok:  # pragma: no cover - OpenCV always encodes a BMP of a valid array
        raise ValueError("BMP encoding failed")
    data = encoded.tobytes()
    assert len(data) == BMP_LEN, len(data)  # the vendor decoders' exact size
    return data


def demo_photo() -> Image:
    """The card photo of the demo resident: the demo portrait's head, framed as on a card."""
    from drivers.camera.samples import portrait

    frame = portrait(640, 480)
    # the head sits at (320, 216) with a face about 150 px wide: a 102:126 frame around it
    height = 330
    width = round(height * PHOTO_SIZE[0] / PHOTO_SIZE[1])
    top, left = 216 - height // 2, 320 - width // 2
    return np.ascontiguousarray(frame[top : top + height, left : left + width])


def lfw_photo(index: int) -> Image:
    """Face ``index`` of scikit-image's LFW subset (25x25 grey) as a card photo: enlarged five
    times and padded, so a face detector finds it (real faces, and not the demo resident)."""
    if not 0 <= index < LFW_FACES:
        raise ValueError(f"lfw photo index must be 0..{LFW_FACES - 1}, got {index}")
    faces = _lfw_faces()
    grey: Image = (faces[index] * 255).astype(np.uint8)
    big = cv2.resize(grey, (125, 125), interpolation=cv2.INTER_CUBIC)
    padded = cv2.copyMakeBorder(big, 40, 30, 20, 20, cv2.BORDER_CONSTANT, value=(236,))
    return cv2.cvtColor(padded, cv2.COLOR_GRAY2BGR)


@cache
def _lfw_faces() -> Image:
    from drivers.camera.samples import skimage_data_file

    try:
        path = skimage_data_file("lfw_subset.npy", device="wlt")  # the file, without importing skimage
    except DeviceNotFound as exc:
        raise DeviceNotFound(
            "the simulated cards' photos need scikit-image (pip install scikit-image)", device="wlt"
        ) from exc
    loaded: Image = np.load(path)
    return loaded


PHOTOS: dict[str, Callable[[], Image]] = {"demo": demo_photo}


def photo_bmp(name: str) -> bytes:
    """The BMP of the photo named ``name`` (``demo``, ``lfw:N``); ValueError for an unknown name.
    Made anew at each read, as a decoder does (not cached: a card photo lives only in its visit)."""
    if name in PHOTOS:
        return _bmp(PHOTOS[name]())
    kind, _, index = name.partition(":")
    if kind == "lfw" and index.isdigit():
        return _bmp(lfw_photo(int(index)))
    raise ValueError(f"unknown simulated card photo {name!r} (demo, lfw:N or none)")


class SimulatedWltDecoder:
    """Decodes the simulated cards' photos (never a real WLT): a simulated device."""

    simulated = True
    library = "simulated"

    def decode(self, wlt: bytes) -> bytes | None:
        name = photo_name(wlt)
        if name is None:
            return None
        try:
            return photo_bmp(name)
        except ValueError:
            return None
