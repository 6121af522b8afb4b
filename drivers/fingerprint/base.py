"""The fingerprint collector interface: one finger captured per blocking call, with a timeout.

The resident ID card holds two fingerprint feature records of 512 bytes each, normally of both
thumbs (GA 1011/1012, DEVICE-FACTS: ``30 10`` reads them back). Only the collector vendor's SDK,
licensed by the Ministry of Public Security, makes those records from a scan; none ships with the
kiosk (:mod:`drivers.fingerprint.sdk` loads a site's). A capture answers a tagged value: no finger
on the glass in time and a print too poor to use are states the resident can mend, not exceptions;
a device that fails raises ``DeviceError`` subclasses from ``drivers/errors.py``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Protocol

from drivers.base import DeviceHealth

FEATURE_LEN = 512  # one finger's feature record as the card chip stores it
FINGERS = ("right_thumb", "left_thumb")  # the order the ID card procedure takes them


class CaptureStatus(enum.Enum):
    OK = "ok"
    NO_FINGER = "no_finger"  # nothing was placed within the timeout
    POOR_QUALITY = "poor_quality"  # placed, but too dry, wet, smudged or partial to use


@dataclass(frozen=True)
class FingerCapture:
    """One finger: the SDK's feature record, its quality score (0-100) and a grey scan as PNG
    (sent with the request for the card office; never kept on the kiosk)."""

    finger: str
    status: CaptureStatus
    quality: int = 0
    feature: bytes = field(default=b"", repr=False)
    image_png: bytes = field(default=b"", repr=False)

    @property
    def ok(self) -> bool:
        return self.status is CaptureStatus.OK


class FingerprintCollector(Protocol):
    """A fingerprint collector (``[devices.fingerprint]``)."""

    simulated: bool

    def capture(self, finger: str, timeout_s: float) -> FingerCapture:
        """Wait up to ``timeout_s`` for ``finger`` on the glass and capture it; ``DeviceDisconnected``
        if the collector went away. Blocking: call it off the UI thread."""
        ...

    def health(self) -> DeviceHealth: ...

    def close(self) -> None: ...
