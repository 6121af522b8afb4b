"""The hook for a site's licensed fingerprint collector SDK (loaded like the WLT decoder).

Collector vendors ship a C library licensed for resident ID cards; none ships with the kiosk. A
site that has one configures the library's path (``library``) and the names of its entry points;
this module loads it with ctypes and uses the common vendor shape:

    int open(void)                                      1: opened
    int capture(int finger, int timeout_ms, unsigned char *image, int *width, int *height,
                int *quality)                           1: captured, 0: nothing placed, <0: error
    int feature(const unsigned char *image, int width, int height, unsigned char *feature512)
                                                        1: a 512-byte record made
    void close(void)

Without a library there is no collector: nothing here pretends to capture or to make features.
"""

from __future__ import annotations

import ctypes
import logging
import threading

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceDisconnected, DeviceError, DeviceNotFound
from drivers.fingerprint.base import FEATURE_LEN, FINGERS, CaptureStatus, FingerCapture

log = logging.getLogger(__name__)

DEVICE = "fingerprint"
MAX_IMAGE = 640 * 640  # the largest grey scan a collector returns (500 dpi, about 32x32 mm)


def encode_png(grey: bytes, width: int, height: int) -> bytes:
    """A grey scan as PNG (the request's attachment type)."""
    import cv2
    import numpy as np

    image = np.frombuffer(grey, dtype=np.uint8, count=width * height).reshape(height, width)
    ok, buf = cv2.imencode(".png", image)
    if not ok:  # pragma: no cover - OpenCV encodes any valid array
        raise DeviceError("cannot encode the fingerprint scan", device=DEVICE)
    return bytes(buf.tobytes())


class SdkFingerprintCollector:
    """A collector driven through the vendor's library; thread-safe (one capture at a time)."""

    simulated = False

    def __init__(
        self,
        library: str,
        *,
        open_fn: str = "FP_Open",
        capture_fn: str = "FP_Capture",
        feature_fn: str = "FP_Feature",
        close_fn: str = "FP_Close",
        min_quality: int = 50,
    ) -> None:
        try:
            lib = ctypes.CDLL(library)
        except OSError as exc:
            raise DeviceNotFound(f"fingerprint SDK library cannot be loaded: {exc}", device=DEVICE) from exc
        try:
            self._open = getattr(lib, open_fn)
            self._capture = getattr(lib, capture_fn)
            self._feature = getattr(lib, feature_fn)
            self._close = getattr(lib, close_fn)
        except AttributeError as exc:
            raise DeviceError(f"fingerprint SDK library lacks an entry point: {exc}", device=DEVICE) from exc
        self._capture.restype = self._feature.restype = self._open.restype = ctypes.c_int
        self.library = library
        self.min_quality = min_quality
        self._lock = threading.Lock()
        self._opened = self._open() == 1
        if not self._opened:
            raise DeviceNotFound("fingerprint collector did not open (SDK answered not 1)", device=DEVICE)

    def capture(self, finger: str, timeout_s: float) -> FingerCapture:
        if finger not in FINGERS:
            raise ValueError(f"unknown finger {finger!r}")
        image = ctypes.create_string_buffer(MAX_IMAGE)
        width, height, quality = ctypes.c_int(0), ctypes.c_int(0), ctypes.c_int(0)
        with self._lock:
            code = self._capture(
                FINGERS.index(finger), int(timeout_s * 1000), image,
                ctypes.byref(width), ctypes.byref(height), ctypes.byref(quality),
            )  # fmt: skip
            if code < 0:
                self._opened = False
                raise DeviceDisconnected(f"fingerprint SDK capture failed ({code})", device=DEVICE)
            if code == 0:
                return FingerCapture(finger, CaptureStatus.NO_FINGER)
            size = width.value * height.value
            if not 0 < size <= MAX_IMAGE:
                raise DeviceError(
                    f"fingerprint SDK returned a {width.value}x{height.value} scan", device=DEVICE
                )
            if quality.value < self.min_quality:
                return FingerCapture(finger, CaptureStatus.POOR_QUALITY, quality.value)
            feature = ctypes.create_string_buffer(FEATURE_LEN)
            if self._feature(image, width, height, feature) != 1:
                return FingerCapture(finger, CaptureStatus.POOR_QUALITY, quality.value)
        png = encode_png(image.raw[:size], width.value, height.value)
        return FingerCapture(finger, CaptureStatus.OK, quality.value, feature.raw, png)

    def health(self) -> DeviceHealth:
        if not self._opened:
            return DeviceHealth(
                Health.DOWN, "disconnected", f"fingerprint collector ({self.library}) not open"
            )
        return DeviceHealth(Health.OK, "ready", f"fingerprint collector ({self.library})")

    def close(self) -> None:
        with self._lock:
            if self._opened:
                self._close()
                self._opened = False
