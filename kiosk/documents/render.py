"""Renderers: document -> ESC/POS bytes, PNG preview, A4 PDF.

The receipt PNG is made by interpreting the ESC/POS bytes with the printer simulator, so the
preview shows what the printer is sent, not a second layout. The A4 preview is drawn with Pillow at
200 dpi; the A4 PDF is vector (fpdf2, :mod:`kiosk.documents.pdf`) with the same layout.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import logging
import shutil
import subprocess

from PIL import Image as PILImage
from PIL import ImageDraw, ImageFont

from drivers.printer.escpos import EscPosEncoder, PrinterProfile, qr_image
from drivers.printer.simulator import interpret, render_paper
from kiosk.documents.model import Document, Image, QrCode, Rule, Space, Text
from kiosk.errors import KioskError

log = logging.getLogger(__name__)

A4_DPI = 200
A4_SIZE = (1654, 2339)  # 210 x 297 mm at 200 dpi
_FONT_PATTERNS = ("WenQuanYi Zen Hei", ":lang=zh-cn", "Noto Sans CJK SC")


@functools.cache
def cjk_font_path() -> str:
    """A font file with Chinese glyphs, found via fontconfig (TrueType preferred for PDF)."""
    if shutil.which("fc-match"):
        for pattern in _FONT_PATTERNS:
            out = subprocess.run(
                ["fc-match", "-f", "%{file}\t%{lang}", pattern], capture_output=True, text=True, check=False
            ).stdout
            path, _, langs = out.partition("\t")
            if path and "zh-cn" in langs.split("|"):
                return path
    raise KioskError("no CJK font found: apt-get install fonts-wqy-zenhei (or fonts-noto-cjk)")


def to_escpos(document: Document, profile: PrinterProfile | None = None) -> bytes:
    """The whole receipt job: init, Chinese mode, blocks, partial cut."""
    enc = EscPosEncoder(profile)
    for block in document.blocks:
        if isinstance(block, Text):
            enc.align(block.align).style(bold=block.bold, size=block.size)
            enc.line(block.text)
        elif isinstance(block, Rule):
            enc.align("left").style().rule(block.char)
        elif isinstance(block, QrCode):
            enc.align("center").qr(block.data, module=block.module, ec=block.ec)
            if block.caption:
                enc.style().line(block.caption)
        elif isinstance(block, Image):
            enc.align("center").image(block.image)
        elif isinstance(block, Space):
            enc.feed(block.lines)
    enc.style().align("left")
    return enc.cut().build()


def receipt_png(document: Document, profile: PrinterProfile | None = None) -> PILImage.Image:
    profile = profile or PrinterProfile()
    result = interpret(to_escpos(document, profile), profile.encoding)
    return render_paper(result, profile.width_dots, cjk_font_path())


def a4_png(document: Document) -> PILImage.Image:
    """Draw an A4 page: 20 mm margins, text at 4.2 mm per size step, QR codes and images."""
    page = PILImage.new("RGB", A4_SIZE, "white")
    draw = ImageDraw.Draw(page)
    margin = int(20 / 25.4 * A4_DPI)
    width = A4_SIZE[0] - 2 * margin
    y = margin
    font_path = cjk_font_path()
    for block in document.blocks:
        if isinstance(block, Text):
            font = ImageFont.truetype(font_path, 30 * block.size)
            w = int(draw.textlength(block.text, font=font))
            x = {"left": margin, "center": margin + (width - w) // 2, "right": margin + width - w}[
                block.align
            ]
            draw.text((x, y), block.text, fill="black", font=font, stroke_width=1 if block.bold else 0)
            y += int(30 * block.size * 1.5)
        elif isinstance(block, Rule):
            draw.line([(margin, y + 10), (margin + width, y + 10)], fill="black", width=3)
            y += 24
        elif isinstance(block, QrCode):
            img = qr_image(block.data, module=block.module, ec=block.ec)
            page.paste(img.convert("RGB"), (margin + width - img.width, y))
            y += img.height + 10
        elif isinstance(block, Image):
            img = block.image.convert("RGB")
            if block.width_mm:
                w = int(block.width_mm / 25.4 * A4_DPI)
                img = img.resize((w, img.height * w // img.width))
            page.paste(img, (margin, y))
            y += img.height + 10
        elif isinstance(block, Space):
            y += 40 * block.lines
    return page


def to_png(document: Document, profile: PrinterProfile | None = None) -> PILImage.Image:
    return receipt_png(document, profile) if document.kind == "receipt" else a4_png(document)


def to_pdf(document: Document) -> bytes:
    """The A4 document as PDF (what the CUPS queue receives): vector text in an embedded CJK
    TrueType font via fpdf2 (:mod:`kiosk.documents.pdf`); without fpdf2, the 200-dpi preview
    page as a one-page raster PDF, so printing still works on a partial install."""
    if importlib.util.find_spec("fpdf") is not None:
        from kiosk.documents.pdf import to_vector_pdf

        return to_vector_pdf(document)
    log.warning("fpdf2 not installed: A4 PDF falls back to a raster page")
    return raster_pdf(document)


def raster_pdf(document: Document) -> bytes:
    """The A4 preview page as a one-page PDF at 200 dpi."""
    buf = io.BytesIO()
    a4_png(document).save(buf, format="PDF", resolution=A4_DPI)
    return buf.getvalue()
