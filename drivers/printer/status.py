"""Real-time printer status from ``DLE EOT n`` (10 04 n), decoded into a tagged value.

Each query answers one byte. Bit meanings (see DEVICE-FACTS.md): n=1 bit 3 offline; n=2 bit 2
cover open, bit 5 paper end stop, bit 6 error; n=3 bit 3 cutter error, bit 5 unrecoverable;
n=4 bits 2-3 paper near end, bits 5-6 paper out. No answer is ``unknown``, never ``ready``.
"""

from __future__ import annotations

from dataclasses import dataclass

QUERIES: tuple[int, ...] = (1, 2, 3, 4)

# Codes in order of precedence: the first that applies is the status's ``code``.
# Printers also set the offline bit when the cover is open or paper ran out, so the specific
# causes come before ``offline``.
BLOCKING_CODES = ("disconnected", "cover_open", "paper_out", "cutter_error", "offline", "error")


def status_query(n: int) -> bytes:
    """The ``DLE EOT n`` request bytes."""
    if n not in QUERIES:
        raise ValueError(f"DLE EOT n must be 1..4, not {n}")
    return bytes((0x10, 0x04, n))


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself. ``code`` is the stable tag screens and logs use:
    ``ready``, ``paper_near_end`` (prints, with a warning), ``paper_out``, ``cover_open``,
    ``offline``, ``cutter_error``, ``error``, ``disconnected`` or ``unknown`` (no answer)."""

    code: str
    offline: bool = False
    cover_open: bool = False
    paper_out: bool = False
    paper_near_end: bool = False
    cutter_error: bool = False
    error: bool = False
    answered: bool = True
    raw: tuple[int | None, ...] = ()

    @property
    def can_print(self) -> bool:
        return self.code in ("ready", "paper_near_end")

    @property
    def blocking(self) -> bool:
        """True when the printer said it cannot print (as opposed to not saying anything)."""
        return self.code in BLOCKING_CODES

    @classmethod
    def unknown(cls) -> PrinterStatus:
        return cls(code="unknown", answered=False, raw=(None, None, None, None))

    @classmethod
    def disconnected(cls) -> PrinterStatus:
        return cls(code="disconnected", answered=False)


def decode_status(answers: dict[int, int | None]) -> PrinterStatus:
    """Combine the one-byte answers to DLE EOT 1..4 (``None`` = no answer) into a status.

    If no query was answered the status is ``unknown``; bits of unanswered queries count as clear.
    """
    raw = tuple(answers.get(n) for n in QUERIES)
    if all(value is None for value in raw):
        return PrinterStatus.unknown()
    b1, b2, b3, b4 = (value or 0 for value in raw)
    offline = bool(b1 & 0x08)
    cover_open = bool(b2 & 0x04)
    paper_out = bool(b2 & 0x20) or bool(b4 & 0x60)
    near_end = bool(b4 & 0x0C)
    cutter = bool(b3 & 0x08)
    error = bool(b2 & 0x40) or bool(b3 & 0x20)
    flags = {
        "offline": offline,
        "cover_open": cover_open,
        "paper_out": paper_out,
        "cutter_error": cutter,
        "error": error,
    }
    code = next((name for name in BLOCKING_CODES if flags.get(name)), None)
    if code is None:
        code = "paper_near_end" if near_end else "ready"
    return PrinterStatus(
        code=code,
        offline=offline,
        cover_open=cover_open,
        paper_out=paper_out,
        paper_near_end=near_end,
        cutter_error=cutter,
        error=error,
        answered=True,
        raw=raw,
    )
