"""Property-based fuzz of the frame decoder and text decoder: only the driver's own errors escape.

``IDCARD_FUZZ_EXAMPLES`` scales the run (default 300 examples per property, a few seconds).
"""

from __future__ import annotations

import os
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.errors import DeviceError, DeviceTimeout
from drivers.idcard import frame
from drivers.idcard.base import CardDataError, CardType
from drivers.idcard.decode import TEXT_LEN, decode_text, encode_text

EXAMPLES = int(os.environ.get("IDCARD_FUZZ_EXAMPLES", "300"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def reader_over(data: bytes) -> frame.ReadFn:
    buf = bytearray(data)

    def read(size: int, timeout: float) -> bytes:
        if not buf:  # a real port would block for ``timeout``, then the deadline passes
            raise DeviceTimeout("fake port exhausted")
        out = bytes(buf[:size])
        del buf[:size]
        return out

    return read


@FUZZ
@given(st.binary(max_size=600))
def test_decode_reply_raises_only_device_errors(data: bytes) -> None:
    try:
        reply = frame.decode_reply(data)
    except DeviceError:
        return
    assert frame.encode_reply(reply.sw3, reply.data, reply.sw1, reply.sw2) == data


@FUZZ
@given(st.binary(max_size=300), st.binary(max_size=200), st.integers(0, 0xFF))
def test_read_frame_finds_the_reply_after_any_noise(noise: bytes, data: bytes, sw3: int) -> None:
    reply = frame.encode_reply(sw3, data)
    try:
        got = frame.read_frame(reader_over(noise + reply), time.monotonic() + 0.05)
    except DeviceError:
        return  # noise that looks like a frame header may swallow the reply: an error, never a crash
    try:
        frame.decode_reply(got)
    except DeviceError:
        return
    # when a whole valid frame comes out, noise rarely forges one: it must be the reply itself
    assert got == reply or got in noise + reply


@FUZZ
@given(st.binary(max_size=2000))
def test_read_frame_on_pure_garbage(data: bytes) -> None:
    try:
        got = frame.read_frame(reader_over(data), time.monotonic() + 0.02)
    except DeviceError:
        return
    assert got.startswith(frame.PREAMBLE) and got in data


@FUZZ
@given(st.binary(min_size=TEXT_LEN, max_size=TEXT_LEN))
def test_text_decoder_raises_only_card_data_errors(block: bytes) -> None:
    try:
        card = decode_text(block)
    except CardDataError:
        return
    assert card.card_type in CardType and len(encode_text(card)) == TEXT_LEN
