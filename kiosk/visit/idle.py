"""Idle detection for the resident's session, as pure logic over an injectable clock.

Each step has an idle timeout (config default, or the step's own). ``warning_s`` before it, a
warning with a countdown appears; any touch resets it; "more time" extends it once per warning.
Tests drive it with :class:`FakeClock` instead of sleeping.
"""

from __future__ import annotations

import enum
import time
from collections.abc import Callable
from dataclasses import dataclass


class FakeClock:
    """A monotonic clock that only moves when told to (tests, screenshot tours)."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class IdleState(enum.Enum):
    ACTIVE = "active"
    WARNING = "warning"
    EXPIRED = "expired"


@dataclass(frozen=True)
class IdleStatus:
    state: IdleState
    remaining_s: float  # until expiry


class IdleMonitor:
    """Tracks the last resident activity against a timeout with a warning period before it."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self.timeout_s = 90.0
        self.warning_s = 20.0
        self._last = clock()

    def reset(self, timeout_s: float | None = None, warning_s: float | None = None) -> None:
        """Activity (a touch) or a new step: start counting again, optionally with new limits."""
        if timeout_s is not None:
            self.timeout_s = timeout_s
        if warning_s is not None:
            self.warning_s = min(warning_s, self.timeout_s / 2)
        self._last = self.clock()

    def status(self, now: float | None = None) -> IdleStatus:
        """Where the resident stands against the timeout at ``now`` (the monitor's clock if None)."""
        remaining = self.timeout_s - ((self.clock() if now is None else now) - self._last)
        if remaining <= 0:
            return IdleStatus(IdleState.EXPIRED, 0.0)
        if remaining <= self.warning_s:
            return IdleStatus(IdleState.WARNING, remaining)
        return IdleStatus(IdleState.ACTIVE, remaining)
