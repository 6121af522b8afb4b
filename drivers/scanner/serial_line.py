"""A USB-serial scanner: each code arrives as bytes ended by a terminator (CR, LF or CR LF).

Scanners in serial (or USB CDC-ACM "virtual COM") mode send the decoded text and a configurable
suffix; CR is the factory default on most, CR LF on some. Any of CR and LF ends a line here, and the
empty line between the two bytes of CR LF is skipped. Text is decoded as UTF-8, or GB18030 for the
Chinese models configured that way; undecodable bytes or a line over :data:`MAX_CODE_CHARS` are a
:class:`~drivers.errors.ProtocolError` (the rest of the stream is still read correctly).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceDisconnected, DeviceNotFound, ProtocolError
from drivers.scanner.base import MAX_CODE_CHARS

TERMINATORS = b"\r\n"


def _open_serial(port: str, baudrate: int) -> Any:
    import serial

    try:
        return serial.Serial(port, baudrate=baudrate, timeout=0.1)
    except serial.SerialException as exc:
        raise DeviceNotFound(
            f"cannot open the scanner's serial port: {exc}", device="scanner", port=port
        ) from exc


class SerialLineScanner:
    """Reads CR/LF-terminated codes from a serial port; ``open_port`` is the seam tests fake."""

    def __init__(
        self,
        port: str,
        *,
        baudrate: int = 9600,
        encoding: str = "utf-8",
        simulated: bool = False,
        open_port: Callable[[str, int], Any] = _open_serial,
    ) -> None:
        self.port = port
        self.baudrate = baudrate
        self.encoding = encoding
        self.simulated = simulated
        self._open_port = open_port
        self._serial: Any = None
        self._buffer = b""
        self._gone = False

    def read(self, timeout_s: float) -> str | None:
        if self._serial is None:
            self._serial = self._open_port(self.port, self.baudrate)
        deadline = time.monotonic() + timeout_s
        while True:
            line = self._take_line()
            if line is not None:
                return line
            if time.monotonic() >= deadline:
                return None
            try:
                chunk = self._serial.read(256)
            except Exception as exc:  # pyserial raises SerialException (an OSError) on unplug
                self._gone = True
                self._serial = None
                raise DeviceDisconnected(
                    f"scanner serial port failed: {exc}", device="scanner", port=self.port
                ) from exc
            self._buffer += chunk

    def _take_line(self) -> str | None:
        while True:
            cut = min((i for i in (self._buffer.find(b"\r"), self._buffer.find(b"\n")) if i >= 0), default=-1)
            if cut < 0:
                if len(self._buffer) > MAX_CODE_CHARS * 4:
                    self._buffer = b""
                    raise ProtocolError(
                        "a code without its terminator, too long", device="scanner", port=self.port
                    )
                return None
            raw, self._buffer = self._buffer[:cut], self._buffer[cut + 1 :]
            if not raw:
                continue  # the empty line between CR and LF
            try:
                text = raw.decode(self.encoding)
            except UnicodeDecodeError as exc:
                raise ProtocolError(
                    f"a code not in {self.encoding}", device="scanner", port=self.port
                ) from exc
            if len(text) > MAX_CODE_CHARS:
                raise ProtocolError("a code too long", device="scanner", port=self.port)
            return text

    def health(self) -> DeviceHealth:
        if self._gone:
            return DeviceHealth(Health.DOWN, "disconnected", f"scanner on {self.port} went away")
        return DeviceHealth(Health.OK, "ok", f"serial scanner on {self.port} at {self.baudrate} baud")

    def close(self) -> None:
        serial, self._serial = self._serial, None
        if serial is not None:
            serial.close()
