"""The print service over the simulated printer: success only when confirmed, clear failures."""

from __future__ import annotations

import queue
from collections.abc import Callable
from pathlib import Path

import pytest

from drivers.printer.simulator import SimulatedEscPosPrinter, interpret
from kiosk.config.messages import Messages
from kiosk.config.model import load_config
from kiosk.devices import DeviceContext
from kiosk.documents import samples
from kiosk.documents.model import Document
from kiosk.printing.receipt_printer import DRIVERS, PrintOutcome, print_document, print_in_background
from kiosk.work import Tasks


@pytest.fixture
def printer(tmp_path: Path) -> SimulatedEscPosPrinter:
    return SimulatedEscPosPrinter(tmp_path / "sim")


@pytest.fixture
def receipt() -> Document:
    return samples.sample_document("receipt", load_config(None, environ={}, validate_devices=False))


def test_printed_job_is_saved_as_bytes_and_png(printer: SimulatedEscPosPrinter, receipt: Document) -> None:
    outcome = print_document(printer, receipt)
    assert outcome.ok and outcome.code == "printed" and outcome.after is not None
    assert printer.folder is not None
    assert (printer.folder / "job-0001.bin").read_bytes() == printer.jobs[0]
    assert (printer.folder / "job-0001.png").stat().st_size > 1000
    seen = interpret(printer.jobs[0])
    grouped = " ".join(samples.SAMPLE_NUMBER[i : i + 4] for i in (0, 4, 8))
    texts = [str(getattr(item, "text", "")) for item in seen.items]
    assert seen.cut and grouped in texts  # the receipt (and its PNG preview) shows the 受理号
    assert not any(samples.SAMPLE_REQUEST_ID in text for text in texts)  # the UUID is only in the QR


@pytest.mark.parametrize("fault", ["paper_out", "cover_open", "offline"])
def test_blocking_state_prints_nothing(
    printer: SimulatedEscPosPrinter, receipt: Document, fault: str
) -> None:
    printer.inject(fault)
    outcome = print_document(printer, receipt)
    assert not outcome.ok and outcome.code == fault
    assert outcome.message_key == f"printing.failed.{fault}"
    assert printer.received == b"" and printer.jobs == []


def test_paper_running_out_during_the_job_is_not_success(
    printer: SimulatedEscPosPrinter, receipt: Document
) -> None:
    original = printer.send

    def send_then_run_out(job: bytes) -> None:
        original(job)
        printer.inject("paper_out")

    printer.send = send_then_run_out  # type: ignore[method-assign]
    outcome = print_document(printer, receipt)
    assert not outcome.ok and outcome.code == "paper_out" and outcome.before.code == "ready"


def test_disconnect_mid_job(printer: SimulatedEscPosPrinter, receipt: Document) -> None:
    printer.inject("disconnect")
    outcome = print_document(printer, receipt)
    assert outcome.code == "disconnected" and not outcome.ok


def test_silent_printer_is_unknown_unless_config_allows(
    printer: SimulatedEscPosPrinter, receipt: Document
) -> None:
    printer.inject("silent")
    refused = print_document(printer, receipt)
    assert refused.code == "unknown" and printer.received == b""
    sent = print_document(printer, receipt, print_when_status_unknown=True)
    assert sent.code == "unknown" and not sent.ok  # bytes went out but nobody confirmed
    assert len(printer.jobs) == 1


def test_every_outcome_message_key_exists_in_both_languages() -> None:
    messages = Messages.load()
    for code in ("paper_out", "cover_open", "offline", "disconnected", "unknown", "cutter_error", "error"):
        assert f"printing.failed.{code}" in messages
    assert "printing.printed" in messages and "printing.request_number" in messages


def test_background_print_delivers_through_post(printer: SimulatedEscPosPrinter, receipt: Document) -> None:
    posted: queue.Queue[Callable[[], None]] = queue.Queue()
    results: list[PrintOutcome] = []
    task = print_in_background(printer, receipt, Tasks(posted.put), results.append)
    callback = posted.get(timeout=10)
    assert results == []  # nothing ran on the worker that belongs to the UI thread
    callback()
    assert task.finished.is_set() and task.name == "print-job"
    assert results[0].ok


def test_a_cancelled_background_print_reports_nothing(
    printer: SimulatedEscPosPrinter, receipt: Document
) -> None:
    posted: queue.Queue[Callable[[], None]] = queue.Queue()
    results: list[PrintOutcome] = []
    tasks = Tasks(posted.put)
    print_in_background(printer, receipt, tasks, results.append)
    tasks.cancel()  # the resident left the step
    posted.get(timeout=10)()
    assert results == [] and len(printer.jobs) == 1  # the job itself was not taken back


def test_simulated_driver_entry_opens_with_faults(tmp_path: Path) -> None:
    entry = DRIVERS["simulated"]
    options = entry.options.model_validate({"faults": ["paper_out"]})
    device = entry.open(options, DeviceContext(role="printer", data_dir=tmp_path))
    assert device.health().code == "paper_out" and not device.health().usable


def test_escpos_options_reject_unknown_uri() -> None:
    with pytest.raises(ValueError):
        DRIVERS["escpos"].options.model_validate({"uri": "lpt:1"})
