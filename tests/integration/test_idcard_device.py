"""The card_reader role end to end: the simulated driver (pty simulator + real SamSerialReader) and
the worker, through unplug/re-plug and injected faults."""

from __future__ import annotations

import pathlib
import time
from collections.abc import Iterator

import pytest

from drivers.idcard.base import CardType, IdCard, Presence
from kiosk.devices import role_drivers
from kiosk.devices.card_reader import CardReaderDevice, SamSerialOptions, SimulatedOptions, open_simulated
from kiosk.errors import ConfigError
from kiosk.steps.card_worker import CardEvent, CardPlaced, CardRead, CardRemoved, ReadFailed
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def device() -> Iterator[CardReaderDevice]:
    dev = open_simulated(SimulatedOptions(card="resident", poll_interval_s=0.05))
    yield dev
    dev.close()


def test_the_real_driver_reads_from_the_simulator(device: CardReaderDevice) -> None:
    assert device.simulated and device.health().code == "ready"
    card = device.reader.read_card()
    assert isinstance(card, IdCard) and card.card_type is CardType.RESIDENT
    assert len(card.photo_wlt) == 1024 and card.extra_address
    assert device.simulator is not None
    device.simulator.remove()
    assert device.reader.find_card() is Presence.NO_CARD


def test_worker_events_and_unplug_replug(device: CardReaderDevice) -> None:
    events: list[CardEvent] = []
    worker = device.start_worker(lambda fn: fn())
    assert device.start_worker(lambda fn: fn()) is worker
    worker.subscribe(events.append)
    worker.request_read()
    wait_until(lambda: any(isinstance(e, CardRead) for e in events))
    sim = device.simulator
    assert sim is not None
    sim.unplug()
    wait_until(lambda: worker.status.status == "disconnected")
    assert device.health().code == "disconnected" and not device.health().usable
    assert any(isinstance(e, CardRemoved) for e in events)
    sim.replug()
    wait_until(lambda: worker.status.status == "ready")
    events.clear()
    sim.place("foreign_2023")
    worker.request_read()
    wait_until(lambda: any(isinstance(e, CardRead) for e in events))
    read = next(e for e in events if isinstance(e, CardRead))
    assert isinstance(read, CardRead) and read.card.card_type is CardType.FOREIGN_PERMANENT_2023


def test_corrupted_replies_are_absorbed_and_mid_read_removal_reported(device: CardReaderDevice) -> None:
    sim = device.simulator
    assert sim is not None
    sim.inject("corrupt")
    sim.inject("noise")
    assert isinstance(device.reader.read_card(), IdCard)
    events: list[CardEvent] = []
    worker = device.start_worker(lambda fn: fn())
    worker.subscribe(events.append)
    sim.inject("remove_mid_read")
    worker.request_read()
    wait_until(lambda: any(isinstance(e, ReadFailed) for e in events))
    failed = next(e for e in events if isinstance(e, ReadFailed))
    assert isinstance(failed, ReadFailed) and failed.reason == "read_failed"  # the read found it gone
    wait_until(lambda: any(isinstance(e, CardRemoved) for e in events))
    sim.place("hmt")
    wait_until(lambda: any(isinstance(e, CardRead) for e in events))  # re-placed while wanted: read again
    assert sum(isinstance(e, CardPlaced) for e in events) >= 1


def test_device_table_and_options() -> None:
    drivers = role_drivers("card_reader")
    assert set(drivers) == {"sam-serial", "simulated"} and drivers["simulated"].simulated
    with pytest.raises(ValueError, match="exactly one"):
        SamSerialOptions()
    with pytest.raises(ValueError):
        SamSerialOptions(usb_vid_pid="1a86-7523")
    assert SamSerialOptions(usb_vid_pid="1a86:7523").baud == 115200
    with pytest.raises(ValueError):
        SimulatedOptions(faults=["smoke"])  # type: ignore[list-item]


def test_unknown_synthetic_card_or_file_is_a_config_error(tmp_path: pathlib.Path) -> None:
    with pytest.raises(ConfigError, match="no synthetic card"):
        open_simulated(SimulatedOptions(card="nobody"))
    broken = tmp_path / "cards.toml"
    broken.write_text("[card.x\n")
    with pytest.raises(ConfigError, match="synthetic cards"):
        open_simulated(SimulatedOptions(cards=broken))


def test_stop_joins_within_a_second_while_the_reader_is_silent(device: CardReaderDevice) -> None:
    worker = device.start_worker(lambda fn: fn())
    wait_until(lambda: worker.status.status == "ready")
    assert device.simulator is not None
    sent = len(device.simulator.commands)
    device.simulator.inject("silence", 1000)
    wait_until(lambda: len(device.simulator.commands) > sent + 1)  # stuck waiting for replies that never come
    started = time.monotonic()
    worker.stop()
    assert time.monotonic() - started < 1.0 and worker.status.status == "stopped"
