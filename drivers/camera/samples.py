"""A demo portrait for the simulated camera, built at run time from scikit-image's bundled astronaut.

The image is not copied into the repository: it is loaded from the installed ``scikit-image``
package. Its backdrop is a busy space-shuttle interior, so the head (an ellipse around the face) is
placed on a plain light backdrop, as a resident in front of the kiosk's white panel would appear.
"""

from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np

from drivers.camera.base import Image
from drivers.errors import DeviceNotFound

# Head of the astronaut in skimage.data.astronaut() (512x512): centre and half-axes in pixels.
_HEAD_CENTRE = (226, 118)
_HEAD_AXES = (66, 92)
BACKDROP_BGR = (236, 238, 240)
# The astronaut's eyes (centre, half-axes) in the source image, from dlib's 68-point landmarks:
# painted over with skin and a lash line, they make the demo face's closed-eye frame (a blink).
_EYES = (((203, 101), (12, 6)), ((246, 104), (12, 6)))


def astronaut_bgr() -> Image:
    """The astronaut sample as BGR; a clear DeviceNotFound if scikit-image is not installed."""
    try:
        from skimage import data
    except ImportError as exc:
        raise DeviceNotFound(
            "the simulated camera's demo face needs scikit-image (pip install scikit-image), "
            "or give the simulator a folder of images",
            device="camera",
            port="simulated",
        ) from exc
    astronaut: Callable[[], Image] = data.astronaut  # scikit-image's sample loaders are untyped
    rgb = np.ascontiguousarray(astronaut())
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)


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
