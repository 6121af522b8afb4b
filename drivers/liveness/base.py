"""The liveness camera interface: a vendor's infrared or binocular (depth) camera judges whether a
live person is in front of it, independently of the colour camera's blink/turn challenge.

A site's adapter wraps the vendor SDK (which captures its own IR/depth frames) behind
``LivenessCamera.check``: one blocking call with an explicit timeout, answering a tagged
``LivenessResult``. A spoof is a value (``SPOOF``), not an exception; a device that fails
(unplugged, no answer in time) raises ``DeviceError`` subclasses from ``drivers/errors.py``.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol

from drivers.base import DeviceHealth


class LivenessVerdict(enum.Enum):
    """What the camera concluded about the sequence it captured."""

    LIVE = "live"  # a live person (the SDK's score above its own threshold)
    SPOOF = "spoof"  # a photo, screen, mask or replay
    NO_FACE = "no_face"  # nobody in the IR view: ask the resident to step in front


@dataclass(frozen=True)
class LivenessResult:
    """One verdict: ``score`` is the vendor's confidence in [0, 1] when it gives one."""

    verdict: LivenessVerdict
    score: float | None = None
    detail: str = ""

    @property
    def live(self) -> bool:
        return self.verdict is LivenessVerdict.LIVE


class LivenessCamera(Protocol):
    """An infrared / binocular liveness camera (``[devices.liveness]``)."""

    simulated: bool

    def check(self, timeout_s: float) -> LivenessResult:
        """Capture and judge a short sequence; ``DeviceTimeout`` if no verdict in ``timeout_s``,
        ``DeviceDisconnected`` if the camera went away. Blocking: call it off the UI thread."""
        ...

    def health(self) -> DeviceHealth: ...

    def close(self) -> None: ...
