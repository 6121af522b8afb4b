"""``SamSerialReader``: the GA/T 467 "SAM" serial protocol over pyserial.

A read is find -> select -> read text+photo (optionally with fingerprints) -> read the additional
address. Each command is one frame out, one frame back; the reply's header is read first, then
exactly its announced length (:func:`drivers.idcard.frame.read_frame`). A corrupted or missing
reply is retried a bounded number of times (``retries``), then reported as the error it was. The
port sits behind the tiny :class:`SerialPort` seam so tests can fake it without patching pyserial.
"""

from __future__ import annotations

import errno
import logging
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from drivers.base import DeviceHealth, Health
from drivers.errors import (
    DeviceDisconnected,
    DeviceError,
    DeviceNotFound,
    DevicePermissionDenied,
    DeviceTimeout,
    ProtocolError,
)
from drivers.idcard.base import CardDataError, CardReaderError, CardReadFailed, IdCard, Presence, SamError
from drivers.idcard.decode import TEXT_LEN, decode_address, decode_text
from drivers.idcard.frame import Reply, decode_reply, encode_command, read_frame
from drivers.idcard.wlt import PhotoDecoder

log = logging.getLogger(__name__)

# (CMD, PARA) of each command
RESET = (0x10, 0xFF)
SAM_STATUS = (0x11, 0xFF)
SAM_ID = (0x12, 0xFF)
FIND = (0x20, 0x01)
SELECT = (0x20, 0x02)
READ_TEXT_PHOTO = (0x30, 0x01)
READ_EXTRA_ADDRESS = (0x30, 0x03)
READ_WITH_FINGERPRINT = (0x30, 0x10)

SW_OK = 0x90
SW_FIND_OK = 0x9F
SW_NO_CONTENT = 0x91
SW_NO_CARD = 0x80
SW_HOST_CHECKSUM = 0x10
PHOTO_LEN = 1024
ABORT_SLICE_S = 0.1

# every non-success SW3: the error class, its stable reason word, the technician's text
SW3_ERRORS: dict[int, tuple[type[CardReaderError], str, str]] = {
    0x81: (CardReadFailed, "select_failed", "card select failed"),
    0x40: (CardReadFailed, "unknown_card_type", "unknown card type"),
    0x41: (CardReadFailed, "read_failed", "card read failed"),
    0x31: (CardReadFailed, "card_auth_failed", "card authentication failed"),
    0x33: (CardReadFailed, "data_verify_failed", "card data verification failed"),
    0x47: (CardReadFailed, "random_failed", "get-random from the card failed"),
    0x10: (SamError, "host_checksum", "reader reports a checksum error in the host's frame"),
    0x11: (SamError, "length_error", "reader reports a length error in the host's frame"),
    0x21: (SamError, "bad_command", "reader does not know the command"),
    0x23: (SamError, "unauthorised", "command not authorised"),
    0x24: (SamError, "unknown_error", "reader reports an unknown error"),
    0x32: (SamError, "sam_auth_failed", "SAM authentication failed"),
    0x60: (SamError, "sam_self_test", "SAM self-test failed"),
    0x66: (SamError, "sam_unauthorised", "SAM not authorised"),
}


class SerialPort(Protocol):
    """The part of a serial port the driver uses."""

    def write(self, data: bytes) -> None: ...

    def read(self, size: int, timeout: float) -> bytes:
        """Up to ``size`` bytes, waiting at most ``timeout`` s for the first; ``b""`` if none came."""
        ...

    def discard_input(self) -> None: ...

    def close(self) -> None: ...


class PySerialPort:
    """:class:`SerialPort` over pyserial, converting its exceptions to :mod:`drivers.errors`."""

    def __init__(self, path: str, baud: int, *, device: str = "card_reader") -> None:
        import serial

        self._serial_exception = serial.SerialException
        self.path, self._device = path, device
        try:
            # timeout 0: pyserial returns what is there; waiting is done with select() below so no
            # termios reconfiguration happens per read (it would on every timeout change)
            self._serial = serial.Serial(path, baud, timeout=0, write_timeout=1.0, exclusive=True)
        except (serial.SerialException, OSError) as exc:
            raise self._open_error(exc) from exc
        self._fd = self._serial.fileno()

    def _open_error(self, exc: Exception) -> DeviceError:
        code = getattr(exc, "errno", None)
        if code in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
            return DeviceNotFound("port not found", device=self._device, port=self.path)
        if code in (errno.EACCES, errno.EPERM):
            return DevicePermissionDenied(
                "permission denied (is the user in the dialout group?)", device=self._device, port=self.path
            )
        if code in (errno.EBUSY, errno.EAGAIN, errno.EWOULDBLOCK) or "lock" in str(exc):
            return DeviceError(
                "port is busy (another program has it open)", device=self._device, port=self.path
            )
        return DeviceError(f"cannot open port: {exc}", device=self._device, port=self.path)

    def _gone(self, exc: Exception) -> DeviceDisconnected:
        return DeviceDisconnected(f"reader disconnected: {exc}", device=self._device, port=self.path)

    def write(self, data: bytes) -> None:
        try:
            self._serial.write(data)
        except (self._serial_exception, OSError) as exc:
            raise self._gone(exc) from exc

    def read(self, size: int, timeout: float) -> bytes:
        try:
            ready, _, _ = select.select([self._fd], [], [], max(0.0, timeout))
            if not ready:
                return b""
            data: bytes = self._serial.read(size)
        except (self._serial_exception, OSError, ValueError) as exc:
            raise self._gone(exc) from exc
        return data

    def discard_input(self) -> None:
        try:
            self._serial.reset_input_buffer()
        except (self._serial_exception, OSError) as exc:
            raise self._gone(exc) from exc

    def close(self) -> None:
        try:
            self._serial.close()
        except (self._serial_exception, OSError):
            log.debug("closing %s failed; it is gone already", self.path)


PortOpener = Callable[[str, int], SerialPort]


def open_pyserial(path: str, baud: int) -> SerialPort:
    return PySerialPort(path, baud)


@dataclass(frozen=True)
class Timeouts:
    """Reply deadlines. Working readers answer find/select in a few ms and a read in ~120 ms."""

    command_s: float = 0.5  # reset, SAM status/id, find, select, additional address
    read_s: float = 2.0
    fingerprint_s: float = 3.0


class SamSerialReader:
    """A GA/T 467 reader on a serial port (or a pty, in demo mode).

    ``port`` is a path or a callable resolving one at each (re)open (USB auto-detection). Not
    thread-safe by design beyond an internal lock: one worker thread owns the reader.
    """

    simulated = False

    def __init__(
        self,
        port: str | Callable[[], str],
        *,
        baud: int = 115200,
        timeouts: Timeouts = Timeouts(),
        retries: int = 2,
        opener: PortOpener = open_pyserial,
        wlt_decoder: PhotoDecoder | None = None,
        device: str = "card_reader",
    ) -> None:
        self._resolve = port if callable(port) else (lambda: port)
        self.port = port if isinstance(port, str) else ""
        self.baud, self.timeouts, self.retries = baud, timeouts, retries
        self._opener, self._decoder, self._device = opener, wlt_decoder, device
        self._serial: SerialPort | None = None
        self._lock = threading.RLock()
        self._health = DeviceHealth(Health.UNKNOWN, "not_opened")
        self._closing = threading.Event()  # set by close() from another thread: abort the wait
        self.last_status = ""  # SW1 SW2 SW3 of the last reply, hex (diagnostics)

    # -- connection -------------------------------------------------------------------------
    def open(self) -> None:
        """Open the port and check the SAM answers; raises DeviceError naming the cause."""
        with self._lock:
            self.close()
            self._closing.clear()
            try:
                self.port = self._resolve()
                self._serial = self._opener(self.port, self.baud)
                self._transact(SAM_STATUS, self.timeouts.command_s, expect=(SW_OK,))
            except DeviceError as exc:
                self._drop(exc)
                raise
            self._health = DeviceHealth(Health.OK, "ready", f"{self.port} @ {self.baud}")

    def close(self) -> None:
        """Close the port. From another thread it aborts a command in flight within ~0.1 s."""
        self._closing.set()
        with self._lock:
            if self._serial is not None:
                self._serial.close()
                self._serial = None
            self._health = DeviceHealth(Health.DOWN, "closed")

    def health(self) -> DeviceHealth:
        return self._health

    def _drop(self, exc: DeviceError) -> None:
        if self._serial is not None:
            self._serial.close()
            self._serial = None
        code = "disconnected" if isinstance(exc, DeviceDisconnected | DeviceNotFound) else "error"
        self._health = DeviceHealth(Health.DOWN, code, str(exc))

    # -- one command ------------------------------------------------------------------------
    def _error(self, reply: Reply) -> CardReaderError:
        cls, reason, text = SW3_ERRORS.get(
            reply.sw3, (CardReaderError, f"sw3_{reply.sw3:02x}", "unknown status")
        )
        return cls(
            f"{text} (SW3 {reply.sw3:02X})", sw3=reply.sw3, reason=reason, device=self._device, port=self.port
        )

    def _transact(
        self,
        command: tuple[int, int],
        timeout: float,
        *,
        expect: tuple[int, ...],
        attempts: int | None = None,
    ) -> Reply:
        """Send one command and return its reply with an SW3 in ``expect`` (or no-card / no-content).

        A corrupted, truncated or missing reply, or the reader's "checksum error in your frame",
        is retried; other SW3 codes raise their :class:`CardReaderError` at once.
        """
        if self._serial is None:
            raise DeviceDisconnected("reader is not open", device=self._device, port=self.port)
        serial = self._serial

        def read(size: int, timeout: float) -> bytes:
            # waits in slices so that close() from another thread (worker stop) is noticed quickly
            if self._closing.is_set():
                raise DeviceDisconnected("reader closed", device=self._device, port=self.port)
            return serial.read(size, min(timeout, ABORT_SLICE_S))

        frame = encode_command(*command)
        last: DeviceError | None = None
        for attempt in range(attempts if attempts is not None else self.retries + 1):
            if attempt:
                serial.discard_input()  # leftovers of the bad reply must not be taken for the next
                log.debug("retrying %02X %02X after: %s", command[0], command[1], last)
            serial.write(frame)
            try:
                reply = decode_reply(read_frame(read, time.monotonic() + timeout))
            except (ProtocolError, DeviceTimeout) as exc:
                last = exc
                continue
            self.last_status = f"{reply.sw1:02X} {reply.sw2:02X} {reply.sw3:02X}"
            if reply.sw3 == SW_HOST_CHECKSUM:
                last = self._error(reply)
                continue
            if reply.sw3 in expect or reply.sw3 in (SW_NO_CARD, SW_NO_CONTENT):
                return reply
            raise self._error(reply)
        assert last is not None
        last.device, last.port = self._device, self.port
        raise last

    def _run(self, command: tuple[int, int], timeout: float, **kwargs: Any) -> Reply:
        with self._lock:
            try:
                return self._transact(command, timeout, **kwargs)
            except (DeviceDisconnected, DeviceNotFound) as exc:
                self._drop(exc)
                raise
            except DeviceTimeout as exc:
                self._health = DeviceHealth(Health.DOWN, "timeout", str(exc))
                raise

    # -- the commands -------------------------------------------------------------------------
    def reset(self) -> None:
        self._run(RESET, self.timeouts.command_s, expect=(SW_OK,))

    def sam_id(self) -> str:
        reply = self._run(SAM_ID, self.timeouts.command_s, expect=(SW_OK,))
        return reply.data.hex("-", 4).upper()

    def find_card(self) -> Presence:
        reply = self._run(FIND, self.timeouts.command_s, expect=(SW_FIND_OK,))
        self._health = DeviceHealth(Health.OK, "ready", f"{self.port} @ {self.baud}")
        return Presence.CARD if reply.sw3 == SW_FIND_OK else Presence.NO_CARD

    def select_card(self) -> bytes | Presence:
        """The card's serial number (8 bytes), or ``Presence.NO_CARD``."""
        reply = self._run(SELECT, self.timeouts.command_s, expect=(SW_OK,))
        return reply.data if reply.sw3 == SW_OK else Presence.NO_CARD

    def read_extra_address(self) -> str:
        """The additional (new) address, or "" when the card has none (SW3 0x91)."""
        reply = self._run(READ_EXTRA_ADDRESS, self.timeouts.command_s, expect=(SW_OK,))
        return decode_address(reply.data) if reply.sw3 == SW_OK else ""

    def read_card(self, *, fingerprint: bool = False, extra_address: bool = True) -> IdCard | Presence:
        """find -> select -> read (-> additional address). ``Presence.NO_CARD`` when no card is there.

        A corrupted read reply restarts the whole sequence (a reader may not answer a repeated read
        without a new select), at most ``retries`` times.
        """
        command = READ_WITH_FINGERPRINT if fingerprint else READ_TEXT_PHOTO
        timeout = self.timeouts.fingerprint_s if fingerprint else self.timeouts.read_s
        with self._lock:
            last: DeviceError | None = None
            for _ in range(self.retries + 1):
                if self.find_card() is Presence.NO_CARD:
                    return Presence.NO_CARD
                if self.select_card() is Presence.NO_CARD:
                    return Presence.NO_CARD
                try:
                    reply = self._run(command, timeout, expect=(SW_OK,), attempts=1)
                except (ProtocolError, DeviceTimeout, SamError) as exc:
                    if isinstance(exc, SamError) and exc.sw3 != SW_HOST_CHECKSUM:
                        raise
                    last = exc
                    continue
                if reply.sw3 == SW_NO_CARD:
                    return Presence.NO_CARD
                if reply.sw3 != SW_OK:
                    raise self._error(reply)
                address = self.read_extra_address() if extra_address else ""
                return self._decode(reply.data, fingerprint, address)
            assert last is not None
            raise last

    def _decode(self, data: bytes, fingerprint: bool, address: str) -> IdCard:
        words = 3 if fingerprint else 2
        if len(data) < 2 * words:
            raise CardDataError("read reply too short", device=self._device, port=self.port)
        lengths = [int.from_bytes(data[i : i + 2], "big") for i in range(0, 2 * words, 2)]
        text_len, photo_len = lengths[0], lengths[1]
        fp_len = lengths[2] if fingerprint else 0
        if (
            text_len != TEXT_LEN
            or photo_len != PHOTO_LEN
            or len(data) != 2 * words + text_len + photo_len + fp_len
        ):
            raise CardDataError(
                f"read reply lengths {lengths} do not add up to {len(data)} bytes",
                device=self._device,
                port=self.port,
            )
        body = data[2 * words :]
        text, photo, prints = (
            body[:text_len],
            body[text_len : text_len + photo_len],
            body[text_len + photo_len :],
        )
        try:
            card = decode_text(text, photo, prints, address)
        except CardDataError as exc:
            exc.device, exc.port = self._device, self.port
            raise
        if self._decoder is not None:
            import dataclasses

            card = dataclasses.replace(card, photo_bmp=self._decoder.decode(photo))
        return card
