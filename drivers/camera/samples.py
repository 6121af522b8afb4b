"""A demo portrait for the simulated camera, built from scikit-image's bundled astronaut.

The image is not copied into the repository: it is read from the installed ``scikit-image``
package's data folder, as a file, without importing the package (importing ``skimage.data`` pulls
in SciPy and imageio: half a second and tens of MB a running kiosk has no use for). Its backdrop is
a busy space-shuttle interior, so the head (an ellipse around the face) is placed on a plain light
backdrop, as a resident in front of the kiosk's white panel would appear. :func:`cached_portrait`
composes a frame once into the data folder; later starts read that file (then scikit-image need not
even be installed).
"""

from __future__ import annotations

import importlib.util
import logging
import os
from pathlib import Path

import cv2
import numpy as np

from drivers.camera.base import Image
from drivers.errors import DeviceNotFound

log = logging.getLogger(__name__)

# Head of the astronaut in skimage.data.astronaut() (512x512): centre and half-axes in pixels.
_HEAD_CENTRE = (226, 118)
_HEAD_AXES = (66, 92)
BACKDROP_BGR = (236, 238, 240)
# The astronaut's eyes (centre, half-axes) in the source image, from dlib's 68-point landmarks:
# painted over with skin and a lash line, they make the demo face's closed-eye frame (a blink).
_EYES = (((203, 101), (12, 6)), ((246, 104), (12, 6)))


def skimage_data_file(name: str, *, device: str = "camera") -> Path:
    """The path of ``name`` in scikit-image's bundled data folder, found without importing the
    package; a clear DeviceNotFound if scikit-image is not installed or lacks the file."""
    try:
        spec = importlib.util.find_spec("skimage")
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / "data" / name
        if path.is_file():
            return path
    raise DeviceNotFound(
        f"the simulated {device}'s demo face needs scikit-image's sample {name} "
        "(pip install scikit-image), or give the simulator a folder of images",
        device=device,
        port="simulated",
    )


def astronaut_bgr() -> Image:
    """The astronaut sample as BGR; a clear DeviceNotFound if scikit-image is not installed."""
    path = skimage_data_file("astronaut.png")
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)  # OpenCV reads BGR, as the cameras deliver
    if image is None:
        raise DeviceNotFound(f"cannot read the demo face {path}", device="camera", port="simulated")
    return np.ascontiguousarray(image)


def close_eyes(src: Image) -> Image:
    """The astronaut with her eyes closed: each eye covered with the skin just below it and a
    thin lash line (the eye aspect ratio of dlib's landmarks drops from ~0.31 to ~0.09)."""
    out = src.copy()
    for (cx, cy), (ax, ay) in _EYES:
        skin = src[cy + 8 : cy + 13, cx - 3 : cx + 3].reshape(-1, 3).mean(axis=0)
        cv2.ellipse(out, (cx, cy), (ax, ay + 1), 0, 0, 360, tuple(float(c) for c in skin), -1)
        cv2.ellipse(out, (cx, cy + 1), (ax - 2, 2), 0, 0, 180, (60, 50, 50), 1, cv2.LINE_AA)
    return out


def portrait(
    width: int = 640,
    height: int = 480,
    shift: tuple[int, int] = (0, 0),
    scale: float = 1.6,
    *,
    eyes_closed: bool = False,
) -> Image:
    """A ``width`` x ``height`` frame with the astronaut's head on a plain light backdrop.

    ``shift`` moves the head from the centre (pixels), ``scale`` enlarges it (face width about
    ``95 * scale`` px), so tests and the demo can produce centred, off-centre, near and far faces;
    ``eyes_closed`` gives the frame of a blink (:func:`close_eyes`).
    """
    src = astronaut_bgr()
    if eyes_closed:
        src = close_eyes(src)
    cx, cy = _HEAD_CENTRE
    ax, ay = _HEAD_AXES
    head = src[cy - ay : cy + ay, cx - ax : cx + ax]
    mask: Image = np.zeros(head.shape[:2], np.uint8)
    cv2.ellipse(mask, (ax, ay), (ax, ay), 0, 0, 360, 255, -1)
    size = (round(head.shape[1] * scale), round(head.shape[0] * scale))
    head = cv2.resize(head, size, interpolation=cv2.INTER_CUBIC)
    mask = cv2.resize(mask, size, interpolation=cv2.INTER_LINEAR)
    canvas = np.empty((height, width, 3), np.uint8)
    canvas[:] = BACKDROP_BGR
    x0 = width // 2 - size[0] // 2 + shift[0]
    y0 = round(height * 0.45) - size[1] // 2 + shift[1]
    # Clip the paste rectangle to the canvas (shifted heads may leave the frame).
    sx0, sy0 = max(0, -x0), max(0, -y0)
    dx0, dy0 = max(0, x0), max(0, y0)
    w = min(size[0] - sx0, width - dx0)
    h = min(size[1] - sy0, height - dy0)
    if w > 0 and h > 0:
        alpha = (mask[sy0 : sy0 + h, sx0 : sx0 + w, None] / 255.0).astype(np.float32)
        region = canvas[dy0 : dy0 + h, dx0 : dx0 + w].astype(np.float32)
        blended = head[sy0 : sy0 + h, sx0 : sx0 + w] * alpha + region * (1 - alpha)
        canvas[dy0 : dy0 + h, dx0 : dx0 + w] = blended.astype(np.uint8)
    return canvas


def cached_portrait(
    folder: Path | None, width: int = 640, height: int = 480, *, eyes_closed: bool = False
) -> Image:
    """:func:`portrait` (centred, default scale) read from ``folder`` if an earlier start composed it
    there, else composed now and written there (PNG, lossless: the same pixels each start). The
    simulated camera's demo frames thus come from the data folder after the first start. No folder:
    composed every time."""
    if folder is None:
        return portrait(width, height, eyes_closed=eyes_closed)
    path = folder / f"demo-face-{width}x{height}{'-closed' if eyes_closed else ''}.png"
    image = cv2.imread(str(path), cv2.IMREAD_COLOR) if path.is_file() else None
    if image is not None and image.shape == (height, width, 3):
        return np.ascontiguousarray(image)
    image = portrait(width, height, eyes_closed=eyes_closed)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.png")
        if cv2.imwrite(str(tmp), image):
            os.replace(tmp, path)  # a half-written file is never read
    except OSError as exc:  # a read-only data folder: compose again at the next start
        log.warning("demo face not cached in %s: %s", folder, exc)
    return image
