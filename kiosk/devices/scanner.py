"""Drivers for the scanner role: a QR/barcode scanner for payment codes (付款码) and receipt QR
codes (see kiosk/devices/__init__.py for the table's shape). Optional: a terminal without one
leaves ``[devices.scanner]`` out (or ``driver = "none"``); payment then offers the on-screen QR
only, and the status look-up reads receipts with the camera."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import Device
from kiosk.devices import DeviceContext, DriverEntry


class HidOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    path: str = Field(min_length=1, description="evdev node, e.g. /dev/input/by-id/usb-...-event-kbd")
    grab: bool = True  # take the node exclusively: its keystrokes never reach the kiosk's window


class SerialOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    port: str = Field(min_length=1, description="/dev/ttyACM0, /dev/ttyUSB0 or a by-id path")
    baudrate: int = Field(9600, ge=1200, le=921600)
    encoding: Literal["utf-8", "gb18030"] = "utf-8"


class SimulatedOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    faults: list[Literal["unplugged", "garbled", "no_read"]] = Field(default_factory=list)


def _open_hid(options: Any, _context: DeviceContext) -> Device:
    from drivers.scanner.hid_wedge import HidWedgeScanner

    return HidWedgeScanner(options.path, grab=options.grab)


def _open_serial(options: Any, _context: DeviceContext) -> Device:
    from drivers.scanner.serial_line import SerialLineScanner

    return SerialLineScanner(options.port, baudrate=options.baudrate, encoding=options.encoding)


def _open_simulated(options: Any, _context: DeviceContext) -> Device:
    from drivers.scanner.simulator import Fault, SimulatedScanner

    scanner = SimulatedScanner()
    for name in options.faults:
        scanner.inject(Fault(name))
    return scanner


DRIVERS: dict[str, DriverEntry] = {
    "hid": DriverEntry(
        "hid", "USB HID keyboard-wedge scanner (evdev node, grabbed)", False, HidOptions, _open_hid
    ),
    "serial": DriverEntry(
        "serial", "USB-serial scanner, codes ended by CR/LF", False, SerialOptions, _open_serial
    ),
    "simulated": DriverEntry(
        "simulated",
        "types codes into the real wedge driver; can fake unplugged, garbled, no read",
        True,
        SimulatedOptions,
        _open_simulated,
    ),
}
