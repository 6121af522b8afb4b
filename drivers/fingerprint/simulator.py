"""A simulated thumb-print collector: a synthetic whorl scan and a 512-byte record per finger.

Faults (tests, demo, maintenance): ``unplugged`` (raises ``DeviceDisconnected``, reports down),
``no_finger`` (nothing placed: waits the timeout, answers NO_FINGER), ``poor_quality`` (answers
POOR_QUALITY with a low score), ``poor_once`` (the first capture is poor, the next good: the
resident is asked to press again). Refused in production like every simulator.
"""

from __future__ import annotations

import enum
import hashlib
import threading

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceDisconnected
from drivers.fingerprint.base import FEATURE_LEN, FINGERS, CaptureStatus, FingerCapture
from drivers.fingerprint.sdk import encode_png

DEVICE = "fingerprint"
SCAN = (256, 288)  # width, height of the synthetic scan (about 13x15 mm at 500 dpi)


class Fault(enum.Enum):
    UNPLUGGED = "unplugged"
    NO_FINGER = "no_finger"
    POOR_QUALITY = "poor_quality"
    POOR_ONCE = "poor_once"


def synthetic_scan(finger: str) -> bytes:
    """A whorl of ridges (dark on light), different per finger, as grey bytes of SCAN."""
    import numpy as np

    width, height = SCAN
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    cx, cy = width / 2 + (12 if finger == "left_thumb" else -12), height / 2
    radius = np.hypot(x - cx, (y - cy) * 0.85)
    angle = np.arctan2(y - cy, x - cx)
    ridges = np.sin(radius / 3.1 + angle * (1.5 if finger == "left_thumb" else -1.5))
    inside = np.clip(1.3 - radius / (0.48 * height), 0, 1)
    grey = 235 - inside * (ridges > 0) * 190
    return bytes(grey.astype(np.uint8).tobytes())


def synthetic_feature(finger: str) -> bytes:
    """512 deterministic bytes standing for the SDK's record of ``finger``."""
    out = b""
    block = hashlib.sha256(f"simulated fingerprint {finger}".encode()).digest()
    while len(out) < FEATURE_LEN:
        out += block
        block = hashlib.sha256(block).digest()
    return out[:FEATURE_LEN]


class SimulatedFingerprintCollector:
    """``FingerprintCollector`` without hardware; ``inject``/``clear`` drive its faults."""

    simulated = True

    def __init__(self, *, quality: int = 86) -> None:
        self._quality = quality
        self._faults: set[Fault] = set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.captures = 0  # how many captures were asked (tests count them)

    def inject(self, fault: Fault | str) -> None:
        with self._lock:
            self._faults.add(Fault(fault))

    def clear(self, fault: Fault | str | None = None) -> None:
        with self._lock:
            if fault is None:
                self._faults.clear()
            else:
                self._faults.discard(Fault(fault))

    def _has(self, fault: Fault) -> bool:
        with self._lock:
            return fault in self._faults

    def capture(self, finger: str, timeout_s: float) -> FingerCapture:
        if finger not in FINGERS:
            raise ValueError(f"unknown finger {finger!r}")
        self.captures += 1
        if self._closed.is_set() or self._has(Fault.UNPLUGGED):
            raise DeviceDisconnected("fingerprint collector not connected", device=DEVICE, port="simulated")
        if self._has(Fault.NO_FINGER):
            self._closed.wait(timeout_s)  # nobody presses; close() ends the wait
            return FingerCapture(finger, CaptureStatus.NO_FINGER)
        if self._has(Fault.POOR_QUALITY):
            return FingerCapture(finger, CaptureStatus.POOR_QUALITY, 23)
        if self._has(Fault.POOR_ONCE):
            self.clear(Fault.POOR_ONCE)
            return FingerCapture(finger, CaptureStatus.POOR_QUALITY, 31)
        png = encode_png(synthetic_scan(finger), *SCAN)
        return FingerCapture(finger, CaptureStatus.OK, self._quality, synthetic_feature(finger), png)

    def health(self) -> DeviceHealth:
        if self._closed.is_set():
            return DeviceHealth(Health.DOWN, "closed", "the simulated fingerprint collector is closed")
        if self._has(Fault.UNPLUGGED):
            return DeviceHealth(Health.DOWN, "unplugged", "the simulated fingerprint collector is unplugged")
        return DeviceHealth(Health.OK, "ready", "simulated fingerprint collector")

    def close(self) -> None:
        self._closed.set()
