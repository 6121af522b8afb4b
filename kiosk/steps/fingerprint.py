"""Both thumbs on the collector, for the new ID card (issue #19), as a Kivy-free engine.

The right thumb first, then the left (the order the card office takes them). A capture that is too
poor or finds no finger is asked again, up to ``ATTEMPTS`` times per thumb, each time saying what
to do; a thumb that still cannot be taken, or a collector that fails, does not stop the service:
the request says the thumbs are taken at pick-up (as it does when the terminal has no collector),
because the card office takes them anyway when the card is handed over.

What the request carries (``session.values["fingerprints"]``, schema field ``fingerprints``):
``{"status": "collected", "fingers": [{"finger", "quality", "feature_b64"}]}`` or
``{"status": "at_pickup", "reason": "no_collector" | "not_captured" | "collector_failed"}``; the
grey scans go as PNG attachments (``fingerprint_<finger>``: :func:`scan_attachments`). All of it
lives in the session only and is wiped with it.
"""

from __future__ import annotations

import base64
import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from drivers.fingerprint.base import FINGERS, CaptureStatus, FingerCapture
from kiosk.steps.backend_step import Runner

log = logging.getLogger(__name__)

ATTEMPTS = 3  # captures per thumb before it is left for pick-up
CAPTURE_TIMEOUT_S = 15.0  # the resident has this long to press each time

PLACE, CAPTURING, DONE, AT_PICKUP = "place", "capturing", "done", "at_pickup"


@dataclass(frozen=True)
class FingerprintState:
    phase: str = PLACE
    finger: str = FINGERS[0]
    attempt: int = 1
    instruction_key: str = "fingerprint.place.right_thumb"
    reason: str = ""  # at_pickup: no_collector | not_captured | collector_failed
    taken: tuple[str, ...] = ()  # thumbs captured so far

    @property
    def finished(self) -> bool:
        return self.phase in (DONE, AT_PICKUP)


class FingerprintEngine:
    """One visit's thumb prints: ``start``, then outcomes arrive through the runner."""

    def __init__(
        self,
        collector: Any,
        tasks: Runner,
        *,
        on_change: Callable[[FingerprintState], None] | None = None,
        timeout_s: float = CAPTURE_TIMEOUT_S,
    ) -> None:
        self._collector = collector
        self._tasks = tasks
        self._on_change = on_change
        self._timeout_s = timeout_s
        self.captures: dict[str, FingerCapture] = {}
        self.state = FingerprintState()
        self.left = False

    def start(self) -> None:
        if self.left:
            return
        if self._collector is None or not self._usable():
            self._end_at_pickup("no_collector")
            return
        self._capture()

    def leave(self) -> None:
        self.left = True
        self._tasks.cancel()

    def results(self) -> dict[str, Any]:
        """What the step hands the flow once finished (the request's ``fingerprints``)."""
        if self.state.phase == DONE:
            fingers = [
                {
                    "finger": c.finger,
                    "quality": c.quality,
                    "feature_b64": base64.b64encode(c.feature).decode("ascii"),
                }
                for c in (self.captures[f] for f in FINGERS)
            ]
            return {"fingerprints": {"status": "collected", "fingers": fingers}}
        return {"fingerprints": {"status": "at_pickup", "reason": self.state.reason or "no_collector"}}

    # -- internals ----------------------------------------------------------------------------------
    def _usable(self) -> bool:
        health = getattr(self._collector, "health", None)
        return health is None or bool(health().usable)

    def _capture(self) -> None:
        finger = self.state.finger
        self._set(phase=CAPTURING)
        self._tasks.run(
            lambda: self._collector.capture(finger, self._timeout_s),
            self._captured,
            self._failed,
            name="fingerprint-capture",
        )

    def _captured(self, capture: FingerCapture) -> None:
        if self.left:
            return
        finger = self.state.finger
        if capture.status is CaptureStatus.OK:
            self.captures[finger] = capture
            taken = (*self.state.taken, finger)
            rest = [f for f in FINGERS if f not in taken]
            if not rest:
                log.info(
                    "fingerprints: both thumbs taken (quality %s)",
                    [c.quality for c in self.captures.values()],
                )
                self._set(phase=DONE, taken=taken, instruction_key="fingerprint.done")
                return
            self._set(finger=rest[0], attempt=1, taken=taken, instruction_key=f"fingerprint.place.{rest[0]}")
            self._capture()
            return
        log.info("fingerprints: %s %s on attempt %d", finger, capture.status.value, self.state.attempt)
        if self.state.attempt >= ATTEMPTS:
            self._end_at_pickup("not_captured")
            return
        again = (
            "fingerprint.again.no_finger"
            if capture.status is CaptureStatus.NO_FINGER
            else "fingerprint.again.poor"
        )
        self._set(attempt=self.state.attempt + 1, instruction_key=again)
        self._capture()

    def _failed(self, exc: Exception) -> None:
        from drivers.errors import DeviceError

        if self.left:
            return
        if not isinstance(exc, DeviceError):
            raise exc  # a bug: the runner hands it to the app's calm end of the visit
        log.warning("fingerprints: the collector failed: %s", exc)
        self._end_at_pickup("collector_failed")

    def _end_at_pickup(self, reason: str) -> None:
        self.captures.clear()
        self._set(phase=AT_PICKUP, reason=reason, instruction_key=f"fingerprint.at_pickup.{reason}")

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        if self._on_change is not None:
            self._on_change(self.state)


def scan_attachments(engine: FingerprintEngine) -> list[tuple[str, bytes]]:
    """(attachment name, PNG) of each thumb taken, for the submit step."""
    return [(f"fingerprint_{c.finger}", c.image_png) for c in engine.captures.values() if c.image_png]
