"""Drivers for the card reader role (see kiosk/devices/__init__.py for the table's shape).

``sam-serial``: a GA/T 467 reader on a serial port, by path or found by USB ``VID:PID`` at each
(re)open. ``simulated``: the wire-level simulator on a pseudo-terminal with the *real*
:class:`~drivers.idcard.sam.SamSerialReader` opened on it, so demo mode runs the production driver.
Both give a :class:`CardReaderDevice`; the app calls :meth:`CardReaderDevice.start_worker` with its
``post`` function and subscribes screens to the returned :class:`~kiosk.steps.card_worker.CardReaderWorker`.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceError
from kiosk.devices import DeviceContext, DriverEntry
from kiosk.errors import ConfigError, ConfigProblem

if TYPE_CHECKING:
    from drivers.idcard.sam import SamSerialReader
    from drivers.idcard.simulator import SamSimulator
    from kiosk.steps.card_worker import CardReaderWorker, Post

log = logging.getLogger(__name__)

Baud = Literal[115200, 57600, 38400, 19200, 9600]
SIMULATED_DECODER = "simulated"  # wlt_decoder value: the synthetic cards' photo decoder (demo only)
SimFault = Literal["corrupt", "noise", "silence", "truncate", "remove_mid_read", "status"]


class _Common(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    poll_interval_s: float = Field(0.3, ge=0.05, le=5.0)  # how often to ask "is a card there?"
    command_timeout_s: float = Field(0.5, gt=0, le=10)  # find, select, SAM commands
    read_timeout_s: float = Field(2.0, gt=0, le=30)
    retries: int = Field(2, ge=0, le=10)  # corrupted/missing replies resent this many times
    fingerprint: bool = False  # read text+photo+fingerprint (30 10) instead of text+photo (30 01)


class SamSerialOptions(_Common):
    """``[devices.card_reader] driver = "sam-serial"``: give ``port`` or ``usb_vid_pid``."""

    port: str = ""  # /dev/ttyUSB0, or better a stable /dev/serial/by-id/... path
    usb_vid_pid: str = ""  # e.g. "1a86:7523" (CH340): the port is looked up at each (re)open
    baud: Baud = 115200
    wlt_decoder: str = ""  # path of a site's licensed WLT decoder library; empty: photo stays WLT
    wlt_function: str = "unpack"  # ("simulated": the synthetic cards' decoder, refused in production)

    @field_validator("usb_vid_pid")
    @classmethod
    def _vid_pid(cls, value: str) -> str:
        if value:
            from drivers.idcard.usb import parse_vid_pid

            parse_vid_pid(value)
        return value

    @model_validator(mode="after")
    def _one_port(self) -> SamSerialOptions:
        if bool(self.port) == bool(self.usb_vid_pid):
            raise ValueError("set exactly one of port or usb_vid_pid")
        return self


class SimulatedOptions(_Common):
    """``[devices.card_reader] driver = "simulated"``: the pty simulator with synthetic cards."""

    cards: Path | None = None  # TOML file of synthetic cards; none: drivers/idcard/sim_cards.toml
    card: str | None = None  # key of the card lying on the reader at start; none: no card
    pace: bool = False  # send replies at the real wire rate (115200 baud)
    faults: list[SimFault] = Field(default_factory=list)  # each injected once at start
    wlt_decoder: Literal["simulated", ""] = "simulated"  # decode the synthetic cards' photos; "": none


class CardReaderDevice:
    """The opened card reader: the driver, its worker once started, the simulator in demo mode."""

    def __init__(
        self,
        reader: SamSerialReader,
        options: _Common,
        *,
        simulator: SamSimulator | None = None,
        cleanup: Path | None = None,
    ) -> None:
        self.reader = reader
        self.options = options
        self.simulator = simulator  # the handle tests and demo mode use: place/remove/inject/unplug
        self.simulated = simulator is not None
        self.worker: CardReaderWorker | None = None
        self._cleanup = cleanup

    def start_worker(self, post: Post) -> CardReaderWorker:
        """Start (once) and return the worker that polls this reader and posts events."""
        if self.worker is None:
            from kiosk.steps.card_worker import CardReaderWorker

            self.worker = CardReaderWorker(
                self.reader,
                post,
                poll_interval_s=self.options.poll_interval_s,
                fingerprint=self.options.fingerprint,
            )
            self.worker.start()
        return self.worker

    def health(self) -> DeviceHealth:
        if self.worker is not None:
            status = self.worker.status
            state = {"ready": Health.OK, "starting": Health.UNKNOWN}.get(status.status, Health.DOWN)
            return DeviceHealth(state, status.status, status.detail)
        return self.reader.health()

    def close(self) -> None:
        if self.worker is not None:
            self.worker.stop()
        self.reader.close()
        if self.simulator is not None:
            self.simulator.stop()
        if self._cleanup is not None:
            shutil.rmtree(self._cleanup, ignore_errors=True)
            self._cleanup = None


def _reader(options: _Common, port: Any, **kwargs: Any) -> SamSerialReader:
    from drivers.idcard.sam import SamSerialReader, Timeouts

    timeouts = Timeouts(command_s=options.command_timeout_s, read_s=options.read_timeout_s)
    return SamSerialReader(port, timeouts=timeouts, retries=options.retries, **kwargs)


def _try_open(reader: SamSerialReader) -> None:
    # A reader that is unplugged at start-up is not a start-up failure: the worker keeps retrying
    # and the services needing it show as unavailable meanwhile.
    try:
        reader.open()
    except DeviceError as exc:
        log.warning("card reader not ready at start-up: %s", exc)


def _open_sam_serial(options: Any, _context: DeviceContext) -> CardReaderDevice:
    from drivers.idcard.usb import find_port
    from drivers.idcard.wlt import load_decoder

    decoder: Any = None
    if options.wlt_decoder == SIMULATED_DECODER:
        from drivers.idcard.sim_photos import SimulatedWltDecoder

        decoder = SimulatedWltDecoder()
    elif options.wlt_decoder:
        decoder = load_decoder(options.wlt_decoder, options.wlt_function)
    port: Any = options.port or (lambda: find_port(options.usb_vid_pid))
    reader = _reader(options, port, baud=options.baud, wlt_decoder=decoder)
    _try_open(reader)
    return CardReaderDevice(reader, options)


def open_simulated(options: SimulatedOptions) -> CardReaderDevice:
    """Start the pty simulator and open the real driver on it (also used by tests and the CLI)."""
    from drivers.idcard.simulator import SamSimulator, load_cards

    try:
        cards = load_cards(options.cards) if options.cards else None
        simulator = SamSimulator(cards, card=options.card, pace=options.pace)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # TOMLDecodeError is a ValueError
        where = "devices.card_reader.cards" if options.cards else "devices.card_reader.card"
        raise ConfigError(
            [ConfigProblem(str(options.cards or ""), where, f"synthetic cards: {exc}")]
        ) from exc
    folder = Path(tempfile.mkdtemp(prefix="kiosk-idcard-sim-"))
    simulator.link_path = folder / "tty"
    simulator.start()
    for fault in options.faults:
        simulator.inject(fault)
    decoder: Any = None
    if options.wlt_decoder == SIMULATED_DECODER:
        from drivers.idcard.sim_photos import SimulatedWltDecoder

        decoder = SimulatedWltDecoder()
    reader = _reader(options, simulator.port, wlt_decoder=decoder)
    reader.simulated = True
    _try_open(reader)
    return CardReaderDevice(reader, options, simulator=simulator, cleanup=folder)


def _open_simulated(options: Any, _context: DeviceContext) -> CardReaderDevice:
    return open_simulated(options)


DRIVERS: dict[str, DriverEntry] = {
    "sam-serial": DriverEntry(
        name="sam-serial",
        summary="GA/T 467 ID-card reader on a serial port (path or USB VID:PID)",
        simulated=False,
        options=SamSerialOptions,
        open=_open_sam_serial,
    ),
    "simulated": DriverEntry(
        name="simulated",
        summary="wire-level ID-card reader simulator on a pseudo-terminal, running the real driver",
        simulated=True,
        options=SimulatedOptions,
        open=_open_simulated,
    ),
}
