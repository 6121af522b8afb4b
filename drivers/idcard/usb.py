"""Finding a USB-serial card reader by its USB ``VID:PID`` (pyserial's ``list_ports``).

Most readers sit behind a CH340/CP210x/FTDI adapter, so the ttyUSB number changes between boots;
configuring ``usb_vid_pid = "1a86:7523"`` instead of a path lets the driver find it at each (re)open.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from drivers.errors import DeviceError, DeviceNotFound


def parse_vid_pid(text: str) -> tuple[int, int]:
    """``"1a86:7523"`` -> ``(0x1A86, 0x7523)``; raises ValueError for anything else."""
    vid, sep, pid = text.strip().partition(":")
    if not sep or len(vid) != 4 or len(pid) != 4:
        raise ValueError(f"expected VID:PID as four hex digits each, got {text!r}")
    return int(vid, 16), int(pid, 16)


def _ports() -> Iterable[Any]:
    from serial.tools import list_ports

    return list(list_ports.comports())


def find_port(vid_pid: str, *, ports: Callable[[], Iterable[Any]] = _ports) -> str:
    """The device path of the one serial port with this USB id; raises DeviceNotFound otherwise.

    Several matches (two identical adapters) are refused rather than guessed: configure ``port``
    with a stable ``/dev/serial/by-id/...`` path instead.
    """
    vid, pid = parse_vid_pid(vid_pid)
    found = sorted(str(p.device) for p in ports() if p.vid == vid and p.pid == pid)
    if not found:
        raise DeviceNotFound(f"no serial port with USB id {vid_pid}", device="card_reader")
    if len(found) > 1:
        raise DeviceError(
            f"{len(found)} serial ports with USB id {vid_pid} ({', '.join(found)}): set port explicitly",
            device="card_reader",
        )
    return found[0]
