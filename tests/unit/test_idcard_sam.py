"""SamSerialReader against a scripted fake port: commands, every SW3 status, retries, resync."""

from __future__ import annotations

import dataclasses
import datetime as dt
import pathlib
import shutil
import subprocess
import time
from collections.abc import Callable

import pytest

from drivers.base import Health
from drivers.errors import DeviceDisconnected, DeviceNotFound, DeviceTimeout
from drivers.idcard.base import (
    CardDataError,
    CardReaderError,
    CardReadFailed,
    CardType,
    ChecksumError,
    IdCard,
    Presence,
    SamError,
)
from drivers.idcard.decode import encode_text
from drivers.idcard.frame import Command, decode_command, encode_reply
from drivers.idcard.sam import SW3_ERRORS, PySerialPort, SamSerialReader, Timeouts
from drivers.idcard.wlt import load_decoder

CARD = IdCard(
    card_type=CardType.RESIDENT,
    name="张三丰",
    sex="男",
    nation="汉",
    nation_code="01",
    birth_date=dt.date(1980, 3, 15),
    address="虚构省示例市测试区演示路1号",
    id_number="99010119800315031X",
    issuer="示例市公安局测试分局",
    valid_from=dt.date(2016, 5, 1),
    valid_to=dt.date(2036, 5, 1),
)
PHOTO = bytes(range(256)) * 4
ADDRESS = "虚构省示例市新区样板街8号"


def read_data(card: IdCard = CARD, fingerprint: bytes | None = None) -> bytes:
    text = encode_text(card)
    if fingerprint is None:
        return (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + text + PHOTO
    lengths = (256).to_bytes(2, "big") + (1024).to_bytes(2, "big") + len(fingerprint).to_bytes(2, "big")
    return lengths + text + PHOTO + fingerprint


def address_data(address: str) -> bytes:
    raw = address.encode("utf-16-le")
    return raw + b" \x00" * ((70 - len(raw)) // 2)


Answer = Callable[[Command], bytes]


def good_reader(cmd: Command) -> bytes:
    key = (cmd.cmd, cmd.para)
    if key == (0x20, 0x01):
        return encode_reply(0x9F, bytes(4))
    if key == (0x20, 0x02):
        return encode_reply(0x90, bytes(range(8)))
    if key == (0x30, 0x01):
        return encode_reply(0x90, read_data())
    if key == (0x30, 0x10):
        return encode_reply(0x90, read_data(fingerprint=b"\x07" * 512))
    if key == (0x30, 0x03):
        return encode_reply(0x90, address_data(ADDRESS))
    if key == (0x12, 0xFF):
        return encode_reply(0x90, bytes(range(16)))
    return encode_reply(0x90)


class FakePort:
    """A serial port whose reader answers each written command with ``answer``'s bytes."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.pending = bytearray()
        self.sent: list[tuple[int, int]] = []
        self.raw_writes: list[bytes] = []
        self.gone = False
        self.closed = False

    def write(self, data: bytes) -> None:
        if self.gone:
            raise DeviceDisconnected("gone")
        self.raw_writes.append(data)
        cmd = decode_command(data)
        self.sent.append((cmd.cmd, cmd.para))
        self.pending += self.answer(cmd)

    def read(self, size: int, timeout: float) -> bytes:
        if self.gone:
            raise DeviceDisconnected("gone")
        if not self.pending:
            time.sleep(timeout)
            return b""
        data, self.pending[:] = bytes(self.pending[:size]), self.pending[size:]
        return data

    def discard_input(self) -> None:
        self.pending.clear()

    def close(self) -> None:
        self.closed = True


FAST = Timeouts(command_s=0.02, read_s=0.05, fingerprint_s=0.05)


@pytest.fixture
def make_reader() -> Callable[[Answer], tuple[SamSerialReader, FakePort]]:
    def make(answer: Answer) -> tuple[SamSerialReader, FakePort]:
        port = FakePort(answer)
        reader = SamSerialReader("/dev/fake", timeouts=FAST, opener=lambda path, baud: port)
        reader.open()
        port.sent.clear()
        return reader, port

    return make


def test_find_card_frame_is_the_documented_bytes(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    reader, port = make_reader(good_reader)
    assert reader.find_card() is Presence.CARD
    assert port.raw_writes[-1] == bytes.fromhex("AAAAAA9669000320 0122".replace(" ", ""))


def test_open_checks_the_sam_and_reports_ready(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    reader, port = make_reader(good_reader)
    assert reader.health().state is Health.OK and reader.health().code == "ready"
    assert reader.sam_id() == "00010203-04050607-08090A0B-0C0D0E0F"
    reader.close()
    assert port.closed and reader.health().state is Health.DOWN


def test_read_card_runs_find_select_read_address(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    reader, port = make_reader(good_reader)
    card = reader.read_card()
    assert isinstance(card, IdCard)
    assert port.sent == [(0x20, 0x01), (0x20, 0x02), (0x30, 0x01), (0x30, 0x03)]
    assert card == dataclasses.replace(CARD, photo_wlt=PHOTO, extra_address=ADDRESS)
    assert "张" not in repr(card) and "99010119800315031X" not in repr(card)


def test_read_with_fingerprint(make_reader: Callable[..., tuple[SamSerialReader, FakePort]]) -> None:
    reader, port = make_reader(good_reader)
    card = reader.read_card(fingerprint=True, extra_address=False)
    assert isinstance(card, IdCard)
    assert card.fingerprint == b"\x07" * 512 and card.photo_wlt == PHOTO
    assert port.sent[-1] == (0x30, 0x10)


def test_no_card_and_no_additional_address_are_values(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    reader, _ = make_reader(lambda cmd: encode_reply(0x80) if cmd.cmd == 0x20 else good_reader(cmd))
    assert reader.find_card() is Presence.NO_CARD
    assert reader.read_card() is Presence.NO_CARD

    def no_address(cmd: Command) -> bytes:
        return encode_reply(0x91) if (cmd.cmd, cmd.para) == (0x30, 0x03) else good_reader(cmd)

    reader, _ = make_reader(no_address)
    card = reader.read_card()
    assert isinstance(card, IdCard) and card.extra_address == ""


def test_card_gone_at_select_is_no_card(make_reader: Callable[..., tuple[SamSerialReader, FakePort]]) -> None:
    reader, _ = make_reader(lambda cmd: encode_reply(0x80) if cmd.para == 0x02 else good_reader(cmd))
    assert reader.read_card() is Presence.NO_CARD


@pytest.mark.parametrize("sw3", sorted(SW3_ERRORS))
def test_every_sw3_error_maps_to_its_typed_error(
    sw3: int, make_reader: Callable[..., tuple[SamSerialReader, FakePort]]
) -> None:
    cls, reason, _ = SW3_ERRORS[sw3]
    reader, port = make_reader(lambda cmd: encode_reply(sw3) if cmd.cmd == 0x30 else good_reader(cmd))
    with pytest.raises(cls) as info:
        reader.read_card()
    assert info.value.sw3 == sw3 and info.value.reason == reason
    assert "/dev/fake" in str(info.value)
    reads = [c for c in port.sent if c[0] == 0x30]
    # the reader's "your frame had a bad checksum" is worth resending; the others are final
    assert len(reads) == (3 if sw3 == 0x10 else 1)


def test_card_read_and_sam_errors_are_distinct_branches() -> None:
    assert issubclass(CardReadFailed, CardReaderError) and issubclass(SamError, CardReaderError)
    assert SW3_ERRORS[0x41][0] is CardReadFailed and SW3_ERRORS[0x60][0] is SamError


def test_unknown_sw3_is_a_card_reader_error(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    reader, _ = make_reader(lambda cmd: encode_reply(0x55) if cmd.cmd == 0x20 else good_reader(cmd))
    with pytest.raises(CardReaderError) as info:
        reader.find_card()
    assert info.value.reason == "sw3_55"


def test_sw1_sw2_are_not_status(make_reader: Callable[..., tuple[SamSerialReader, FakePort]]) -> None:
    reader, _ = make_reader(
        lambda cmd: encode_reply(0x9F, bytes(4), sw1=0x6A, sw2=0x82) if cmd.cmd == 0x20 else good_reader(cmd)
    )
    assert reader.find_card() is Presence.CARD


def corrupt(frame: bytes) -> bytes:
    return frame[:-1] + bytes([frame[-1] ^ 0xFF])


def test_one_corrupted_reply_is_retried(make_reader: Callable[..., tuple[SamSerialReader, FakePort]]) -> None:
    bad = [1]

    def answer(cmd: Command) -> bytes:
        reply = good_reader(cmd)
        if cmd.cmd == 0x20 and bad:
            bad.pop()
            return corrupt(reply)
        return reply

    reader, port = make_reader(answer)
    assert reader.find_card() is Presence.CARD
    assert port.sent == [(0x20, 0x01), (0x20, 0x01)]


def test_always_corrupted_is_reported_after_bounded_retries(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    reader, port = make_reader(lambda cmd: corrupt(good_reader(cmd)) if cmd.cmd == 0x20 else good_reader(cmd))
    with pytest.raises(ChecksumError):
        reader.find_card()
    assert port.sent == [(0x20, 0x01)] * 3


def test_corrupted_read_restarts_the_whole_sequence(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    bad = [1]

    def answer(cmd: Command) -> bytes:
        reply = good_reader(cmd)
        if cmd.cmd == 0x30 and cmd.para == 0x01 and bad:
            bad.pop()
            return corrupt(reply)
        return reply

    reader, port = make_reader(answer)
    assert isinstance(reader.read_card(), IdCard)
    assert port.sent == [(0x20, 0x01), (0x20, 0x02), (0x30, 0x01)] * 2 + [(0x30, 0x03)]


def test_line_noise_before_a_reply_is_skipped(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    noise = b"\x00\xff\xaa\xaa\x96\xaa\xaa\xaa\x96\x00\x00\x13"  # includes broken preambles
    reader, port = make_reader(lambda cmd: noise + good_reader(cmd))
    assert isinstance(reader.read_card(), IdCard)
    assert len(port.sent) == 4  # no retry needed


def test_truncated_reply_times_out_then_is_retried(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    bad = [1]

    def answer(cmd: Command) -> bytes:
        reply = good_reader(cmd)
        if cmd.cmd == 0x20 and bad:
            bad.pop()
            return reply[: len(reply) // 2]
        return reply

    reader, port = make_reader(answer)
    assert reader.find_card() is Presence.CARD
    assert len(port.sent) == 2


def test_silence_is_a_timeout(make_reader: Callable[..., tuple[SamSerialReader, FakePort]]) -> None:
    reader, port = make_reader(good_reader)
    port.answer = lambda cmd: b""
    with pytest.raises(DeviceTimeout):
        reader.find_card()
    assert len(port.sent) == 3
    assert reader.health().code == "timeout"


def test_disconnect_closes_the_port_and_reports_it(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    reader, port = make_reader(good_reader)
    port.gone = True
    with pytest.raises(DeviceDisconnected):
        reader.read_card()
    assert port.closed and reader.health().code == "disconnected"
    with pytest.raises(DeviceDisconnected):
        reader.find_card()  # stays closed until open() again


def test_read_reply_with_wrong_lengths_is_card_data_error(
    make_reader: Callable[..., tuple[SamSerialReader, FakePort]],
) -> None:
    reader, _ = make_reader(
        lambda cmd: encode_reply(0x90, read_data()[:-10]) if cmd.cmd == 0x30 else good_reader(cmd)
    )
    with pytest.raises(CardDataError):
        reader.read_card()


def test_port_resolver_is_asked_at_each_open() -> None:
    paths = iter(["/dev/ttyUSB0", "/dev/ttyUSB1"])
    opened: list[str] = []

    def opener(path: str, baud: int) -> FakePort:
        opened.append(path)
        return FakePort(good_reader)

    reader = SamSerialReader(lambda: next(paths), timeouts=FAST, opener=opener)
    reader.open()
    reader.open()
    assert opened == ["/dev/ttyUSB0", "/dev/ttyUSB1"] and reader.port == "/dev/ttyUSB1"


def test_missing_port_is_device_not_found() -> None:
    with pytest.raises(DeviceNotFound) as info:
        PySerialPort("/dev/does-not-exist-idcard", 115200)
    assert "port not found" in str(info.value)


def test_wlt_hook_absent_or_missing_library() -> None:
    assert load_decoder(None) is None and load_decoder("") is None
    with pytest.raises(DeviceNotFound):
        load_decoder("/nonexistent/libwlt.so")


STAND_IN_C = r"""
/* A stand-in with the vendor entry point's shape: it copies the input so the test can see the call. */
int unpack(const char *wlt, char *bmp, int key) {
    if (wlt[1] == 0) return -1;
    for (int i = 0; i < 1024; i++) bmp[i] = wlt[i];
    return 1;
}
"""


@pytest.fixture
def stand_in_library(tmp_path: pathlib.Path) -> pathlib.Path:
    compiler = shutil.which("cc")
    if compiler is None:
        pytest.skip("no C compiler to build the stand-in decoder")
    source, library = tmp_path / "wlt.c", tmp_path / "libwlt.so"
    source.write_text(STAND_IN_C)
    subprocess.run([compiler, "-shared", "-fPIC", "-o", str(library), str(source)], check=True)
    return library


def test_configured_decoder_is_called_with_the_wlt_bytes(
    stand_in_library: pathlib.Path, make_reader: Callable[..., tuple[SamSerialReader, FakePort]]
) -> None:
    decoder = load_decoder(stand_in_library)
    assert decoder is not None
    reader, _ = make_reader(good_reader)
    reader._decoder = decoder
    card = reader.read_card()
    assert isinstance(card, IdCard) and card.photo_bmp is not None
    assert card.photo_bmp[:1024] == PHOTO and card.photo_wlt == PHOTO
    assert decoder.decode(b"\x00" * 1024) is None  # the library refused: no photo, never a made-up one
