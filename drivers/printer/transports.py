"""Byte transports to receipt printers: raw TCP (port 9100), serial, USB, file.

Each only sends bytes and reads bytes with a timeout; :func:`open_transport` builds one from the
issue's URI forms ``tcp:HOST:PORT``, ``serial:DEVICE[?baud=N]``, ``usb:VID:PID``, ``file:PATH``.
Errors are converted to :mod:`drivers.errors` at this edge.
"""

from __future__ import annotations

import contextlib
import select
import socket
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

from drivers.errors import (
    DeviceDisconnected,
    DeviceError,
    DeviceNotFound,
    DevicePermissionDenied,
    DeviceTimeout,
)
from drivers.printer.base import Transport

DEVICE = "receipt_printer"


class TcpTransport:
    """Raw TCP ("JetDirect", port 9100); status answers come back on the same socket."""

    can_read = True

    def __init__(self, host: str, port: int = 9100, *, connect_timeout: float = 3.0) -> None:
        self.name = f"tcp:{host}:{port}"
        try:
            self._sock = socket.create_connection((host, port), timeout=connect_timeout)
        except TimeoutError as exc:
            raise DeviceTimeout(
                "printer did not accept the connection", device=DEVICE, port=self.name
            ) from exc
        except OSError as exc:
            raise DeviceNotFound(
                f"cannot connect: {exc.strerror or exc}", device=DEVICE, port=self.name
            ) from exc

    def write(self, data: bytes) -> None:
        try:
            self._sock.settimeout(10.0)
            self._sock.sendall(data)
        except OSError as exc:
            raise DeviceDisconnected(f"connection lost: {exc}", device=DEVICE, port=self.name) from exc

    def read(self, size: int, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self._sock], [], [], timeout)
            if not ready:
                return b""
            data = self._sock.recv(size)
        except OSError as exc:
            raise DeviceDisconnected(f"connection lost: {exc}", device=DEVICE, port=self.name) from exc
        if not data:
            raise DeviceDisconnected("printer closed the connection", device=DEVICE, port=self.name)
        return data

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._sock.close()


class SerialTransport:
    """A serial port (pyserial), 8N1, default 115200 baud (19200 and 9600 are common too)."""

    can_read = True

    def __init__(self, device: str, baud: int = 115200) -> None:
        import serial

        self.name = f"serial:{device}"
        self.baud = baud
        try:
            # exclusive: a second program (a selftest beside the running kiosk) writing to the same
            # port would interleave its ESC/POS bytes with a resident's receipt
            self._port: Any = serial.Serial(
                device, baudrate=baud, timeout=0, write_timeout=10, exclusive=True
            )
        except serial.SerialException as exc:
            if isinstance(exc.__context__, PermissionError):
                raise DevicePermissionDenied(str(exc), device=DEVICE, port=self.name) from exc
            if isinstance(exc.__context__, BlockingIOError) or "exclusively lock" in str(exc):
                raise DeviceError(
                    "port is busy (another program has it open)", device=DEVICE, port=self.name
                ) from exc
            raise DeviceNotFound(str(exc), device=DEVICE, port=self.name) from exc

    def write(self, data: bytes) -> None:
        import serial

        try:
            self._port.write(data)
            self._port.flush()
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"write failed: {exc}", device=DEVICE, port=self.name) from exc

    def read(self, size: int, timeout: float) -> bytes:
        import serial

        deadline = time.monotonic() + timeout
        try:
            while True:
                data = bytes(self._port.read(size))
                if data or time.monotonic() >= deadline:
                    return data
                time.sleep(0.005)
        except (serial.SerialException, OSError) as exc:
            raise DeviceDisconnected(f"read failed: {exc}", device=DEVICE, port=self.name) from exc

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._port.close()


class FileTransport:
    """Appends to a file or device node (``/dev/usb/lp0``); cannot read, so status is unknown."""

    can_read = False

    def __init__(self, path: str) -> None:
        self.name = f"file:{path}"
        self._path = Path(path)
        if not self._path.parent.is_dir():
            raise DeviceNotFound("folder does not exist", device=DEVICE, port=self.name)

    def write(self, data: bytes) -> None:
        try:
            with self._path.open("ab") as handle:
                handle.write(data)
        except PermissionError as exc:
            raise DevicePermissionDenied(str(exc), device=DEVICE, port=self.name) from exc
        except OSError as exc:
            raise DeviceDisconnected(f"write failed: {exc}", device=DEVICE, port=self.name) from exc

    def read(self, size: int, timeout: float) -> bytes:
        return b""

    def close(self) -> None:
        return None


class UsbTransport:
    """A USB printer class device through pyusb (bulk OUT/IN endpoints of interface 0)."""

    can_read = True

    def __init__(self, vid: int, pid: int) -> None:
        self.name = f"usb:{vid:04x}:{pid:04x}"
        try:
            import usb.core
            import usb.util
        except ImportError as exc:
            raise DeviceError(
                "USB printers need the pyusb package (pip install pyusb) and libusb-1.0-0",
                device=DEVICE,
                port=self.name,
            ) from exc
        try:
            dev = usb.core.find(idVendor=vid, idProduct=pid)
        except usb.core.NoBackendError as exc:
            raise DeviceError("libusb is missing (apt-get install libusb-1.0-0)", device=DEVICE) from exc
        if dev is None:
            raise DeviceNotFound("no such USB device", device=DEVICE, port=self.name)
        try:
            with contextlib.suppress(NotImplementedError, usb.core.USBError):
                if dev.is_kernel_driver_active(0):
                    dev.detach_kernel_driver(0)
            dev.set_configuration()
            intf = dev.get_active_configuration()[(0, 0)]
        except usb.core.USBError as exc:
            raise DevicePermissionDenied(
                f"cannot claim the printer: {exc}", device=DEVICE, port=self.name
            ) from exc
        direction = usb.util.endpoint_direction

        def match(wanted: int) -> Any:
            return usb.util.find_descriptor(
                intf, custom_match=lambda e: direction(e.bEndpointAddress) == wanted
            )

        self._dev = dev
        self._out = match(usb.util.ENDPOINT_OUT)
        self._in = match(usb.util.ENDPOINT_IN)
        self.can_read = self._in is not None

    def write(self, data: bytes) -> None:
        import usb.core

        try:
            self._out.write(data, timeout=10_000)
        except usb.core.USBError as exc:
            raise DeviceDisconnected(f"write failed: {exc}", device=DEVICE, port=self.name) from exc

    def read(self, size: int, timeout: float) -> bytes:
        import usb.core

        if self._in is None:
            return b""
        try:
            return bytes(self._in.read(max(size, self._in.wMaxPacketSize), timeout=int(timeout * 1000)))
        except usb.core.USBTimeoutError:
            return b""
        except usb.core.USBError as exc:
            raise DeviceDisconnected(f"read failed: {exc}", device=DEVICE, port=self.name) from exc

    def close(self) -> None:
        import usb.util

        with contextlib.suppress(Exception):
            usb.util.dispose_resources(self._dev)


def open_transport(uri: str) -> Transport:
    """Open ``tcp:HOST:PORT``, ``serial:DEVICE[?baud=N]``, ``usb:VID:PID`` or ``file:PATH``."""
    scheme, _, rest = uri.partition(":")
    if scheme == "tcp":
        host, _, port = rest.rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"expected tcp:HOST:PORT, got {uri!r}")
        return TcpTransport(host, int(port))
    if scheme == "serial":
        device, _, query = rest.partition("?")
        baud = parse_qs(query).get("baud", ["115200"])[0]
        if not device or not baud.isdigit():
            raise ValueError(f"expected serial:DEVICE[?baud=N], got {uri!r}")
        return SerialTransport(device, int(baud))
    if scheme == "usb":
        vid, _, pid = rest.partition(":")
        try:
            ids = int(vid, 16), int(pid, 16)
        except ValueError as exc:
            raise ValueError(f"expected usb:VID:PID in hex, got {uri!r}") from exc
        return UsbTransport(*ids)
    if scheme == "file":
        if not rest:
            raise ValueError(f"expected file:PATH, got {uri!r}")
        return FileTransport(rest)
    raise ValueError(f"unknown printer URI {uri!r} (tcp:, serial:, usb:, file:, cups:)")
