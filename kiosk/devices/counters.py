"""Per-device usage counters for the maintenance dashboard: reads, prints, frames, errors, and the
last error with its cause.

Counters hang off the device object itself (a weak map, so a closed device takes its counters
with it) and are bumped by the code that uses the device: the card worker counts reads, the print
service counts jobs. Thread-safe: workers count, the dashboard reads a snapshot.
"""

from __future__ import annotations

import threading
import time
import weakref
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class CounterSnapshot:
    reads: int = 0
    prints: int = 0
    frames: int = 0
    errors: int = 0
    last_error: str = ""  # the technician's text: cause, device, port
    last_error_at: float | None = None  # time.time()


class DeviceCounters:
    """Counts for one device. ``count("reads")``; ``error("cause")`` also counts an error."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts = {"reads": 0, "prints": 0, "frames": 0, "errors": 0}
        self._last_error = ""
        self._last_error_at: float | None = None

    def count(self, what: str, n: int = 1) -> None:
        if what not in self._counts:
            raise KeyError(what)
        with self._lock:
            self._counts[what] += n

    def error(self, cause: str) -> None:
        with self._lock:
            self._counts["errors"] += 1
            self._last_error, self._last_error_at = cause, time.time()

    def snapshot(self) -> CounterSnapshot:
        with self._lock:
            return CounterSnapshot(
                **self._counts, last_error=self._last_error, last_error_at=self._last_error_at
            )


_COUNTERS: weakref.WeakKeyDictionary[Any, DeviceCounters] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def counters_for(device: Any) -> DeviceCounters:
    """The counters of ``device`` (made on first use). An object that cannot be weakly referenced
    (a test double with ``__slots__``) gets fresh, unkept counters: counting never breaks a job."""
    with _LOCK:
        try:
            counters = _COUNTERS.get(device)
            if counters is None:
                counters = _COUNTERS[device] = DeviceCounters()
        except TypeError:
            return DeviceCounters()
        return counters
