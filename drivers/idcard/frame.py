"""GA/T 467 framing: ``AA AA AA 96 69``, a 2-byte big-endian length, the body, an XOR checksum.

The length counts everything after itself (body and checksum); the checksum is the XOR of the two
length bytes and the body. Host->reader bodies are ``CMD PARA [data]``, reader->host bodies
``SW1 SW2 SW3 [data]``. :func:`read_frame` reads a header then exactly the announced length and
resynchronises on the preamble when line noise precedes it.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce

from drivers.errors import DeviceTimeout
from drivers.idcard.base import ChecksumError, FrameError

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
HEADER_LEN = len(PREAMBLE) + 2
MAX_LENGTH = 4096  # text+photo+two fingerprints is 2,321; anything far above is noise


def checksum(data: bytes) -> int:
    """XOR of every byte (the protocol's check byte over length + body)."""
    return reduce(lambda acc, b: acc ^ b, data, 0)


def encode(body: bytes) -> bytes:
    """A whole frame around ``body``."""
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes([checksum(length + body)])


def encode_command(cmd: int, para: int, data: bytes = b"") -> bytes:
    """A host->reader frame, e.g. find card ``encode_command(0x20, 0x01)``."""
    return encode(bytes([cmd, para]) + data)


def encode_reply(sw3: int, data: bytes = b"", sw1: int = 0, sw2: int = 0) -> bytes:
    """A reader->host frame (used by the simulator and tests)."""
    return encode(bytes([sw1, sw2, sw3]) + data)


@dataclass(frozen=True)
class Reply:
    """A decoded reader reply. Only ``sw3`` is the reader's status; SW1/SW2 may carry the card's."""

    sw1: int
    sw2: int
    sw3: int
    data: bytes


@dataclass(frozen=True)
class Command:
    """A decoded host command (the simulator's side)."""

    cmd: int
    para: int
    data: bytes


def decode_body(frame: bytes) -> bytes:
    """The body of a complete frame, after checking preamble, length and checksum."""
    if len(frame) < HEADER_LEN + 1 or not frame.startswith(PREAMBLE):
        raise FrameError(f"not a frame ({len(frame)} bytes)")
    length = int.from_bytes(frame[5:7], "big")
    if length < 2 or length > MAX_LENGTH or len(frame) != HEADER_LEN + length:
        raise FrameError(f"frame length {length} does not match {len(frame) - HEADER_LEN} bytes")
    if checksum(frame[5:-1]) != frame[-1]:
        raise ChecksumError(f"checksum mismatch: got {frame[-1]:02x}, expected {checksum(frame[5:-1]):02x}")
    return frame[7:-1]


def decode_reply(frame: bytes) -> Reply:
    body = decode_body(frame)
    if len(body) < 3:
        raise FrameError(f"reply body too short ({len(body)} bytes)")
    return Reply(body[0], body[1], body[2], body[3:])


def decode_command(frame: bytes) -> Command:
    body = decode_body(frame)
    if len(body) < 2:
        raise FrameError(f"command body too short ({len(body)} bytes)")
    return Command(body[0], body[1], body[2:])


ReadFn = Callable[[int, float], bytes]
"""``read(max_bytes, timeout_s) -> bytes``: up to ``max_bytes``; ``b""`` when nothing came in time."""


def _read_exact(read: ReadFn, size: int, deadline: float) -> bytes:
    chunks = bytearray()
    while len(chunks) < size:
        left = deadline - time.monotonic()
        if left <= 0:
            raise DeviceTimeout(f"reply incomplete: {len(chunks)} of {size} bytes before the deadline")
        chunks += read(size - len(chunks), left)
    return bytes(chunks)


def read_frame(read: ReadFn, deadline: float, *, min_length: int = 4) -> bytes:
    """Read one whole frame before ``deadline`` (``time.monotonic``), skipping noise before it.

    Bytes before the preamble are discarded. A header whose length is implausible (below
    ``min_length`` or above :data:`MAX_LENGTH`) is taken for noise that looked like a preamble: its
    first byte is dropped and the search goes on. Raises :class:`DeviceTimeout` when no whole frame
    arrives in time; the caller checks the checksum with :func:`decode_reply`.
    """
    buf = b""
    while True:
        idx = buf.find(PREAMBLE)
        if idx < 0:
            buf = buf[-(len(PREAMBLE) - 1) :] if buf else b""  # a preamble may straddle two reads
        else:
            buf = buf[idx:]
            if len(buf) >= HEADER_LEN:
                length = int.from_bytes(buf[5:7], "big")
                if min_length <= length <= MAX_LENGTH:
                    rest = buf[HEADER_LEN:]
                    if len(rest) < length:
                        rest += _read_exact(read, length - len(rest), deadline)
                    # bytes past the frame would belong to a later reply; replies never overlap
                    return buf[:HEADER_LEN] + rest[:length]
                buf = buf[1:]
                continue
        left = deadline - time.monotonic()
        if left <= 0:
            what = "reply header incomplete" if buf else "no reply frame before the deadline"
            raise DeviceTimeout(what)
        need = HEADER_LEN - len(buf) if idx >= 0 else HEADER_LEN
        buf += read(max(1, need), left)
