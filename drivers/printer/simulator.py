"""Simulated printers: take the real ESC/POS bytes (or an A4 PDF) and keep them with a PNG preview.

:class:`SimulatedEscPosPrinter` answers ``DLE EOT`` queries from its state, interprets the byte
stream (text in FS & mode as GB18030/GBK, sizes, bold, alignment, ``GS ( k`` QR, ``GS v 0``
raster, cut) into a picture of the paper, and saves ``job-N.bin`` + ``job-N.png`` into a folder.
Faults: ``paper_out``, ``cover_open``, ``offline``, ``disconnect`` (the link drops mid-job).
:func:`serve_tcp` puts it behind a real socket so the TCP transport is tested end to end.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont
from qrcode.exceptions import DataOverflowError

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceDisconnected
from drivers.printer.escpos import PrinterProfile, qr_image
from drivers.printer.status import PrinterStatus, decode_status

FAULTS = ("paper_out", "cover_open", "offline", "disconnect", "silent")


@dataclass
class _Line:
    text: str
    size: int
    bold: bool
    align: int


@dataclass
class Interpretation:
    """What the printer would have put on paper: lines, images (as PIL), and whether it cut."""

    items: list[_Line | Image.Image] = field(default_factory=list)
    cut: bool = False
    unknown_commands: int = 0


def interpret(data: bytes, encoding: str = "gb18030") -> Interpretation:
    """Walk an ESC/POS byte stream the way a printer would (the subset our encoder emits)."""
    out = Interpretation()
    size, bold, align = 1, False, 0
    text = bytearray()
    qr_data = b""
    module = 6

    def flush() -> None:
        out.items.append(_Line(text.decode(encoding, errors="replace"), size, bold, align))
        text.clear()

    end = len(data)
    data = data + bytes(8)  # look-ahead padding: a job cut short mid-command must not crash us
    i = 0
    while i < end:
        b = data[i]
        nxt = data[i + 1]
        if b == 0x0A:
            flush()
            i += 1
        elif b == 0x1B and nxt == 0x40:
            size, bold, align = 1, False, 0
            i += 2
        elif b == 0x1B and nxt == 0x61:
            align = data[i + 2]
            i += 3
        elif b == 0x1B and nxt == 0x45:
            bold = bool(data[i + 2])
            i += 3
        elif b == 0x1B and nxt == 0x64:
            out.items.extend(_Line("", 1, False, 0) for _ in range(min(data[i + 2], 8)))
            i += 3
        elif b == 0x1D and nxt == 0x21:
            size = (data[i + 2] & 0x0F) + 1
            i += 3
        elif b == 0x1C and nxt in (0x26, 0x2E):
            i += 2
        elif b == 0x1C and nxt == 0x21:
            i += 3
        elif b == 0x1D and nxt == 0x56:
            out.cut = True
            i += 3
        elif b == 0x1D and nxt == 0x28 and data[i + 2] == 0x6B:
            length = data[i + 3] | (data[i + 4] << 8)
            fn, payload = data[i + 6], data[i + 7 : min(i + 5 + length, end)]
            if fn == 67 and payload:
                module = min(max(payload[0], 1), 16)
            elif fn == 80:
                qr_data = payload[1:]
            elif fn == 81:
                try:
                    out.items.append(qr_image(qr_data.decode("utf-8", errors="replace"), module=module))
                except (DataOverflowError, ValueError):  # more than a version-40 QR holds: printers skip it
                    out.unknown_commands += 1
            i += 5 + length
        elif b == 0x1D and nxt == 0x76 and data[i + 2] == 0x30:
            width_bytes = data[i + 4] | (data[i + 5] << 8)
            height = data[i + 6] | (data[i + 7] << 8)
            body = bytes(v ^ 0xFF for v in data[i + 8 : min(i + 8 + width_bytes * height, end)])
            if len(body) < width_bytes * height or not body:
                out.unknown_commands += 1  # truncated image: a real printer would wait for more
                break
            out.items.append(Image.frombytes("1", (width_bytes * 8, height), body).convert("L"))
            i += 8 + width_bytes * height
        elif b == 0x10 and nxt == 0x04:
            i += 3
        elif b < 0x20 and b not in (0x0D,):
            out.unknown_commands += 1
            i += 1
        else:
            text.append(b)
            i += 1
    if text:
        flush()
    return out


def render_paper(result: Interpretation, width: int, font_path: str | None) -> Image.Image:
    """Draw the interpreted job on a white strip ``width`` dots wide (12x24 dot base font)."""
    rows: list[Image.Image] = []
    for item in result.items:
        if isinstance(item, Image.Image):
            row = Image.new("L", (width, item.height), 255)
            row.paste(item, ((width - item.width) // 2 if item.width < width else 0, 0))
            rows.append(row)
            continue
        height = 24 * item.size
        row = Image.new("L", (width, height + 6), 255)
        draw = ImageDraw.Draw(row)
        font = ImageFont.truetype(font_path, height) if font_path else ImageFont.load_default()
        text_width = int(draw.textlength(item.text, font=font))
        x = (0, (width - text_width) // 2, width - text_width)[min(item.align, 2)]
        draw.text((max(x, 0), 2), item.text, fill=0, font=font, stroke_width=1 if item.bold else 0)
        rows.append(row)
    total = sum(r.height for r in rows) + (20 if result.cut else 0)
    paper = Image.new("L", (width, max(total, 1)), 255)
    y = 0
    for row in rows:
        paper.paste(row, (0, y))
        y += row.height
    if result.cut:
        ImageDraw.Draw(paper).line([(0, y + 10), (width, y + 10)], fill=128, width=1)
    return paper


KEEP_JOBS = 32
KEEP_RECEIVED_BYTES = 1 << 20


class SimulatedEscPosPrinter:
    """A receipt printer in memory. ``inject``/``clear`` drive faults; jobs land in ``folder``."""

    print_when_status_unknown = False  # set from config: print when status cannot be read
    simulated = True

    def __init__(
        self, folder: Path | None = None, profile: PrinterProfile | None = None, font_path: str | None = None
    ) -> None:
        self.folder = folder
        self.profile = profile or PrinterProfile()
        self.font_path = font_path
        self.faults: set[str] = set()
        # the latest jobs only, and the tail of what arrived (including partial jobs): a demo kiosk
        # prints for days and must not keep every receipt (with its photo) in memory
        self.jobs: list[bytes] = []
        self.printed = 0  # every job ever printed, for the file names
        self.received = bytearray()
        self.link_down = False  # set when the "disconnect" fault dropped a job
        self._lock = threading.Lock()

    def inject(self, fault: str) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        self.faults.add(fault)

    def clear(self, fault: str | None = None) -> None:
        self.link_down = False
        if fault is None:
            self.faults.clear()
        else:
            self.faults.discard(fault)

    def answer(self, n: int) -> int | None:
        """The one byte this printer answers to ``DLE EOT n`` (``None``: stays silent)."""
        if "silent" in self.faults or self.link_down:
            return None
        base = 0x12  # bits 1 and 4 are always set in real answers
        if n == 1:
            return base | (0x08 if "offline" in self.faults or "cover_open" in self.faults else 0)
        if n == 2:
            return (
                base
                | (0x04 if "cover_open" in self.faults else 0)
                | (0x20 if "paper_out" in self.faults else 0)
            )
        if n == 3:
            return base
        if n == 4:
            return base | (0x60 if "paper_out" in self.faults else 0)
        return None

    def status(self) -> PrinterStatus:
        if self.link_down:
            return PrinterStatus.disconnected()
        return decode_status({n: self.answer(n) for n in (1, 2, 3, 4)})

    def send(self, job: bytes) -> None:
        with self._lock:
            if "disconnect" in self.faults:
                self.received += job[: len(job) // 2]
                self.link_down = True
                raise DeviceDisconnected("link dropped mid-job", device="receipt_printer", port="simulated")
            self.received += job
            del self.received[:-KEEP_RECEIVED_BYTES]
            if self.faults & {"paper_out", "cover_open", "offline"}:
                return  # a real printer buffers and prints nothing
            self.jobs.append(job)
            del self.jobs[:-KEEP_JOBS]
            self.printed += 1
            if self.folder is not None:
                self.save(job, self.folder / f"job-{self.printed:04d}")
                _forget_files(self.folder / f"job-{self.printed - KEEP_JOBS:04d}", (".bin", ".png"))

    def preview(self, job: bytes) -> Image.Image:
        return render_paper(interpret(job, self.profile.encoding), self.profile.width_dots, self.font_path)

    def save(self, job: bytes, stem: Path) -> Path:
        stem.parent.mkdir(parents=True, exist_ok=True)
        stem.with_suffix(".bin").write_bytes(job)
        png = stem.with_suffix(".png")
        self.preview(job).save(png)
        return png

    def health(self) -> DeviceHealth:
        status = self.status()
        if status.can_print:
            return DeviceHealth(
                Health.OK if status.code == "ready" else Health.DEGRADED, status.code, "simulated"
            )
        return DeviceHealth(Health.DOWN if status.blocking else Health.UNKNOWN, status.code, "simulated")

    def close(self) -> None:
        return None


def _forget_files(stem: Path, suffixes: tuple[str, ...]) -> None:
    """The simulated "paper" older than the last KEEP_JOBS jobs goes: a demo kiosk prints for months
    and its receipts and certificates carry residents' data."""
    for suffix in suffixes:
        stem.with_suffix(suffix).unlink(missing_ok=True)


def serve_tcp(printer: SimulatedEscPosPrinter, host: str = "127.0.0.1") -> tuple[int, threading.Event]:
    """Serve ``printer`` on a raw TCP port (one client at a time) like a port-9100 printer.

    Returns (port, stop event). A job is everything received until the client closes. With the
    ``disconnect`` fault the connection is closed after the first chunk of a job.
    """
    server = socket.create_server((host, 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def answer_query(conn: socket.socket, n: int) -> None:
        reply = printer.answer(n)
        if reply is not None:
            conn.sendall(bytes((reply,)))

    def handle(conn: socket.socket) -> None:
        job = bytearray()
        conn.settimeout(0.1)
        with conn:
            while not stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    return
                if not chunk:
                    break
                # Answer status queries in-line; everything else is job data. The host waits for
                # each answer, so a query is either alone or right behind the tail of a job.
                while len(chunk) >= 3 and chunk[:2] == b"\x10\x04":
                    answer_query(conn, chunk[2])
                    chunk = chunk[3:]
                trailing = None
                if len(chunk) >= 3 and chunk[-3:-1] == b"\x10\x04" and chunk[-1] in (1, 2, 3, 4):
                    chunk, trailing = chunk[:-3], chunk[-1]
                if chunk and "disconnect" in printer.faults:
                    printer.received += chunk[: len(chunk) // 2]
                    printer.link_down = True
                    return  # closes the socket mid-job
                job += chunk
                if trailing is not None:
                    answer_query(conn, trailing)
        if job:
            with contextlib.suppress(DeviceDisconnected):
                printer.send(bytes(job))

    def loop() -> None:
        with server:
            while not stop.is_set():
                try:
                    conn, _ = server.accept()
                except TimeoutError:
                    continue
                handle(conn)

    threading.Thread(target=loop, name="sim-printer-tcp", daemon=True).start()
    return server.getsockname()[1], stop


class SimulatedA4Printer:
    """Keeps each PDF and a PNG of its first page (the PNG is given by the caller's renderer)."""

    simulated = True

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.faults: set[str] = set()
        self.jobs: list[Path] = []  # the last KEEP_JOBS documents; files of older ones are deleted
        self.printed = 0

    def print_pdf(self, pdf: bytes, preview: Image.Image | None = None) -> None:
        """Keep the job; any injected fault (offline, disconnect, paper_out, cover_open) refuses it."""
        if self.faults:
            fault = sorted(self.faults)[0]
            raise DeviceDisconnected(f"A4 printer {fault}", device="a4_printer", port="simulated")
        self.folder.mkdir(parents=True, exist_ok=True)
        self.printed += 1
        stem = self.folder / f"a4-{self.printed:04d}"
        stem.with_suffix(".pdf").write_bytes(pdf)
        if preview is not None:
            preview.save(stem.with_suffix(".png"))
        self.jobs.append(stem.with_suffix(".pdf"))
        del self.jobs[:-KEEP_JOBS]
        _forget_files(self.folder / f"a4-{self.printed - KEEP_JOBS:04d}", (".pdf", ".png"))

    def health(self) -> DeviceHealth:
        if self.faults:
            return DeviceHealth(Health.DOWN, sorted(self.faults)[0], "simulated")
        return DeviceHealth(Health.OK, "ready", "simulated")

    def close(self) -> None:
        return None
