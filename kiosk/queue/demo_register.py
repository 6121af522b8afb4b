"""The demo kiosk's population register: who the local backend knows, with which face.

The kiosk never imports the backend; it writes the residents and their photos into the local
backend's folder and starts it with ``serve --enrol FILE``, which enrols them through the same
``Register.add`` as ``kiosk-backend register add`` (refusing a photo without exactly one face), just
before the first verification. Every simulated ID card's holder (``drivers/idcard/sim_cards.toml``,
numbers with a valid check character) is enrolled with the demo face the simulated camera shows
(scikit-image's astronaut), so the whole flow runs on a laptop. One more synthetic resident,
:data:`OTHER_FACE_NUMBER`, is enrolled with someone else's face (a real face from scikit-image's LFW
sample, 25x25 grey, enlarged): typing that number at the demo kiosk is refused ``photo_mismatch``.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

OTHER_FACE_NUMBER = "990101198808080523"  # synthetic; its register photo is not the demo face
OTHER_FACE_RESIDENT = {
    "id_number": OTHER_FACE_NUMBER,
    "name": "赵小红",
    "nation": "汉",
    "address": "虚构省示例市测试区样板路5号",
}
DEMO_FACE_FILE = "demo-face.jpg"
OTHER_FACE_FILE = "other-face.jpg"
LFW_INDEX = 0  # an LFW face dlib detects once enlarged (several of the 200 are too blurred)
RESIDENTS_FILE = "residents.json"


def demo_residents() -> list[dict[str, str]]:
    """Every simulated card holder with a well-formed number (photo: the demo face), then the
    resident whose register photo is someone else's."""
    from drivers.idcard.sim_photos import photo_name
    from drivers.idcard.simulator import load_cards

    out = []
    for card in load_cards().values():
        if len(card.id_number) == 18 and card.id_number[:17].isdigit():
            # the register's photo is the card's: a card carrying someone else's face (the
            # simulator's resident_other_face, LFW face LFW_INDEX) is that person in the register too
            other = photo_name(card.photo_wlt) == f"lfw:{LFW_INDEX}"
            out.append(
                {
                    "id_number": card.id_number,
                    "name": card.name,
                    "nation": card.nation,
                    "address": card.address,
                    "photo": OTHER_FACE_FILE if other else DEMO_FACE_FILE,
                }
            )
    out.append({**OTHER_FACE_RESIDENT, "photo": OTHER_FACE_FILE})
    return out


def demo_face_jpeg() -> bytes:
    """The simulated camera's demo portrait as JPEG (what the kiosk sends as the live photo)."""
    import cv2

    from drivers.camera.samples import portrait

    ok, buf = cv2.imencode(".jpg", portrait(), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:  # pragma: no cover - OpenCV always encodes a valid frame
        raise ValueError("cannot encode the demo face")
    return bytes(buf.tobytes())


def other_face_jpeg() -> bytes:
    """A real face that is not the demo face: LFW (scikit-image's ``lfw_subset.npy``), 25x25 grey,
    enlarged five times and padded on a light backdrop so the detector finds it."""
    import cv2
    import numpy as np

    from drivers.camera.samples import skimage_data_file

    faces: Any = np.load(skimage_data_file("lfw_subset.npy", device="register"))  # not importing skimage
    grey = (np.clip(faces[LFW_INDEX], 0.0, 1.0) * 255).astype(np.uint8)
    face = cv2.resize(grey, (125, 125), interpolation=cv2.INTER_CUBIC)
    canvas = np.full((250, 250), 235, np.uint8)
    canvas[50:175, 62:187] = face
    ok, buf = cv2.imencode(".jpg", cv2.cvtColor(canvas, cv2.COLOR_GRAY2BGR), [cv2.IMWRITE_JPEG_QUALITY, 92])
    if not ok:  # pragma: no cover
        raise ValueError("cannot encode the other face")
    return bytes(buf.tobytes())


def write_demo_register(folder: Path) -> Path | None:
    """The residents file (and photos) in ``folder`` for ``serve --enrol``; written once. None when
    the demo faces cannot be made (scikit-image missing): the local backend then has an empty
    register and every verification answers ``no_record``."""
    from drivers.errors import DeviceError

    listing = folder / RESIDENTS_FILE
    if listing.exists():
        return listing
    try:
        photos = {DEMO_FACE_FILE: demo_face_jpeg(), OTHER_FACE_FILE: other_face_jpeg()}
    except (ImportError, OSError, ValueError, DeviceError) as exc:  # DeviceNotFound: no scikit-image
        log.warning("demo register not written (the demo faces need scikit-image): %s", exc)
        return None
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in photos.items():
        (folder / name).write_bytes(data)
    tmp = folder / f".{RESIDENTS_FILE}.tmp"
    tmp.write_text(json.dumps(demo_residents(), ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, listing)  # a half-written list is never read
    return listing
