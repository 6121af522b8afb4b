"""The receipt printer interface: send a job of ESC/POS bytes, ask for status.

Transports only move bytes (``write`` / ``read`` with a timeout); the printer class on top does
status queries and job framing, so every transport gets the same behaviour and tests.
"""

from __future__ import annotations

from typing import Protocol

from drivers.base import DeviceHealth
from drivers.printer.status import PrinterStatus

__all__ = ["PrinterStatus", "ReceiptPrinter", "Transport"]


class Transport(Protocol):
    """A byte pipe to a printer. ``read`` returns up to ``size`` bytes, ``b""`` on timeout."""

    name: str
    can_read: bool

    def write(self, data: bytes) -> None:
        """Send all of ``data``; raises :class:`~drivers.errors.DeviceDisconnected` if it cannot."""
        ...

    def read(self, size: int, timeout: float) -> bytes: ...

    def close(self) -> None: ...


class ReceiptPrinter(Protocol):
    """What the print service needs from a receipt printer."""

    simulated: bool
    print_when_status_unknown: bool  # from config: send jobs even when status cannot be read

    def status(self) -> PrinterStatus:
        """Ask DLE EOT 1..4 with a timeout; no answer is ``unknown``."""
        ...

    def send(self, job: bytes) -> None:
        """Send one whole job; raises a DeviceError if the link drops."""
        ...

    def health(self) -> DeviceHealth: ...

    def close(self) -> None: ...
