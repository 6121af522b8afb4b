"""A4: the simulated printer keeps PDF + PNG; the CUPS driver talks to a stand-in ``lp``."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from drivers.errors import DeviceDisconnected, DeviceNotFound
from drivers.printer.cups import CupsA4Printer
from drivers.printer.simulator import SimulatedA4Printer
from kiosk.config.model import load_config
from kiosk.devices import DeviceContext
from kiosk.documents import samples
from kiosk.documents.model import Document
from kiosk.printing.a4_printer import DRIVERS, print_a4, print_a4_document
from kiosk.printing.print_step import PrintStep, PrintStepState
from kiosk.tech import main as tech_main
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def certificate() -> Document:
    return samples.sample_document("certificate", load_config(None, environ={}, validate_devices=False))


def test_simulated_a4_keeps_pdf_and_png(tmp_path: Path, certificate: Document) -> None:
    entry = DRIVERS["simulated"]
    printer = entry.open(
        entry.options.model_validate({"folder": str(tmp_path)}), DeviceContext("a4", tmp_path)
    )
    print_a4(printer, certificate)
    assert (tmp_path / "a4-0001.pdf").read_bytes().startswith(b"%PDF")
    assert (tmp_path / "a4-0001.png").stat().st_size > 10_000


def test_simulated_a4_offline_raises(tmp_path: Path, certificate: Document) -> None:
    printer = SimulatedA4Printer(tmp_path)
    printer.faults.add("offline")
    with pytest.raises(DeviceDisconnected):
        print_a4(printer, certificate)
    assert not printer.health().usable and list(tmp_path.iterdir()) == []


@pytest.fixture
def fake_lp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An ``lp`` on PATH that stores stdin and prints a CUPS-like job line; queue "bad" fails."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    spool = tmp_path / "spool.pdf"
    lp = bin_dir / "lp"
    lp.write_text(
        "#!/bin/sh\n"
        'if [ "$2" = bad ]; then echo "lp: The printer or class does not exist." >&2; exit 1; fi\n'
        f'cat > "{spool}"\n'
        'echo "request id is $2-7 (1 file(s))"\n'
    )
    lp.chmod(0o755)
    lpstat = bin_dir / "lpstat"  # queue "Paused" is disabled, "bad" does not exist
    lpstat.write_text(
        "#!/bin/sh\n"
        'case "$2" in\n'
        '  bad) echo "lpstat: Invalid destination name in list \\"bad\\"." >&2; exit 1;;\n'
        '  Paused) echo "printer Paused disabled since Sat 28 Nov 2026 -"; echo "\tPaused";;\n'
        '  *) echo "printer $2 is idle.  enabled since Sat 28 Nov 2026";;\n'
        "esac\n"
    )
    lpstat.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return spool


def test_cups_submits_pdf(fake_lp: Path, certificate: Document) -> None:
    printer = CupsA4Printer("Office_A4")
    print_a4(printer, certificate)
    assert fake_lp.read_bytes().startswith(b"%PDF")


def test_cups_missing_queue_names_the_cause(fake_lp: Path) -> None:
    with pytest.raises(DeviceNotFound, match="does not exist"):
        CupsA4Printer("bad").print_pdf(b"%PDF-1.4")


def test_cli_print_test_on_a_cups_queue(fake_lp: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert tech_main(["print-test", "--printer", "cups:Office_A4"]) == 0
    assert capsys.readouterr().out.strip() == "request id is Office_A4-7 (1 file(s))"
    assert fake_lp.read_bytes().startswith(b"%PDF")


@pytest.mark.parametrize(
    ("queue", "cause"), [("Paused", "打印机离线 offline"), ("bad", "无此打印队列 no such CUPS queue")]
)
def test_cli_print_test_refused_by_cups_prints_nothing(
    fake_lp: Path, queue: str, cause: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert tech_main(["print-test", "--printer", f"cups:{queue}"]) == 1
    err = capsys.readouterr().err
    assert err.startswith(cause) and err.count("\n") == 1
    assert not fake_lp.exists()


@pytest.mark.parametrize(
    ("fault", "code"),
    [
        ("paper_out", "paper_out"),
        ("cover_open", "cover_open"),
        ("offline", "offline"),
        ("disconnect", "disconnected"),
    ],
)
def test_a4_outcome_for_each_simulated_fault(
    tmp_path: Path, certificate: Document, fault: str, code: str
) -> None:
    printer = SimulatedA4Printer(tmp_path)
    printer.faults.add(fault)
    outcome = print_a4_document(printer, certificate)
    assert (outcome.ok, outcome.code, outcome.message_key) == (False, code, f"printing.failed.{code}")
    assert list(tmp_path.iterdir()) == []


def test_a4_outcome_printed_and_kept(tmp_path: Path, certificate: Document) -> None:
    printer = SimulatedA4Printer(tmp_path)
    outcome = print_a4_document(printer, certificate)
    assert outcome.ok and outcome.code == "printed" and outcome.message_key == "printing.printed"
    assert [p.name for p in printer.jobs] == ["a4-0001.pdf"]


def test_a4_outcome_disabled_cups_queue_is_offline(fake_lp: Path, certificate: Document) -> None:
    outcome = print_a4_document(CupsA4Printer("Paused"), certificate)
    assert (outcome.ok, outcome.code) == (False, "offline")
    assert "disabled" in outcome.detail and not fake_lp.exists()


def test_print_step_drives_the_a4_printer_too(tmp_path: Path, certificate: Document) -> None:
    states: list[PrintStepState] = []
    printer = SimulatedA4Printer(tmp_path)
    printer.faults.add("offline")
    step = PrintStep(
        printer, certificate, request_id="R-1", status_url="https://s.invalid/R-1",
        post=lambda fn: fn(), on_change=states.append,
    )  # fmt: skip
    step.start()
    wait_until(lambda: step.state.phase == "failed", timeout_s=10)
    assert step.state.message_key == "printing.failed.offline" and step.state.can_reprint
    printer.faults.clear()
    step.reprint()
    wait_until(lambda: step.state.phase == "printed", timeout_s=10)
    assert [s.phase for s in states] == ["printing", "failed", "printing", "printed"]
    assert step.state.attempts == 2 and len(printer.jobs) == 1


def test_simulated_a4_faults_from_config(tmp_path: Path, certificate: Document) -> None:
    entry = DRIVERS["simulated"]
    options = entry.options.model_validate({"folder": str(tmp_path), "faults": ["paper_out"]})
    printer = entry.open(options, DeviceContext("a4", tmp_path))
    assert print_a4_document(printer, certificate).code == "paper_out"
    with pytest.raises(ValueError, match="faults"):
        entry.options.model_validate({"faults": ["on_fire"]})
