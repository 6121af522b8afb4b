"""The print step: progress, success only when confirmed, failure shows the number, reprint."""

from __future__ import annotations

import queue
from collections.abc import Callable

from drivers.printer.simulator import SimulatedEscPosPrinter
from kiosk.documents.model import Document, Text
from kiosk.printing.print_step import PrintStep, PrintStepState

DOC = Document("receipt", "r").add(Text("受理号 6337 0010 0570"))


class Harness:
    def __init__(self, printer: SimulatedEscPosPrinter | None) -> None:
        self.posted: queue.Queue[Callable[[], None]] = queue.Queue()
        self.states: list[PrintStepState] = []
        self.step = PrintStep(
            printer,
            DOC,
            request_id="R-1",
            status_url="https://kiosk.example.invalid/status/R-1",
            post=self.posted.put,
            on_change=self.states.append,
        )

    def run_ui(self) -> PrintStepState:
        """Run the next posted callback as the UI thread would."""
        self.posted.get(timeout=10)()
        return self.states[-1]


def test_success_after_confirmation() -> None:
    h = Harness(SimulatedEscPosPrinter())
    h.step.start()
    assert h.states[-1].phase == "printing" and h.states[-1].message_key == "printing.progress"
    final = h.run_ui()
    assert final.phase == "printed" and not final.can_reprint


def test_failure_keeps_request_number_and_reprint_succeeds() -> None:
    printer = SimulatedEscPosPrinter()
    printer.inject("paper_out")
    h = Harness(printer)
    h.step.start()
    failed = h.run_ui()
    assert failed.phase == "failed" and failed.message_key == "printing.failed.paper_out"
    assert failed.request_id == "R-1" and failed.status_url.endswith("/R-1") and failed.can_reprint
    printer.clear()
    h.step.reprint()
    again = h.run_ui()
    assert again.phase == "printed" and again.attempts == 2
    assert len(printer.jobs) == 1


def test_start_while_printing_is_ignored() -> None:
    h = Harness(SimulatedEscPosPrinter())
    h.step.start()
    h.step.start()
    h.run_ui()
    assert [s.phase for s in h.states] == ["printing", "printed"]
    assert h.posted.empty()


def test_no_printer_goes_to_the_fallback() -> None:
    h = Harness(None)
    h.step.start()
    assert h.run_ui().phase == "failed"
