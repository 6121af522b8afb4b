"""A4 documents as vector PDF with an embedded CJK TrueType font (fpdf2), for the CUPS queue.

Text stays text (selectable, sharp at any printer resolution, a few tens of kB instead of a
200-dpi page picture); QR codes are drawn as vector squares with the 4-module quiet zone, so the
printer's own resolution decides the edges. The layout mirrors :func:`kiosk.documents.render.a4_png`
(20 mm margins, 10.8 pt per size step, 1.5 line spacing) so the PNG preview shows the same page.

fpdf2 embeds TrueType (glyf) outlines; Noto CJK is CFF inside a collection, so WenQuanYi Zen Hei
(``fonts-wqy-zenhei``, TrueType) is preferred. Loading that 17 MB collection costs ~0.3 s per
document (fontTools parses glyf): fine on the print worker thread, never on the UI thread.
Bold is drawn as fill + thin stroke because the CJK families installed have no bold TrueType face.
"""

from __future__ import annotations

import functools
import logging
import shutil
import subprocess
from typing import TYPE_CHECKING

from kiosk.documents.model import Document, Image, QrCode, Rule, Space, Text
from kiosk.errors import KioskError

if TYPE_CHECKING:
    from fpdf import FPDF

MARGIN_MM = 20.0
PT_PER_SIZE = 10.8  # 30 px at 200 dpi, as in the PNG preview
LINE = 1.5
MODULE_MM = 25.4 / 200  # one preview pixel; QrCode.module pixels per module
_FONT = "cjk"


@functools.cache
def truetype_cjk_font() -> tuple[str, int]:
    """(file, index in a collection) of a TrueType-outline font with Chinese glyphs."""
    if shutil.which("fc-match"):
        for pattern in ("WenQuanYi Zen Hei:fontformat=TrueType", ":lang=zh-cn:fontformat=TrueType"):
            out = subprocess.run(
                ["fc-match", "-f", "%{file}\t%{index}\t%{lang}\t%{fontformat}", pattern],
                capture_output=True,
                text=True,
                check=False,
            ).stdout
            path, index, langs, fmt = [*out.split("\t"), "", "", "", ""][:4]
            if path and fmt == "TrueType" and "zh-cn" in langs.split("|"):
                return path, int(index or 0)
    raise KioskError("no TrueType CJK font for PDF: apt-get install fonts-wqy-zenhei")


def to_vector_pdf(document: Document) -> bytes:
    """The document on A4 as PDF bytes (pages are added when the content runs past the bottom)."""
    try:
        from fpdf import FPDF
    except ImportError as exc:
        raise KioskError("A4 PDF needs the fpdf2 package (pip install fpdf2)") from exc

    font_path, index = truetype_cjk_font()
    # wqy-zenhei carries embedded bitmap strikes the subsetter drops with a warning per document;
    # the outlines are what we embed, so that warning is noise in the kiosk's log.
    logging.getLogger("fontTools.subset").setLevel(logging.ERROR)
    pdf = FPDF(orientation="P", unit="mm", format="A4")
    pdf.set_title(document.title)
    pdf.set_creator("police-kiosk")
    pdf.set_margins(MARGIN_MM, MARGIN_MM, MARGIN_MM)
    pdf.c_margin = 0  # text starts at the margin, as in the preview
    pdf.set_auto_page_break(True, MARGIN_MM)
    pdf.add_font(_FONT, "", font_path, collection_font_number=index)
    pdf.add_page()
    width = pdf.epw
    for block in document.blocks:
        if isinstance(block, Text):
            _text(pdf, block)
        elif isinstance(block, Rule):
            y = pdf.get_y() + 1.3
            with pdf.local_context(line_width=0.4):
                pdf.line(MARGIN_MM, y, MARGIN_MM + width, y)
            pdf.set_y(y + 1.8)
        elif isinstance(block, QrCode):
            _qr(pdf, block)
        elif isinstance(block, Image):
            img = block.image.convert("RGB")
            w = block.width_mm or img.width * MODULE_MM
            h = w * img.height / img.width
            if pdf.will_page_break(h):
                pdf.add_page()
            pdf.image(img, x=MARGIN_MM, y=pdf.get_y(), w=w, h=h)
            pdf.set_y(pdf.get_y() + h + 1.3)
        elif isinstance(block, Space):
            pdf.set_y(pdf.get_y() + 5.1 * block.lines)
    return bytes(pdf.output())


def _text(pdf: FPDF, block: Text) -> None:
    from fpdf.enums import Align, TextMode

    size = PT_PER_SIZE * block.size
    pdf.set_font(_FONT, "", size)
    align = {"left": Align.L, "center": Align.C, "right": Align.R}[block.align]
    mode, stroke = (TextMode.FILL_STROKE, size * 0.01) if block.bold else (TextMode.FILL, 0.2)
    with pdf.local_context(text_mode=mode, line_width=stroke):  # q/Q: nothing leaks to the next block
        pdf.multi_cell(0, size * LINE * 25.4 / 72, block.text, align=align, new_x="LMARGIN", new_y="NEXT")


def _qr(pdf: FPDF, block: QrCode) -> None:
    """Vector QR at the right margin: one filled square per dark module (runs merged per row)."""
    import qrcode
    import qrcode.constants

    level = getattr(qrcode.constants, f"ERROR_CORRECT_{block.ec}")
    code = qrcode.QRCode(error_correction=level, border=4)
    code.add_data(block.data.encode("utf-8"))
    code.make(fit=True)
    matrix = code.get_matrix()  # includes the quiet zone
    cell = block.module * MODULE_MM
    side = len(matrix) * cell
    if pdf.will_page_break(side):
        pdf.add_page()
    x0, y0 = MARGIN_MM + pdf.epw - side, pdf.get_y()
    pdf.set_fill_color(0, 0, 0)
    for r, row in enumerate(matrix):
        c = 0
        while c < len(row):
            if not row[c]:
                c += 1
                continue
            start = c
            while c < len(row) and row[c]:
                c += 1
            pdf.rect(x0 + start * cell, y0 + r * cell, (c - start) * cell, cell, style="F")
    pdf.set_y(y0 + side + 1.3)
    if block.caption:
        _text(pdf, Text(block.caption, align="right"))
