"""Real byte paths: a TCP port-9100 simulator on 127.0.0.1, a pty for serial, a file; the CLI."""

from __future__ import annotations

import os
import pty
import threading
import time
import tty
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.errors import DeviceError, DeviceNotFound
from drivers.printer.printer import EscPosPrinter
from drivers.printer.simulator import SimulatedEscPosPrinter, serve_tcp
from drivers.printer.transports import FileTransport, TcpTransport, open_transport
from kiosk.documents import samples
from kiosk.documents.model import Document, Text
from kiosk.printing.receipt_printer import print_document
from kiosk.tech import main as tech_main
from tests.conftest import wait_until

pytestmark = pytest.mark.integration


@pytest.fixture
def sim(tmp_path: Path) -> Iterator[tuple[SimulatedEscPosPrinter, int]]:
    printer = SimulatedEscPosPrinter(tmp_path / "sim")
    port, stop = serve_tcp(printer)
    yield printer, port
    stop.set()


def test_tcp_status_and_job(sim: tuple[SimulatedEscPosPrinter, int]) -> None:
    printer, port = sim
    real = EscPosPrinter(TcpTransport("127.0.0.1", port))
    doc = Document("receipt", "t").add(Text("打印测试"))
    outcome = print_document(real, doc)
    real.close()
    assert outcome.ok, outcome
    wait_until(lambda: len(printer.jobs) == 1, timeout_s=10)
    assert "打印测试".encode("gb18030") in printer.jobs[0]


def test_tcp_paper_out_is_read_from_the_wire(sim: tuple[SimulatedEscPosPrinter, int]) -> None:
    printer, port = sim
    printer.inject("paper_out")
    real = EscPosPrinter(TcpTransport("127.0.0.1", port))
    assert real.status().code == "paper_out"
    real.close()


def test_tcp_silent_printer_is_unknown(sim: tuple[SimulatedEscPosPrinter, int]) -> None:
    printer, port = sim
    printer.inject("silent")
    real = EscPosPrinter(TcpTransport("127.0.0.1", port), status_timeout=0.05)
    assert real.status().code == "unknown"
    real.close()


def test_tcp_disconnect_mid_job_is_disconnected(sim: tuple[SimulatedEscPosPrinter, int]) -> None:
    printer, port = sim
    real = EscPosPrinter(TcpTransport("127.0.0.1", port), status_timeout=0.2)
    assert real.status().code == "ready"
    printer.inject("disconnect")
    big = Document("receipt", "big").add(*[Text(f"测试行 {i}") for i in range(20000)])
    outcome = print_document(real, big)
    real.close()
    assert outcome.code == "disconnected" and not outcome.ok
    assert printer.jobs == []


def test_tcp_nobody_listening_is_device_not_found() -> None:
    with pytest.raises(DeviceNotFound):
        open_transport("tcp:127.0.0.1:1")


def test_serial_over_pty_answers_status() -> None:
    master, slave = pty.openpty()
    tty.setraw(slave)
    name = os.ttyname(slave)
    received = bytearray()
    stop = threading.Event()

    def device() -> None:  # a printer that answers DLE EOT 4 with "paper near end"
        while not stop.is_set():
            try:
                data = os.read(master, 1024)
            except OSError:
                return
            received.extend(data)
            for i in range(len(data) - 2):
                if data[i : i + 2] == b"\x10\x04":
                    os.write(master, b"\x1e" if data[i + 2] == 4 else b"\x12")

    threading.Thread(target=device, daemon=True).start()
    real = EscPosPrinter(open_transport(f"serial:{name}?baud=9600"))
    try:
        assert real.status().code == "paper_near_end"
        real.send(b"\x1b\x40hello\n")
        wait_until(lambda: b"hello" in received, timeout_s=10)
    finally:
        real.close()
        stop.set()
        os.close(slave)
        os.close(master)


def test_a_serial_printer_in_use_by_another_program_is_busy_not_shared() -> None:
    master, slave = pty.openpty()
    name = os.ttyname(slave)
    try:
        first = open_transport(f"serial:{name}")
        with pytest.raises(DeviceError, match="busy") as refused:
            open_transport(f"serial:{name}")
        assert not isinstance(refused.value, DeviceNotFound)  # it is there: nobody should hunt for it
        first.close()
        open_transport(f"serial:{name}").close()  # released by its holder: free again
    finally:
        os.close(slave)
        os.close(master)


def test_file_transport_cannot_answer(tmp_path: Path) -> None:
    real = EscPosPrinter(FileTransport(str(tmp_path / "out.bin")))
    assert real.status().code == "unknown"
    outcome = print_document(real, Document("receipt", "x").add(Text("a")), print_when_status_unknown=True)
    assert outcome.code == "unknown"
    assert (tmp_path / "out.bin").read_bytes().endswith(b"\x1d\x56\x01")


def test_cli_print_test_paper_out_prints_nothing(
    sim: tuple[SimulatedEscPosPrinter, int], capsys: pytest.CaptureFixture[str]
) -> None:
    printer, port = sim
    printer.inject("paper_out")
    assert tech_main(["print-test", "--printer", f"tcp:127.0.0.1:{port}"]) == 1
    assert capsys.readouterr().err == "缺纸 paper out\n"
    time.sleep(0)  # the server drops the empty connection without a job
    assert printer.jobs == []


def test_cli_print_test_prints_test_page(sim: tuple[SimulatedEscPosPrinter, int]) -> None:
    printer, port = sim
    assert tech_main(["print-test", "--printer", f"tcp:127.0.0.1:{port}"]) == 0
    wait_until(lambda: len(printer.jobs) == 1, timeout_s=10)
    job = printer.jobs[0]
    assert "打印测试".encode("gb18030") in job and b"KIOSK-DEV-0001" in job
    assert b"https://" in job and job.endswith(b"\x1d\x56\x01")
    assert samples.SAMPLE_NAME.encode("gb18030") not in job


def test_cli_print_test_file_uri(tmp_path: Path) -> None:
    out = tmp_path / "page.bin"
    assert tech_main(["print-test", "--printer", f"file:{out}"]) == 0
    assert "打印测试".encode("gb18030") in out.read_bytes()


@pytest.mark.parametrize(
    ("uri", "expected"),
    [
        ("lpt:1", "unknown printer URI"),
        ("tcp:printer", "expected tcp:HOST:PORT"),
        ("serial:/dev/ttyS9?baud=fast", "expected serial:DEVICE[?baud=N]"),
        ("usb:zz:5011", "expected usb:VID:PID in hex"),
        ("file:", "expected file:PATH"),
    ],
)
def test_cli_bad_uri_is_usage_error(uri: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert tech_main(["print-test", "--printer", uri]) == 2
    err = capsys.readouterr().err
    assert expected in err and err.count("\n") == 1


def test_cli_absent_usb_printer_names_the_cause(capsys: pytest.CaptureFixture[str]) -> None:
    assert tech_main(["print-test", "--printer", "usb:0416:50ff"]) != 0
    err = capsys.readouterr().err
    # without pyusb/libusb the cause names the missing piece; with them, the absent device
    assert ("pyusb" in err or "libusb" in err or "no such USB device" in err) and err.count("\n") == 1


def test_tcp_query_arriving_right_behind_the_job_is_answered(sim: tuple[SimulatedEscPosPrinter, int]) -> None:
    printer, port = sim
    transport = TcpTransport("127.0.0.1", port)
    job = b"\x1b\x40abc\n\x1d\x56\x01"
    transport.write(job + b"\x10\x04\x04")  # one segment: the job's tail and the query together
    assert transport.read(1, 5.0) == b"\x12"
    transport.close()
    wait_until(lambda: printer.jobs == [job], timeout_s=10)
