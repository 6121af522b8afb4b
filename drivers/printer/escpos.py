"""Our ESC/POS encoder: a byte builder with the few commands the kiosk's documents use.

Chinese text goes out in Chinese mode (``FS &``) as GB18030, or GBK for older printers (per
:class:`PrinterProfile`). QR codes use the printer's native ``GS ( k`` or, per profile, a raster
image (``GS v 0``) built with the ``qrcode`` package. Jobs end with a partial cut (``GS V 1``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from PIL import Image

ESC = 0x1B
GS = 0x1D
FS = 0x1C

INIT = b"\x1b\x40"
CHINESE_ON = b"\x1c\x26"
CHINESE_OFF = b"\x1c\x2e"
PARTIAL_CUT = b"\x1d\x56\x01"
FEED_BEFORE_CUT = b"\x1b\x64\x04"  # ESC d 4: move the last line past the cutter

Align = Literal["left", "center", "right"]
_ALIGN = {"left": 0, "center": 1, "right": 2}
_EC_LEVEL = {"L": 48, "M": 49, "Q": 50, "H": 51}


@dataclass(frozen=True)
class PrinterProfile:
    """What a printer model understands. ``width_dots``: 384 for 58 mm paper, 576 for 80 mm."""

    name: str = "default"
    encoding: Literal["gb18030", "gbk"] = "gb18030"
    native_qr: bool = True
    width_dots: int = 576
    columns: int = 48  # 12x24 font characters per line at normal size


PROFILES: dict[str, PrinterProfile] = {
    "default": PrinterProfile(),
    "58mm": PrinterProfile(name="58mm", width_dots=384, columns=32),
    "gbk": PrinterProfile(name="gbk", encoding="gbk"),
    "raster-qr": PrinterProfile(name="raster-qr", native_qr=False),
}


def gs_k(fn: int, payload: bytes) -> bytes:
    """``GS ( k pL pH cn fn payload`` with cn = 49 (QR code)."""
    length = len(payload) + 2
    return bytes((GS, 0x28, 0x6B, length & 0xFF, length >> 8, 49, fn)) + payload


def native_qr(data: str, *, module: int = 6, ec: str = "M") -> bytes:
    """The five ``GS ( k`` functions: model 2, module size, error correction, store, print."""
    raw = data.encode("utf-8")
    if not 1 <= module <= 16:
        raise ValueError("QR module size must be 1..16")
    if len(raw) > 7089:
        raise ValueError("QR data too long")
    return (
        gs_k(65, b"\x32\x00")  # fn 165: model 2
        + gs_k(67, bytes((module,)))  # fn 167: module size
        + gs_k(69, bytes((_EC_LEVEL[ec],)))  # fn 169: error correction
        + gs_k(80, b"\x30" + raw)  # fn 180: store data (pL pH count data + 3)
        + gs_k(81, b"\x30")  # fn 181: print
    )


def raster_image(image: Image.Image) -> bytes:
    """``GS v 0`` raster bit image: 1 bit per dot, MSB first, rows padded to whole bytes."""
    mono = image.convert("L").point(lambda v: 0 if v < 128 else 255, mode="1")
    width, height = mono.size
    width_bytes = (width + 7) // 8
    padded = Image.new("1", (width_bytes * 8, height), 1)
    padded.paste(mono, (0, 0))
    # PIL "1" mode packs white as 1; ESC/POS wants black dots as 1, so invert the bytes.
    data = bytes(b ^ 0xFF for b in padded.tobytes())
    header = bytes((GS, 0x76, 0x30, 0, width_bytes & 0xFF, width_bytes >> 8, height & 0xFF, height >> 8))
    return header + data


def qr_image(data: str, *, module: int = 6, ec: str = "M") -> Image.Image:
    import qrcode
    import qrcode.constants

    levels = {
        "L": qrcode.constants.ERROR_CORRECT_L,
        "M": qrcode.constants.ERROR_CORRECT_M,
        "Q": qrcode.constants.ERROR_CORRECT_Q,
        "H": qrcode.constants.ERROR_CORRECT_H,
    }
    code = qrcode.QRCode(
        error_correction=levels[ec], box_size=module, border=4
    )  # the standard 4-module quiet zone
    code.add_data(data.encode("utf-8"))
    code.make(fit=True)
    image: Image.Image = code.make_image(fill_color="black", back_color="white").get_image().convert("L")
    return image


class EscPosEncoder:
    """Builds one job's bytes. Methods append and return ``self`` for chaining; :meth:`build`
    gives the job. Starts with ``ESC @`` and Chinese mode on."""

    def __init__(self, profile: PrinterProfile | None = None) -> None:
        self.profile = profile or PrinterProfile()
        self._out = bytearray(INIT + CHINESE_ON)

    def align(self, how: Align) -> EscPosEncoder:
        self._out += bytes((ESC, 0x61, _ALIGN[how]))
        return self

    def style(self, *, bold: bool = False, size: int = 1) -> EscPosEncoder:
        """Bold (``ESC E``) and character size (``GS !``) 1..8 times in both directions; Chinese
        characters follow ``GS !`` in FS & mode on the printers we know, and ``FS !`` sets their
        double-width/height bits for older firmware."""
        if not 1 <= size <= 8:
            raise ValueError("size must be 1..8")
        n = (size - 1) * 0x11
        self._out += bytes((ESC, 0x45, 1 if bold else 0, GS, 0x21, n))
        self._out += bytes((FS, 0x21, 0x0C if size >= 2 else 0x00))
        return self

    def text(self, text: str) -> EscPosEncoder:
        """Text in the profile's encoding; ``\\n`` prints the line. Characters the encoding lacks
        become ``?`` (never an exception in the middle of a job)."""
        self._out += text.encode(self.profile.encoding, errors="replace")
        return self

    def line(self, text: str = "") -> EscPosEncoder:
        return self.text(text + "\n")

    def rule(self, char: str = "-") -> EscPosEncoder:
        return self.line(char * self.profile.columns)

    def feed(self, lines: int = 1) -> EscPosEncoder:
        self._out += bytes((ESC, 0x64, max(0, min(lines, 255))))
        return self

    def qr(self, data: str, *, module: int = 6, ec: str = "M") -> EscPosEncoder:
        if self.profile.native_qr:
            self._out += native_qr(data, module=module, ec=ec)
        else:
            self._out += raster_image(qr_image(data, module=module, ec=ec))
        self._out += b"\n"
        return self

    def image(self, image: Image.Image) -> EscPosEncoder:
        if image.width > self.profile.width_dots:
            height = max(1, image.height * self.profile.width_dots // image.width)
            image = image.resize((self.profile.width_dots, height))
        self._out += raster_image(image)
        return self

    def cut(self) -> EscPosEncoder:
        self._out += FEED_BEFORE_CUT + PARTIAL_CUT
        return self

    def build(self) -> bytes:
        return bytes(self._out)
