"""GA/T 467 framing: encode/decode, checksum, header-then-length reads, resync after noise."""

from __future__ import annotations

import time

import pytest

from drivers.errors import DeviceTimeout
from drivers.idcard import frame
from drivers.idcard.base import ChecksumError, FrameError


class ByteSource:
    """A fake serial read over fixed chunks; records the size of every read request."""

    def __init__(self, *chunks: bytes) -> None:
        self.data = bytearray(b"".join(chunks))
        self.requests: list[int] = []

    def read(self, size: int, timeout: float) -> bytes:
        self.requests.append(size)
        out = bytes(self.data[:size])
        del self.data[:size]
        return out


def test_find_card_frame_matches_the_documented_bytes() -> None:
    assert frame.encode_command(0x20, 0x01) == bytes.fromhex("AAAAAA9669000320 0122".replace(" ", ""))


def test_reply_round_trip() -> None:
    raw = frame.encode_reply(0x90, b"\x01\x02\x03", sw1=0x12, sw2=0x34)
    reply = frame.decode_reply(raw)
    assert (reply.sw1, reply.sw2, reply.sw3, reply.data) == (0x12, 0x34, 0x90, b"\x01\x02\x03")


def test_command_round_trip() -> None:
    command = frame.decode_command(frame.encode_command(0x30, 0x10, b"xy"))
    assert (command.cmd, command.para, command.data) == (0x30, 0x10, b"xy")


def test_flipped_checksum_is_a_checksum_error() -> None:
    raw = frame.encode_reply(0x9F, bytes(4))
    with pytest.raises(ChecksumError):
        frame.decode_reply(raw[:-1] + bytes([raw[-1] ^ 1]))


@pytest.mark.parametrize("cut", [1, 5, 8])
def test_truncated_frame_is_a_frame_error(cut: int) -> None:
    raw = frame.encode_reply(0x90, bytes(10))
    with pytest.raises(FrameError):
        frame.decode_reply(raw[:-cut])


def test_read_frame_reads_header_then_exactly_the_length() -> None:
    reply = frame.encode_reply(0x90, bytes(1290))
    source = ByteSource(reply, frame.encode_reply(0x80))
    got = frame.read_frame(source.read, time.monotonic() + 1)
    assert got == reply
    assert source.requests == [frame.HEADER_LEN, len(reply) - frame.HEADER_LEN]
    assert bytes(source.data) == frame.encode_reply(0x80)  # the next frame is left unread


def test_read_frame_skips_noise_and_false_preambles() -> None:
    reply = frame.encode_reply(0x9F, bytes(4))
    noise = b"\x00\xff\xaa\xaa" + frame.PREAMBLE + b"\xff\xff" + b"\x13"  # fake header, absurd length
    got = frame.read_frame(ByteSource(noise, reply).read, time.monotonic() + 1)
    assert frame.decode_reply(got).sw3 == 0x9F


def test_read_frame_times_out_on_silence() -> None:
    with pytest.raises(DeviceTimeout):
        frame.read_frame(ByteSource().read, time.monotonic() + 0.01)


def test_read_frame_times_out_on_a_partial_body() -> None:
    reply = frame.encode_reply(0x90, bytes(100))
    with pytest.raises(DeviceTimeout):
        frame.read_frame(ByteSource(reply[:50]).read, time.monotonic() + 0.01)
