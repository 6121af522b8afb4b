"""Drivers for the receipt printer role, and the print service the print step calls.

``escpos``: a real printer by URI (``tcp:HOST:PORT``, ``serial:DEVICE[?baud=N]``, ``usb:VID:PID``,
``file:PATH``); ``simulated``: :class:`~drivers.printer.simulator.SimulatedEscPosPrinter` saving
bytes and PNG previews into a folder.

:func:`print_document` blocks (status, send, status); run it on a worker thread, or use
:func:`print_in_background`, which delivers the :class:`PrintOutcome` through a
:class:`kiosk.work.Tasks`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import Device
from drivers.errors import DeviceError
from drivers.printer.base import ReceiptPrinter
from drivers.printer.escpos import PROFILES, PrinterProfile
from drivers.printer.status import PrinterStatus
from kiosk.devices import DeviceContext, DriverEntry
from kiosk.documents.model import Document
from kiosk.work import Task, Tasks

log = logging.getLogger(__name__)


class EscPosOptions(BaseModel):
    """``[devices.printer] driver = "escpos"``."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    uri: str = Field(pattern=r"^(tcp|serial|usb|file):.+")
    profile: str = "default"
    print_when_status_unknown: bool = False
    status_timeout: float = Field(0.5, gt=0, le=10)


class SimulatedOptions(BaseModel):
    """``[devices.printer] driver = "simulated"``; ``faults`` start active."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    folder: str = ""  # default: DATA_DIR/printer-sim
    profile: str = "default"
    faults: list[Literal["paper_out", "cover_open", "offline", "disconnect", "silent"]] = Field(
        default_factory=list
    )
    print_when_status_unknown: bool = False


def profile_named(name: str) -> PrinterProfile:
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown printer profile {name!r} (known: {', '.join(PROFILES)})") from None


def _open_escpos(options: Any, _context: DeviceContext) -> Device:
    from drivers.printer.printer import EscPosPrinter
    from drivers.printer.transports import open_transport

    printer = EscPosPrinter(
        open_transport(options.uri), profile_named(options.profile), status_timeout=options.status_timeout
    )
    printer.print_when_status_unknown = options.print_when_status_unknown
    return printer


def _open_simulated(options: Any, context: DeviceContext) -> Device:
    from drivers.printer.simulator import SimulatedEscPosPrinter
    from kiosk.documents.render import cjk_font_path

    folder = Path(options.folder) if options.folder else context.data_dir / "printer-sim"
    printer = SimulatedEscPosPrinter(folder, profile_named(options.profile), cjk_font_path())
    for fault in options.faults:
        printer.inject(fault)
    printer.print_when_status_unknown = options.print_when_status_unknown
    return printer


DRIVERS: dict[str, DriverEntry] = {
    "escpos": DriverEntry("escpos", "ESC/POS receipt printer by URI", False, EscPosOptions, _open_escpos),
    "simulated": DriverEntry(
        "simulated", "simulated receipt printer (bytes + PNG)", True, SimulatedOptions, _open_simulated
    ),
}


@dataclass(frozen=True)
class PrintOutcome:
    """``ok`` only when the printer confirmed ready after the job. ``code``: printed, paper_out,
    cover_open, offline, cutter_error, error, disconnected, unknown. ``message_key`` is the
    resident's text in config/messages/printing.toml; ``after`` is the status read after the job."""

    ok: bool
    code: str
    message_key: str
    before: PrinterStatus
    after: PrinterStatus | None = None
    detail: str = ""


def failed_outcome(
    code: str, before: PrinterStatus, after: PrinterStatus | None = None, detail: str = ""
) -> PrintOutcome:
    """A failed outcome with the resident message key for ``code`` (generic ``error`` if unknown)."""
    key = f"printing.failed.{code}" if code in _KNOWN_FAILURES else "printing.failed.error"
    return PrintOutcome(False, code, key, before, after, detail)


_KNOWN_FAILURES = ("paper_out", "cover_open", "offline", "disconnected", "unknown", "cutter_error", "error")


def print_document(
    printer: ReceiptPrinter,
    document: Document,
    *,
    profile: PrinterProfile | None = None,
    print_when_status_unknown: bool | None = None,
) -> PrintOutcome:
    """Check status, send the job, check status again. Blocking: call from a worker thread.

    A printer that does not answer status is printed to only if allowed (argument, else the
    printer's ``print_when_status_unknown`` from config); the outcome is then ``unknown`` even if
    the bytes went out, because nobody confirmed paper came out.
    """
    outcome = _print_document(printer, document, profile, print_when_status_unknown)
    count_outcome(printer, outcome)
    return outcome


def count_outcome(printer: object, outcome: PrintOutcome) -> None:
    """Bump the printer's dashboard counters: a job sent, or an error with its cause."""
    from kiosk.devices.counters import counters_for

    counters = counters_for(printer)
    if outcome.after is not None:  # the job was sent (a status was read after it)
        counters.count("prints")
    if not outcome.ok:
        counters.error(outcome.code + (f": {outcome.detail}" if outcome.detail else ""))


def _print_document(
    printer: ReceiptPrinter,
    document: Document,
    profile: PrinterProfile | None,
    print_when_status_unknown: bool | None,
) -> PrintOutcome:
    from kiosk.documents.render import to_escpos

    if print_when_status_unknown is None:
        print_when_status_unknown = printer.print_when_status_unknown
    before = printer.status()
    if before.code == "unknown" and not print_when_status_unknown:
        return failed_outcome("unknown", before)
    if before.code != "unknown" and not before.can_print:
        return failed_outcome(before.code, before)
    job = to_escpos(document, profile or getattr(printer, "profile", None))
    try:
        printer.send(job)
    except DeviceError as exc:
        log.warning("print job failed: %s", exc)
        return failed_outcome("disconnected", before, detail=str(exc))
    after = printer.status()
    if after.can_print:
        return PrintOutcome(True, "printed", "printing.printed", before, after)
    return failed_outcome(after.code, before, after)


def print_in_background(
    printer: Any,
    document: Document,
    tasks: Tasks,
    on_done: Callable[[PrintOutcome], None],
) -> Task:
    """Run :func:`print_document` (receipts) or :func:`~kiosk.printing.a4_printer.print_a4_document`
    (``document.kind == "a4"``) through ``tasks`` (kiosk/work.py: a worker thread, the outcome
    back on the UI thread, dropped once the owner cancels); ``on_done(outcome)`` is always
    called with an outcome: an unexpected error becomes an ``error`` outcome, so the resident
    always gets a way forward."""

    def work() -> PrintOutcome:
        try:
            if document.kind == "a4":
                from kiosk.printing.a4_printer import print_a4_document

                return print_a4_document(printer, document)
            return print_document(printer, document)
        except Exception as exc:  # the resident must always get an outcome and a way forward
            log.exception("printing crashed")
            return failed_outcome("error", PrinterStatus.unknown(), detail=f"{type(exc).__name__}: {exc}")

    return tasks.run(work, on_done, name="print-job")
