"""A simulated liveness camera: answers ``LIVE`` unless a fault is injected (tests, demo,
maintenance screen). Faults: ``unplugged`` (raises ``DeviceDisconnected`` and reports down),
``spoof`` (answers ``SPOOF``), ``no_face`` (answers ``NO_FACE``), ``timeout`` (waits the whole
timeout, then raises ``DeviceTimeout``). Refused in production like every simulator."""

from __future__ import annotations

import enum
import threading

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceDisconnected, DeviceTimeout
from drivers.liveness.base import LivenessResult, LivenessVerdict

DEVICE = "liveness"


class Fault(enum.Enum):
    UNPLUGGED = "unplugged"
    SPOOF = "spoof"
    NO_FACE = "no_face"
    TIMEOUT = "timeout"


class SimulatedLivenessCamera:
    """``LivenessCamera`` without hardware; ``inject``/``clear`` drive its faults."""

    simulated = True

    def __init__(self, *, score: float = 0.97) -> None:
        self._score = score
        self._faults: set[Fault] = set()
        self._closed = threading.Event()
        self._lock = threading.Lock()
        self.checks = 0  # how many checks were asked (tests count them)

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.add(fault)

    def clear(self, fault: Fault | None = None) -> None:
        with self._lock:
            if fault is None:
                self._faults.clear()
            else:
                self._faults.discard(fault)

    def _has(self, fault: Fault) -> bool:
        with self._lock:
            return fault in self._faults

    def check(self, timeout_s: float) -> LivenessResult:
        self.checks += 1
        if self._closed.is_set() or self._has(Fault.UNPLUGGED):
            raise DeviceDisconnected("liveness camera not connected", device=DEVICE, port="simulated")
        if self._has(Fault.TIMEOUT):
            self._closed.wait(timeout_s)  # the vendor SDK never answers; close() ends the wait
            raise DeviceTimeout(f"no liveness verdict within {timeout_s:.1f} s", device=DEVICE)
        if self._has(Fault.SPOOF):
            return LivenessResult(LivenessVerdict.SPOOF, 0.08, "simulated spoof")
        if self._has(Fault.NO_FACE):
            return LivenessResult(LivenessVerdict.NO_FACE, None, "simulated empty view")
        return LivenessResult(LivenessVerdict.LIVE, self._score, "simulated")

    def health(self) -> DeviceHealth:
        if self._closed.is_set():
            return DeviceHealth(Health.DOWN, "closed", "the simulated liveness camera is closed")
        if self._has(Fault.UNPLUGGED):
            return DeviceHealth(Health.DOWN, "unplugged", "the simulated liveness camera is unplugged")
        return DeviceHealth(Health.OK, "ready", "simulated liveness camera")

    def close(self) -> None:
        self._closed.set()
