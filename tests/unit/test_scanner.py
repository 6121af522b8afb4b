"""The scanner drivers: the evdev keyboard-wedge parser (fed by the simulator's pipe, as a real
node would be), the serial line framing, and the faults."""

from __future__ import annotations

import os

import pytest

from drivers.errors import DeviceDisconnected, DeviceNotFound, ProtocolError
from drivers.scanner.hid_wedge import EV_KEY, EVENT, HidWedgeScanner, key_events
from drivers.scanner.serial_line import SerialLineScanner
from drivers.scanner.simulator import Fault, SimulatedScanner
from kiosk.devices import role_drivers

PAY_CODE = "134567890123456789"
RECEIPT = "https://kiosk.example.invalid/status/031212010042"


def test_the_wedge_reads_a_code_typed_as_evdev_key_events_with_shift() -> None:
    scanner = SimulatedScanner()
    try:
        scanner.present(PAY_CODE)
        scanner.present(RECEIPT)  # ':' and '/' (shift state tracked)
        assert scanner.read(1.0) == PAY_CODE
        assert scanner.read(1.0) == RECEIPT
        assert scanner.read(0.05) is None  # nobody holds a code up: a value, not an error
    finally:
        scanner.close()


def test_key_releases_autorepeat_and_other_event_types_are_ignored() -> None:
    read_fd, write_fd = os.pipe()
    scanner = HidWedgeScanner(fd=read_fd)
    noise = EVENT.pack(0, 0, 0, 0, 0) + EVENT.pack(0, 0, 4, 4, 458783)  # EV_SYN, EV_MSC scan code
    os.write(write_fd, noise + key_events("12", enter=False) + EVENT.pack(0, 0, EV_KEY, 3, 2))
    os.write(write_fd, key_events("3"))
    try:
        assert scanner.read(1.0) == "123"
    finally:
        scanner.close()
        os.close(write_fd)


def test_a_garbled_code_is_a_protocol_error_and_the_next_one_reads() -> None:
    scanner = SimulatedScanner()
    try:
        scanner.inject(Fault.GARBLED)
        scanner.present(PAY_CODE)
        with pytest.raises(ProtocolError):
            scanner.read(1.0)
        scanner.clear(Fault.GARBLED)
        scanner.present(PAY_CODE)
        assert scanner.read(1.0) == PAY_CODE
    finally:
        scanner.close()


def test_unplugged_and_no_read_faults() -> None:
    scanner = SimulatedScanner()
    try:
        scanner.inject(Fault.NO_READ)
        scanner.present(PAY_CODE)
        assert scanner.read(0.05) is None
        scanner.inject(Fault.UNPLUGGED)
        with pytest.raises(DeviceDisconnected):
            scanner.read(1.0)
        assert scanner.health().state.value == "down"
    finally:
        scanner.close()


def test_a_missing_input_node_is_named() -> None:
    with pytest.raises(DeviceNotFound, match="/dev/input/nope"):
        HidWedgeScanner("/dev/input/nope").read(0.01)


class FakePort:
    def __init__(self, *chunks: bytes | Exception) -> None:
        self.chunks = list(chunks)

    def read(self, _n: int) -> bytes:
        if not self.chunks:
            return b""
        chunk = self.chunks.pop(0)
        if isinstance(chunk, Exception):
            raise chunk
        return chunk

    def close(self) -> None:
        pass


def _serial(*chunks: bytes | Exception, encoding: str = "utf-8") -> SerialLineScanner:
    port = FakePort(*chunks)
    return SerialLineScanner("/dev/ttyACM0", encoding=encoding, open_port=lambda _p, _b: port)


def test_serial_lines_end_at_cr_lf_or_crlf_split_across_reads() -> None:
    scanner = _serial(b"1345678901", b"23456789\r\nA", b"BC\rDEF\n")
    assert [scanner.read(0.5), scanner.read(0.5), scanner.read(0.5)] == [PAY_CODE, "ABC", "DEF"]
    assert scanner.read(0.05) is None


def test_serial_gb18030_text_undecodable_bytes_and_unplugging() -> None:
    assert _serial("收据".encode("gb18030") + b"\r", encoding="gb18030").read(0.5) == "收据"
    bad = _serial(b"\xff\xfe\r", b"OK\r")
    with pytest.raises(ProtocolError):
        bad.read(0.5)
    assert bad.read(0.5) == "OK"  # the stream goes on after a bad line
    gone = _serial(OSError(5, "Input/output error"))
    with pytest.raises(DeviceDisconnected):
        gone.read(0.5)
    assert gone.health().code == "disconnected"


def test_the_role_table_knows_the_three_drivers() -> None:
    drivers = role_drivers("scanner")
    assert set(drivers) == {"hid", "serial", "simulated"} and drivers["simulated"].simulated
