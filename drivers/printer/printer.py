"""``EscPosPrinter``: a receipt printer over any transport, with DLE EOT status before jobs."""

from __future__ import annotations

import contextlib
import threading

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceError
from drivers.printer.base import Transport
from drivers.printer.escpos import PrinterProfile
from drivers.printer.status import QUERIES, PrinterStatus, decode_status, status_query


class EscPosPrinter:
    """Sends jobs and asks status over one transport. Thread-safe: one job or query at a time."""

    print_when_status_unknown = False  # set from config: print when status cannot be read
    simulated = False

    def __init__(
        self, transport: Transport, profile: PrinterProfile | None = None, *, status_timeout: float = 0.5
    ) -> None:
        self.transport = transport
        self.profile = profile or PrinterProfile()
        self.status_timeout = status_timeout
        self._lock = threading.Lock()

    def status(self) -> PrinterStatus:
        """Ask DLE EOT 1..4, each with ``status_timeout``; a dropped link is ``disconnected``."""
        if not self.transport.can_read:
            return PrinterStatus.unknown()
        answers: dict[int, int | None] = {}
        with self._lock:
            try:
                # Drop stale bytes (e.g. an automatic status) so answers line up with queries.
                while self.transport.read(64, 0.0):
                    pass
                for n in QUERIES:
                    self.transport.write(status_query(n))
                    reply = self.transport.read(1, self.status_timeout)
                    answers[n] = reply[0] if reply else None
                    if reply == b"" and n == 1:
                        break  # one silent query is enough to call it unknown; don't wait 4 times
            except DeviceError:
                return PrinterStatus.disconnected()
        return decode_status(answers)

    def send(self, job: bytes) -> None:
        with self._lock:
            self.transport.write(job)

    def health(self) -> DeviceHealth:
        status = self.status()
        if status.code == "ready":
            return DeviceHealth(Health.OK, "ready")
        if status.code == "paper_near_end":
            return DeviceHealth(Health.DEGRADED, status.code, "paper near end")
        if status.code == "unknown":
            return DeviceHealth(Health.UNKNOWN, "unknown", f"no status answer on {self.transport.name}")
        return DeviceHealth(Health.DOWN, status.code, f"{status.code} on {self.transport.name}")

    def close(self) -> None:
        with contextlib.suppress(DeviceError):
            self.transport.close()
