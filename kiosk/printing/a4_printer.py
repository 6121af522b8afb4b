"""Drivers for the A4 printer role: ``cups`` (a CUPS queue via ``lp``) and ``simulated`` (keeps
the PDF and a PNG). :func:`print_a4` renders a document and submits it (raises);
:func:`print_a4_document` does the same with a health check first and returns a
:class:`~kiosk.printing.receipt_printer.PrintOutcome`, like the receipt printer. Both block: worker thread."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import Device, Health
from drivers.errors import DeviceError
from drivers.printer.status import PrinterStatus
from kiosk.devices import DeviceContext, DriverEntry
from kiosk.documents.model import Document
from kiosk.errors import KioskError
from kiosk.printing.receipt_printer import PrintOutcome, failed_outcome

log = logging.getLogger(__name__)


class CupsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    queue: str = Field(min_length=1)


class SimulatedA4Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    folder: str = ""  # default: DATA_DIR/a4-sim
    faults: list[Literal["paper_out", "cover_open", "offline", "disconnect"]] = Field(default_factory=list)


def _open_cups(options: Any, _context: DeviceContext) -> Device:
    from drivers.printer.cups import CupsA4Printer

    return CupsA4Printer(options.queue)


def _open_simulated(options: Any, context: DeviceContext) -> Device:
    from drivers.printer.simulator import SimulatedA4Printer

    printer = SimulatedA4Printer(Path(options.folder) if options.folder else context.data_dir / "a4-sim")
    printer.faults.update(options.faults)
    return printer


DRIVERS: dict[str, DriverEntry] = {
    "cups": DriverEntry("cups", "A4 printer through a CUPS queue", False, CupsOptions, _open_cups),
    "simulated": DriverEntry(
        "simulated", "simulated A4 printer (PDF + PNG)", True, SimulatedA4Options, _open_simulated
    ),
}


def print_a4(printer: Any, document: Document, title: str = "kiosk") -> str:
    """Render ``document`` to PDF and submit it (``title`` names the CUPS job); raises a
    DeviceError if the queue refuses. Returns the queue's job line ("" from the simulator)."""
    from drivers.printer.simulator import SimulatedA4Printer
    from kiosk.documents.render import a4_png, to_pdf

    if isinstance(printer, SimulatedA4Printer):
        printer.print_pdf(to_pdf(document), a4_png(document))
        return ""
    return str(printer.print_pdf(to_pdf(document), title))


def print_a4_document(printer: Any, document: Document, title: str = "kiosk") -> PrintOutcome:
    """Health first (a disabled or missing queue prints nothing), then render and submit; a
    printed outcome's ``detail`` is the queue's job line.

    ``ok`` means the queue accepted the job: CUPS owns it from there (it retries a printer that
    is briefly away), which is as far as a kiosk can confirm an office printer. Health codes map
    to the receipt printer's outcome codes, so the screen uses the same message keys.
    """
    from kiosk.printing.receipt_printer import count_outcome

    outcome = _print_a4_document(printer, document, title)
    count_outcome(printer, outcome)
    return outcome


def _print_a4_document(printer: Any, document: Document, title: str) -> PrintOutcome:
    health = printer.health()
    before = PrinterStatus(
        code=A4_CODES.get(health.code, health.code), answered=health.state != Health.UNKNOWN
    )
    if not health.usable and health.state != Health.UNKNOWN:
        return failed_outcome(before.code, before, detail=health.detail)
    try:
        job = print_a4(printer, document, title)
    except DeviceError as exc:
        log.warning("A4 job failed: %s", exc)
        return failed_outcome("disconnected", before, detail=str(exc))
    except KioskError as exc:  # no CJK font, no PDF library: a technician's problem
        log.error("A4 job could not be rendered: %s", exc)
        return failed_outcome("error", before, detail=str(exc))
    return PrintOutcome(True, "printed", "printing.printed", before, PrinterStatus(code="ready"), job)


# CUPS/simulator health codes -> print outcome codes
A4_CODES = {"no_queue": "offline", "disconnect": "disconnected", "unknown": "unknown"}
