"""Simulators run for days in a demo kiosk: what they remember is bounded."""

from __future__ import annotations

from drivers.printer.simulator import KEEP_JOBS, KEEP_RECEIVED_BYTES, SimulatedEscPosPrinter


def test_simulated_printer_keeps_the_latest_jobs_only() -> None:
    printer = SimulatedEscPosPrinter()
    for n in range(KEEP_JOBS + 5):
        printer.send(b"\x1b@receipt %d\n" % n + bytes(40_000))
    assert printer.printed == KEEP_JOBS + 5
    assert len(printer.jobs) == KEEP_JOBS
    assert printer.jobs[-1].startswith(b"\x1b@receipt %d\n" % (KEEP_JOBS + 4))
    assert printer.jobs[0].startswith(b"\x1b@receipt 5\n")
    assert len(printer.received) == KEEP_RECEIVED_BYTES


def test_file_names_keep_counting_past_the_kept_jobs(tmp_path) -> None:  # type: ignore[no-untyped-def]
    printer = SimulatedEscPosPrinter(folder=tmp_path)
    for n in range(KEEP_JOBS + 2):
        printer.send(b"\x1b@%d\n" % n)
    assert (tmp_path / f"job-{KEEP_JOBS + 2:04d}.bin").read_bytes() == b"\x1b@%d\n" % (KEEP_JOBS + 1)
