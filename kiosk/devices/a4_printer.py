"""Drivers for the A4 printer role: ``cups`` (a CUPS queue via ``lp``) and ``simulated`` (keeps
the PDF and a PNG). :func:`print_a4` renders a document and submits it; blocking, worker thread."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import Device
from kiosk.devices import DeviceContext, DriverEntry
from kiosk.documents.model import Document


class CupsOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    queue: str = Field(min_length=1)


class SimulatedA4Options(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    folder: str = ""  # default: DATA_DIR/a4-sim


def _open_cups(options: Any, _context: DeviceContext) -> Device:
    from drivers.printer.cups import CupsA4Printer

    return CupsA4Printer(options.queue)


def _open_simulated(options: Any, context: DeviceContext) -> Device:
    from drivers.printer.simulator import SimulatedA4Printer

    return SimulatedA4Printer(Path(options.folder) if options.folder else context.data_dir / "a4-sim")


DRIVERS: dict[str, DriverEntry] = {
    "cups": DriverEntry("cups", "A4 printer through a CUPS queue", False, CupsOptions, _open_cups),
    "simulated": DriverEntry(
        "simulated", "simulated A4 printer (PDF + PNG)", True, SimulatedA4Options, _open_simulated
    ),
}


def print_a4(printer: Any, document: Document) -> None:
    """Render ``document`` to PDF and submit it; raises a DeviceError if the queue refuses."""
    from drivers.printer.simulator import SimulatedA4Printer
    from kiosk.documents.render import a4_png, to_pdf

    if isinstance(printer, SimulatedA4Printer):
        printer.print_pdf(to_pdf(document), a4_png(document))
    else:
        printer.print_pdf(to_pdf(document))
