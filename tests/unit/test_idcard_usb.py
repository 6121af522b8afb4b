"""USB VID:PID auto-detection of the reader's serial port."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from drivers.errors import DeviceError, DeviceNotFound
from drivers.idcard.usb import find_port, parse_vid_pid


@dataclass
class FakePort:
    device: str
    vid: int | None
    pid: int | None


PORTS = [
    FakePort("/dev/ttyS0", None, None),
    FakePort("/dev/ttyUSB1", 0x1A86, 0x7523),
    FakePort("/dev/ttyACM0", 0x10C4, 0xEA60),
]


def test_finds_the_matching_port() -> None:
    assert find_port("1a86:7523", ports=lambda: PORTS) == "/dev/ttyUSB1"
    assert find_port("10C4:EA60", ports=lambda: PORTS) == "/dev/ttyACM0"


def test_no_match_is_not_found() -> None:
    with pytest.raises(DeviceNotFound, match="0403:6001"):
        find_port("0403:6001", ports=lambda: PORTS)


def test_two_matches_are_refused() -> None:
    twins = [*PORTS, FakePort("/dev/ttyUSB0", 0x1A86, 0x7523)]
    with pytest.raises(DeviceError, match="2 serial ports"):
        find_port("1a86:7523", ports=lambda: twins)


@pytest.mark.parametrize("bad", ["1a86", "1a86:75", "zzzz:7523", ""])
def test_bad_ids(bad: str) -> None:
    with pytest.raises(ValueError):
        parse_vid_pid(bad)
