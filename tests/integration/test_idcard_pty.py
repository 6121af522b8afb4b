"""The real SamSerialReader over pyserial against the simulator on a real pseudo-terminal."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.errors import DeviceDisconnected, DeviceNotFound, DeviceTimeout
from drivers.idcard.base import CardReadFailed, ChecksumError, IdCard, Presence, SamError
from drivers.idcard.sam import SamSerialReader, Timeouts
from drivers.idcard.simulator import SamSimulator, load_cards

pytestmark = pytest.mark.integration

FAST = Timeouts(command_s=0.15, read_s=0.5, fingerprint_s=0.5)


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[SamSimulator]:
    with SamSimulator(card="resident", link_path=tmp_path / "idcard.tty") as simulator:
        yield simulator


@pytest.fixture
def reader(sim: SamSimulator) -> Iterator[SamSerialReader]:
    driver = SamSerialReader(sim.port, timeouts=FAST, retries=2)
    driver.open()
    yield driver
    driver.close()


def read(reader: SamSerialReader) -> IdCard:
    card = reader.read_card()
    assert isinstance(card, IdCard), card
    return card


@pytest.mark.parametrize("key", ["resident", "resident_long_term", "hmt", "foreign_2017", "foreign_2023"])
def test_every_card_type_reads_as_written(sim: SamSimulator, reader: SamSerialReader, key: str) -> None:
    sim.place(key)
    assert read(reader) == dataclasses.replace(sim.cards[key], fingerprint=b"")  # read without fingerprints


def test_read_sequence_is_find_select_read_address(sim: SamSimulator, reader: SamSerialReader) -> None:
    sim.commands.clear()
    card = read(reader)
    assert sim.commands == [(0x20, 0x01), (0x20, 0x02), (0x30, 0x01), (0x30, 0x03)]
    assert card.extra_address == "虚构省示例市新区样板街8号"
    assert len(card.photo_wlt) == 1024 and card.photo_bmp is None  # never a faked decode


def test_read_with_fingerprints(sim: SamSimulator, reader: SamSerialReader) -> None:
    sim.commands.clear()
    card = reader.read_card(fingerprint=True)
    assert isinstance(card, IdCard) and len(card.fingerprint) == 1024
    assert card.fingerprint == sim.cards["resident"].fingerprint and (0x30, 0x10) in sim.commands
    sim.place("hmt")
    card = reader.read_card(fingerprint=True)
    assert isinstance(card, IdCard) and card.fingerprint == b""


def test_no_card_is_a_value(sim: SamSimulator, reader: SamSerialReader) -> None:
    sim.remove()
    assert reader.find_card() is Presence.NO_CARD
    assert reader.read_card() is Presence.NO_CARD


@pytest.mark.parametrize("fault", ["corrupt", "noise", "silence", "truncate"])
def test_one_bad_reply_is_retried(sim: SamSimulator, reader: SamSerialReader, fault: str) -> None:
    sim.inject(fault)
    assert read(reader).name == "张三丰"


def test_noise_on_every_reply_is_survived(sim: SamSimulator, reader: SamSerialReader) -> None:
    sim.inject("noise", 20)
    assert read(reader).id_number == "99010119800315031X"


def test_persistent_corruption_is_reported(sim: SamSimulator, reader: SamSerialReader) -> None:
    sim.inject("corrupt", 50)
    with pytest.raises(ChecksumError):
        reader.find_card()


def test_persistent_silence_is_a_timeout(sim: SamSimulator, reader: SamSerialReader) -> None:
    sim.inject("silence", 50)
    with pytest.raises(DeviceTimeout):
        reader.find_card()


def test_card_removed_mid_read(sim: SamSimulator, reader: SamSerialReader) -> None:
    sim.inject("remove_mid_read")
    with pytest.raises(CardReadFailed) as info:
        reader.read_card()
    assert info.value.reason == "read_failed"
    assert reader.find_card() is Presence.NO_CARD


def test_sam_self_test_failure_at_open(sim: SamSimulator) -> None:
    sim.inject("status", status=0x60)
    driver = SamSerialReader(sim.port, timeouts=FAST)
    with pytest.raises(SamError) as info:
        driver.open()
    assert info.value.sw3 == 0x60
    driver.close()


def test_unplug_then_replug(sim: SamSimulator, reader: SamSerialReader) -> None:
    sim.unplug()
    with pytest.raises((DeviceDisconnected, DeviceTimeout)):
        reader.find_card()
    reader.close()
    with pytest.raises((DeviceNotFound, DeviceDisconnected)):
        reader.open()  # the link points at a pty that no longer exists
    sim.replug()
    reader.open()
    assert read(reader).name == "张三丰"


def test_missing_port_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(DeviceNotFound):
        SamSerialReader(str(tmp_path / "nothing"), timeouts=FAST).open()


def test_paced_replies_take_at_least_the_wire_time(tmp_path: Path) -> None:
    """The simulator's pacing is real: a read cannot beat 10 bits per byte at 115200 baud."""
    with SamSimulator(card="resident", pace=True) as sim:
        driver = SamSerialReader(sim.port)
        driver.open()
        start = time.monotonic()
        card = read(driver)
        elapsed = time.monotonic() - start
        driver.close()
    assert elapsed >= 1295 * 10 / 115200
    assert card == dataclasses.replace(load_cards()["resident"], fingerprint=b"")
