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


def test_only_the_latest_jobs_stay_on_disk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    printer = SimulatedEscPosPrinter(folder=tmp_path)
    for n in range(KEEP_JOBS + 3):
        printer.send(b"\x1b@%d\n" % n)
    names = sorted(p.name for p in tmp_path.iterdir())
    assert len(names) == 2 * KEEP_JOBS  # .bin and .png of each kept job
    assert names[0] == "job-0004.bin" and names[-1] == f"job-{KEEP_JOBS + 3:04d}.png"


def test_simulated_a4_printer_keeps_the_latest_documents_only(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from PIL import Image

    from drivers.printer.simulator import SimulatedA4Printer

    printer = SimulatedA4Printer(tmp_path)
    for n in range(KEEP_JOBS + 2):
        printer.print_pdf(b"%%PDF-1.4 synthetic %d" % n, Image.new("L", (8, 8)))
    assert len(printer.jobs) == KEEP_JOBS and printer.printed == KEEP_JOBS + 2
    assert printer.jobs[-1].name == f"a4-{KEEP_JOBS + 2:04d}.pdf"
    assert (tmp_path / f"a4-{KEEP_JOBS + 2:04d}.pdf").read_bytes() == b"%%PDF-1.4 synthetic %d" % (
        KEEP_JOBS + 1
    )
    assert not (tmp_path / "a4-0002.pdf").exists() and (tmp_path / "a4-0003.pdf").exists()
    assert len(list(tmp_path.glob("*.png"))) == KEEP_JOBS
