"""Exact ESC/POS bytes and every DLE EOT status bit."""

from __future__ import annotations

import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from drivers.printer.escpos import EscPosEncoder, PrinterProfile, native_qr, raster_image
from drivers.printer.printer import EscPosPrinter
from drivers.printer.status import decode_status, status_query


def test_job_starts_with_init_and_chinese_mode_and_text_is_gb18030() -> None:
    job = EscPosEncoder().line("打印测试").build()
    assert job == b"\x1b\x40\x1c\x26" + "打印测试".encode("gb18030") + b"\n"
    assert job[4:12] == bytes.fromhex("b4f2d3a1b2e2cad4")


def test_punctuation_only_line_is_encoded_not_question_marks() -> None:
    job = EscPosEncoder().line("，。！￥").build()
    assert b"?" not in job
    assert job.endswith("，。！￥".encode("gb18030") + b"\n")


def test_gbk_profile_encodes_gbk_and_unencodable_becomes_question_mark() -> None:
    enc = EscPosEncoder(PrinterProfile(encoding="gbk"))
    job = enc.text("中😀").build()
    assert job.endswith("中".encode("gbk") + b"?")


def test_style_align_and_cut_bytes() -> None:
    job = EscPosEncoder().align("center").style(bold=True, size=2).cut().build()
    assert job[4:] == (
        b"\x1b\x61\x01"  # ESC a 1
        b"\x1b\x45\x01\x1d\x21\x11\x1c\x21\x0c"  # bold, GS ! double, FS ! double (Chinese)
        b"\x1b\x64\x04\x1d\x56\x01"  # feed 4, GS V 1 partial cut
    )


def test_native_qr_bytes() -> None:
    assert native_qr("AB", module=4, ec="Q") == (
        b"\x1d\x28\x6b\x04\x00\x31\x41\x32\x00"
        b"\x1d\x28\x6b\x03\x00\x31\x43\x04"
        b"\x1d\x28\x6b\x03\x00\x31\x45\x32"
        b"\x1d\x28\x6b\x05\x00\x31\x50\x30AB"
        b"\x1d\x28\x6b\x03\x00\x31\x51\x30"
    )


def test_qr_raster_fallback_per_profile() -> None:
    job = EscPosEncoder(PrinterProfile(native_qr=False)).qr("https://example.invalid/").build()
    assert b"\x1d\x28\x6b" not in job
    assert b"\x1d\x76\x30\x00" in job


def test_raster_image_bits() -> None:
    img = Image.new("L", (10, 2), 255)
    img.putpixel((0, 0), 0)
    img.putpixel((9, 1), 0)
    assert raster_image(img) == b"\x1d\x76\x30\x00\x02\x00\x02\x00" + bytes((0x80, 0x00, 0x00, 0x40))


@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_status_query_bytes(n: int) -> None:
    assert status_query(n) == bytes((0x10, 0x04, n))


@pytest.mark.parametrize(
    ("n", "value", "code", "flag"),
    [
        (1, 0x12 | 0x08, "offline", "offline"),
        (2, 0x12 | 0x04, "cover_open", "cover_open"),
        (2, 0x12 | 0x20, "paper_out", "paper_out"),
        (2, 0x12 | 0x40, "error", "error"),
        (3, 0x12 | 0x08, "cutter_error", "cutter_error"),
        (3, 0x12 | 0x20, "error", "error"),
        (4, 0x12 | 0x0C, "paper_near_end", "paper_near_end"),
        (4, 0x12 | 0x60, "paper_out", "paper_out"),
    ],
)
def test_every_status_bit(n: int, value: int, code: str, flag: str) -> None:
    answers: dict[int, int | None] = {1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}
    answers[n] = value
    status = decode_status(answers)
    assert status.code == code
    assert getattr(status, flag) is True
    assert status.can_print is (code == "paper_near_end")


def test_clear_bits_are_ready_and_silence_is_unknown() -> None:
    assert decode_status({1: 0x12, 2: 0x12, 3: 0x12, 4: 0x12}).code == "ready"
    silent = decode_status({1: None, 2: None, 3: None, 4: None})
    assert silent.code == "unknown" and not silent.can_print and not silent.blocking


class ScriptedTransport:
    """Answers each DLE EOT n from a table; records writes."""

    name = "scripted"
    can_read = True

    def __init__(self, answers: dict[int, int | None]) -> None:
        self.answers = answers
        self.written = bytearray()
        self.pending = b""

    def write(self, data: bytes) -> None:
        self.written += data
        if data[:2] == b"\x10\x04":
            reply = self.answers.get(data[2])
            self.pending = b"" if reply is None else bytes((reply,))

    def read(self, size: int, timeout: float) -> bytes:
        out, self.pending = self.pending[:size], self.pending[size:]
        return out

    def close(self) -> None:
        pass


def test_printer_asks_all_four_queries_in_order() -> None:
    transport = ScriptedTransport({1: 0x12, 2: 0x16, 3: 0x12, 4: 0x12})
    status = EscPosPrinter(transport).status()
    assert bytes(transport.written) == b"\x10\x04\x01\x10\x04\x02\x10\x04\x03\x10\x04\x04"
    assert status.code == "cover_open"


def test_printer_that_does_not_answer_is_unknown() -> None:
    transport = ScriptedTransport({})
    status = EscPosPrinter(transport, status_timeout=0.01).status()
    assert status.code == "unknown"
    assert bytes(transport.written) == b"\x10\x04\x01"  # gives up after the first silent query


@settings(max_examples=int(os.environ.get("KIOSK_FUZZ_EXAMPLES", "200")), deadline=None)
@given(st.binary(max_size=300))
def test_simulator_interpreter_survives_any_bytes(data: bytes) -> None:
    from drivers.printer.simulator import interpret

    interpret(b"\x1b\x40" + data)  # truncated or garbage jobs reach the simulator over TCP too


def test_truncated_job_is_interpreted_up_to_the_break() -> None:
    from drivers.printer.simulator import interpret

    job = EscPosEncoder().line("前").image(Image.new("L", (16, 16), 0)).build()
    seen = interpret(job[:-10])
    assert seen.items[0].text == "前"  # type: ignore[union-attr]
    assert seen.unknown_commands == 1


def test_oversized_qr_in_a_job_is_skipped_not_fatal() -> None:
    from drivers.printer.escpos import gs_k
    from drivers.printer.simulator import interpret

    seen = interpret(gs_k(80, b"\x30" + b"\xe4\xb8\xad" * 1000) + gs_k(81, b"\x30"))  # 3000 bytes
    assert seen.unknown_commands == 1 and seen.items == []
