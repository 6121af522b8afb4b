"""Exceptions raised by device drivers.

``drivers`` must not import ``kiosk``, so device errors have their own root here; the kiosk core
treats :class:`DeviceError` as one branch of its error tree (see ``kiosk/errors.py``).

    DeviceError                  a device failed (the message names the device and port)
    ├── DeviceNotFound           the port / device node / camera index does not exist
    ├── DevicePermissionDenied   the OS refused access (udev rule or group missing)
    ├── DeviceDisconnected       the device went away while in use
    ├── DeviceTimeout            the device did not answer in time
    └── ProtocolError            the device answered, but with bytes we cannot accept

Expected states (no card on the reader, paper out, camera busy) are values, not exceptions.
"""

from __future__ import annotations


class DeviceError(Exception):
    """A device failed. ``device`` names it (e.g. ``card_reader``) and ``port`` where it sits."""

    def __init__(self, message: str, *, device: str = "", port: str = "") -> None:
        super().__init__(message)
        self.device = device
        self.port = port

    def __str__(self) -> str:
        where = " ".join(part for part in (self.device, f"on {self.port}" if self.port else "") if part)
        base = super().__str__()
        return f"{base} ({where})" if where else base


class DeviceNotFound(DeviceError):
    """The configured port, device node or camera index does not exist."""


class DevicePermissionDenied(DeviceError):
    """The operating system refused to open the device."""


class DeviceDisconnected(DeviceError):
    """The device disappeared while in use (unplugged, powered off, cable fault)."""


class DeviceTimeout(DeviceError):
    """The device did not answer within the allowed time."""


class ProtocolError(DeviceError):
    """The device answered with bytes that break its protocol (checksum, length, framing)."""
