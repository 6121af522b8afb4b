"""The shared print test (kiosk/printing/test_page.py) over the simulated printers: a printer that
says it cannot print gets nothing and the report names the cause; one that cannot answer status
still gets the page; the A4 printer the same through its health."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.printer.simulator import SimulatedA4Printer, SimulatedEscPosPrinter, interpret
from kiosk.devices.counters import counters_for
from kiosk.printing.test_page import CAUSES, print_test_page

KIOSK = "KIOSK-DEV-0001"
STATUS_URL = "https://status.example.org/r/"


@pytest.fixture
def printer(tmp_path: Path) -> SimulatedEscPosPrinter:
    return SimulatedEscPosPrinter(tmp_path / "sim")


@pytest.fixture
def a4(tmp_path: Path) -> SimulatedA4Printer:
    return SimulatedA4Printer(tmp_path / "a4")


def test_a_ready_printer_prints_the_test_page(printer: SimulatedEscPosPrinter) -> None:
    report = print_test_page(printer, KIOSK, STATUS_URL)
    assert report.ok and report.sent and report.outcome.code == "printed"
    assert report.status_text == CAUSES["ready"] and report.after_text == CAUSES["ready"]
    assert len(printer.jobs) == 1
    texts = [getattr(item, "text", "") for item in interpret(printer.jobs[0]).items]
    assert (
        "打印测试" in texts and f"终端 Kiosk: {KIOSK}" in texts and f"状态 Status: {CAUSES['ready']}" in texts
    )


@pytest.mark.parametrize("fault", ["paper_out", "cover_open", "offline"])
def test_a_printer_that_says_it_cannot_print_gets_nothing(
    printer: SimulatedEscPosPrinter, fault: str
) -> None:
    printer.inject(fault)
    report = print_test_page(printer, KIOSK, STATUS_URL)
    assert not report.ok and not report.sent
    assert (report.status_code, report.outcome.code) == (fault, fault)
    assert report.cause == CAUSES[fault]
    assert printer.received == b"" and printer.jobs == []
    assert report.document.title == "test page"  # still there for the maintenance page's preview
    assert counters_for(printer).snapshot().errors == 1  # the dashboard counts the refusal


def test_a_printer_that_does_not_answer_status_still_gets_the_page(printer: SimulatedEscPosPrinter) -> None:
    printer.inject("silent")
    report = print_test_page(printer, KIOSK, STATUS_URL)
    assert report.sent and not report.ok and report.outcome.code == "unknown"
    assert len(printer.jobs) == 1  # that is the test: check the paper by eye


def test_the_a4_printer_prints_the_a4_test_page(a4: SimulatedA4Printer) -> None:
    report = print_test_page(a4, KIOSK, STATUS_URL, a4=True)
    assert report.ok and report.sent and report.document.kind == "a4"
    assert a4.printed == 1 and a4.jobs[0].read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize("fault", ["paper_out", "cover_open", "offline"])
def test_an_a4_printer_that_is_down_gets_nothing(a4: SimulatedA4Printer, fault: str) -> None:
    a4.faults.add(fault)
    report = print_test_page(a4, KIOSK, STATUS_URL, a4=True)
    assert not report.ok and not report.sent
    assert report.status_code == fault and report.status_text == CAUSES[fault]
    assert report.cause == f"{CAUSES[fault]}: simulated"
    assert a4.printed == 0 and a4.jobs == []
