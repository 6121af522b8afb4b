"""The scanner interface: a QR/barcode scanner hands over one decoded code at a time.

Two kinds are common on kiosks. A USB HID *keyboard-wedge* scanner enumerates as a keyboard and
"types" the code followed by Enter; on Linux it is read from its evdev node
(``/dev/input/by-id/...-event-kbd``), grabbed so its keystrokes never reach the kiosk's window
(:mod:`drivers.scanner.hid_wedge`). A *USB-serial* (CDC-ACM or CH340) scanner sends the code's bytes
on a serial line ended by a suffix, CR, LF or CR LF by default (:mod:`drivers.scanner.serial_line`).
Both deliver text only: what the code means (a payment code, a receipt's status link) is the
kiosk's business.

``read`` blocks until one code or the timeout: a timeout is ``None`` (nobody showed a code: an
expected state), a device that went away raises ``DeviceDisconnected``, bytes that are no code
(a line too long, characters the wedge cannot map) raise ``ProtocolError``.
"""

from __future__ import annotations

from typing import Protocol

from drivers.base import DeviceHealth

MAX_CODE_CHARS = 2048  # a QR code holds at most 4,296 alphanumerics; a payment code is 18 digits


class Scanner(Protocol):
    """A QR/barcode scanner (``[devices.scanner]``)."""

    simulated: bool

    def read(self, timeout_s: float) -> str | None:
        """The next code scanned within ``timeout_s``, else None. Blocking: call off the UI thread."""
        ...

    def health(self) -> DeviceHealth: ...

    def close(self) -> None: ...
