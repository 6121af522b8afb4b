"""Templates render to ESC/POS, PNG and PDF; previews are checked by looking at the pixels."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from contract.certificates import key_id_of, verify_certificate
from drivers.printer.escpos import PrinterProfile
from kiosk.config.model import KioskConfig, load_config
from kiosk.documents import samples
from kiosk.documents.render import to_escpos, to_pdf, to_png
from kiosk.tech import main as tech_main


@pytest.fixture(scope="module")
def config() -> KioskConfig:
    return load_config(None, environ={}, validate_devices=False)


def decode_qr(img: Image.Image) -> str:
    text, _, _ = cv2.QRCodeDetector().detectAndDecode(np.array(img.convert("L")))
    return str(text)


def ink_rows(img: Image.Image) -> np.ndarray:
    return np.flatnonzero((np.array(img.convert("L")) < 128).any(axis=1))


def test_request_receipt_bytes_hold_the_acceptance_number_masked_name_and_cut(config: KioskConfig) -> None:
    job = to_escpos(samples.sample_document("receipt", config))
    grouped = " ".join(samples.SAMPLE_NUMBER[i : i + 4] for i in (0, 4, 8))
    assert "受理号".encode("gb18030") in job and grouped.encode() in job
    assert job.count(samples.SAMPLE_REQUEST_ID.encode()) == 1  # only inside the status QR code
    assert samples.SAMPLE_REQUEST_ID[-12:].upper().encode() not in job  # no "status code" either
    assert "张**".encode("gb18030") in job
    assert "张三丰".encode("gb18030") not in job
    assert job.endswith(b"\x1d\x56\x01")
    assert (config.kiosk.status_base_url + samples.SAMPLE_REQUEST_ID).encode() in job  # native QR data


def test_receipt_preview_is_paper_width_with_text_and_a_qr_that_decodes(config: KioskConfig) -> None:
    img = to_png(samples.sample_document("receipt", config))
    assert img.width == 576 and img.height > 600
    rows = ink_rows(img)
    assert rows.size > 0 and rows[0] < 60  # the title is at the top
    assert decode_qr(img) == config.kiosk.status_base_url + samples.SAMPLE_REQUEST_ID


def test_58mm_profile_preview_is_narrower(config: KioskConfig) -> None:
    img = to_png(samples.sample_document("test-page", config), PrinterProfile(width_dots=384, columns=32))
    assert img.width == 384
    assert decode_qr(img) == config.kiosk.status_base_url


def test_raster_qr_profile_preview_decodes_too(config: KioskConfig) -> None:
    profile = PrinterProfile(native_qr=False)
    job = to_escpos(samples.sample_document("test-page", config), profile)
    assert b"\x1d\x28\x6b" not in job
    assert (
        decode_qr(to_png(samples.sample_document("test-page", config), profile))
        == config.kiosk.status_base_url
    )


def test_payment_receipt_uses_full_width_yuan(config: KioskConfig) -> None:
    job = to_escpos(samples.sample_document("payment-receipt", config))
    assert "￥10.00".encode("gb18030") in job
    assert "¥".encode("gb18030", errors="replace") not in job.replace("￥".encode("gb18030"), b"")


def test_certificate_is_a4_with_signed_qr_and_pdf(config: KioskConfig) -> None:
    doc = samples.sample_document("certificate", config)
    img = to_png(doc)
    assert img.size == (1654, 2339)
    text = decode_qr(img)
    public = samples.sample_key().public_key()
    data = samples.sample_certificate_data()
    result = verify_certificate(
        text, {key_id_of(public): public}, holder={"name": data.name, "id_number": data.id_number}
    )
    assert result.valid, result.reason  # the printed picture carries the backend-signed QR
    pdf = to_pdf(doc)
    assert pdf.startswith(b"%PDF") and b"/MediaBox" in pdf


def test_blank_document_renders_blank() -> None:
    from kiosk.documents.model import Document

    img = to_png(Document("receipt", "empty"))
    assert ink_rows(img).size <= 1  # only the cut mark


@pytest.mark.parametrize("name", ["receipt", "payment-receipt", "certificate", "test-page"])
def test_cli_preview_writes_png(name: str, tmp_path: Path) -> None:
    out = tmp_path / f"{name}.png"
    assert tech_main(["preview", name, "--out", str(out)]) == 0
    with Image.open(out) as img:
        assert img.format == "PNG" and ink_rows(img).size > 100


def test_cli_preview_unwritable_path_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = tech_main(["preview", "receipt", "--out", str(tmp_path / "missing" / "x.png")])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err


def test_the_fine_receipt_prints_the_fiscal_e_receipt_decisions_and_late_fee(config: KioskConfig) -> None:
    import datetime as dt
    from types import SimpleNamespace

    from kiosk.printing.jobs import build_jobs
    from kiosk.services.catalogue import Catalogue
    from kiosk.visit.session import Session

    service = Catalogue.load()["traffic-fine"]
    step = next(s for s in service.steps if s.kind == "print")
    session = Session("zh")
    session.artifacts["submitted"] = SimpleNamespace(
        request_id="0190f0a0-0000-7000-8000-000000000001", number="031212010042"
    )
    session.artifacts["violations"] = {
        "decision_nos": ["9900002026123456"],
        "late_fee_fen": 3000,
        "amount_fen": 13000,
    }
    session.artifacts["payment"] = {"payment_id": "p1", "amount_fen": 13000, "fiscal_receipt_no": "990266010000012345",
                                    "method": "code"}  # fmt: skip
    (job,) = build_jobs(step, service, session, config, dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC))
    data = to_escpos(job.document)
    for text in (
        "财政电子票据号",
        "990266010000012345",
        "9900002026123456",
        "滞纳金",
        "￥30.00",
        "￥130.00",
        "付款码",
    ):
        assert text.encode("gb18030") in data, text
