"""The A4 PDF: vector text in an embedded CJK font, a QR that verifies once printed, A4 pages.

Ghostscript (the same interpreter CUPS filters use) rasterizes and extracts text when installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from contract.certificates import key_id_of, verify_certificate
from kiosk.config.model import KioskConfig, load_config
from kiosk.documents import samples
from kiosk.documents.model import Document, QrCode, Text
from kiosk.documents.pdf import to_vector_pdf
from kiosk.documents.render import raster_pdf, to_pdf

needs_gs = pytest.mark.skipif(shutil.which("gs") is None, reason="ghostscript not installed")


@pytest.fixture(scope="module")
def config() -> KioskConfig:
    return load_config(None, environ={}, validate_devices=False)


@pytest.fixture(scope="module")
def certificate_pdf(config: KioskConfig) -> bytes:
    return to_pdf(samples.sample_document("certificate", config))


def gs(pdf: bytes, tmp_path: Path, *args: str) -> bytes:
    src = tmp_path / "doc.pdf"
    src.write_bytes(pdf)
    return subprocess.run(
        ["gs", "-q", "-dNOPAUSE", "-dBATCH", "-dSAFER", *args, str(src)], capture_output=True, check=True
    ).stdout


def test_certificate_pdf_is_one_a4_page_with_an_embedded_truetype_font(
    certificate_pdf: bytes, config: KioskConfig
) -> None:
    assert certificate_pdf.startswith(b"%PDF")
    boxes = re.findall(rb"/MediaBox \[([^\]]+)\]", certificate_pdf)
    assert len(boxes) == 1
    assert [round(float(v)) for v in boxes[0].split()] == [0, 0, 595, 842]  # A4 in points
    assert b"/FontFile2" in certificate_pdf  # TrueType outlines embedded, not a system font reference
    # vector, not a page picture: smaller than the raster rendering of the same page
    assert len(certificate_pdf) < len(raster_pdf(samples.sample_document("certificate", config)))


@needs_gs
def test_certificate_pdf_text_is_text(certificate_pdf: bytes, tmp_path: Path) -> None:
    text = gs(certificate_pdf, tmp_path, "-sDEVICE=txtwrite", "-sOutputFile=-").decode("utf-8")
    data = samples.sample_certificate_data()
    for needle in ("临时身份证明", data.name, data.id_number, data.station, data.request_id):
        assert needle in text


@needs_gs
def test_printed_certificate_qr_verifies(certificate_pdf: bytes, tmp_path: Path) -> None:
    out = tmp_path / "page.png"
    gs(certificate_pdf, tmp_path, "-sDEVICE=pnggray", "-r200", f"-sOutputFile={out}")
    with Image.open(out) as page:
        assert page.size == (1654, 2339)
        qr_text, _, _ = cv2.QRCodeDetector().detectAndDecode(np.array(page.convert("L")))
    public = samples.sample_key().public_key()
    data = samples.sample_certificate_data()
    result = verify_certificate(
        str(qr_text), {key_id_of(public): public}, holder={"name": data.name, "id_number": data.id_number}
    )
    assert result.valid, result.reason


def test_long_content_flows_onto_more_pages() -> None:
    doc = Document("a4", "long").add(*(Text(f"第{i}行 line {i}", size=2) for i in range(60)))
    doc.add(QrCode("https://status.example.invalid/r/1"))
    pdf = to_vector_pdf(doc)
    assert len(re.findall(rb"/Type /Page\b", pdf)) >= 3


def test_raster_fallback_is_a_pdf_too(config: KioskConfig) -> None:
    pdf = raster_pdf(samples.sample_document("certificate", config))
    assert pdf.startswith(b"%PDF") and b"/MediaBox" in pdf
