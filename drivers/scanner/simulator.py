"""A simulated keyboard-wedge scanner: it types codes as evdev key events into a pipe, which the
real :class:`~drivers.scanner.hid_wedge.HidWedgeScanner` reads, so the driver's own parsing runs.

The handle tests and the demo kiosk drive: :meth:`present` (a code held to the window),
:meth:`inject` a :class:`Fault` (``unplugged``: the node goes away; ``garbled``: the next code
arrives with keys outside the map; ``no_read``: codes held up are not read), :meth:`clear`.
"""

from __future__ import annotations

import enum
import os
import threading

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceDisconnected
from drivers.scanner.hid_wedge import EV_KEY, EVENT, HidWedgeScanner, key_events


class Fault(enum.Enum):
    UNPLUGGED = "unplugged"
    GARBLED = "garbled"
    NO_READ = "no_read"


class SimulatedScanner:
    """A wedge scanner over a pipe (see the module); thread-safe ``present`` from any thread."""

    simulated = True

    def __init__(self) -> None:
        read_fd, self._write_fd = os.pipe()
        self._reader = HidWedgeScanner(fd=read_fd, simulated=True)
        self._faults: set[Fault] = set()
        self._lock = threading.Lock()
        self.presented: list[str] = []

    def present(self, code: str) -> None:
        """A code is held to the scanner's window: it types it (unless a fault says otherwise)."""
        with self._lock:
            self.presented.append(code)
            if Fault.NO_READ in self._faults or Fault.UNPLUGGED in self._faults:
                return
            data = key_events(code)
            if Fault.GARBLED in self._faults:
                data = EVENT.pack(0, 0, EV_KEY, 240, 1) + data  # KEY_UNKNOWN before the code
            os.write(self._write_fd, data)

    def inject(self, fault: Fault) -> None:
        with self._lock:
            self._faults.add(fault)
            if fault is Fault.UNPLUGGED and self._write_fd >= 0:
                os.close(self._write_fd)  # the reader sees end of file: the node went away
                self._write_fd = -1

    def clear(self, fault: Fault | None = None) -> None:
        with self._lock:
            self._faults.discard(fault) if fault else self._faults.clear()

    def read(self, timeout_s: float) -> str | None:
        if Fault.UNPLUGGED in self._faults and self._write_fd < 0 and self._reader._gone:
            raise DeviceDisconnected("the simulated scanner is unplugged", device="scanner", port="simulated")
        return self._reader.read(timeout_s)

    def health(self) -> DeviceHealth:
        if Fault.UNPLUGGED in self._faults:
            return DeviceHealth(Health.DOWN, "disconnected", "simulated scanner unplugged")
        return DeviceHealth(Health.OK, "ok", "simulated keyboard-wedge scanner")

    def close(self) -> None:
        self._reader.close()
        with self._lock:
            if self._write_fd >= 0:
                os.close(self._write_fd)
                self._write_fd = -1
