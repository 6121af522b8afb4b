"""Masking of personal data, for screens, receipts and every log line.

Residents see as little as each step needs (``王*``, ``4114**********0315``); logs never hold a
full ID number or name: :class:`MaskingFilter` rewrites anything that looks like an 18-character
ID number in every record, and the kiosk registers known names of the current session with it.
"""

from __future__ import annotations

import logging
import re
import threading

# 18-character resident ID number (last may be X) or a 15-digit legacy number; word-bounded.
_ID_RE = re.compile(r"(?<![0-9A-Za-z])(\d{6})(\d{8})(\d{3})([0-9Xx])(?![0-9A-Za-z])|(?<!\d)(\d{15})(?!\d)")


def mask_id_number(number: str) -> str:
    """``411423199001010315`` -> ``4114**********0315``; short input is masked whole."""
    number = number.strip()
    if len(number) <= 8:
        return "*" * len(number)
    return number[:4] + "*" * (len(number) - 8) + number[-4:]


def mask_name(name: str) -> str:
    """``王小明`` -> ``王**``; ``John Smith`` -> ``J*** S****``; one character stays visible."""
    name = name.strip()
    if not name:
        return ""
    if name.isascii():
        return " ".join(part[:1] + "*" * (len(part) - 1) for part in name.split())
    return name[0] + "*" * (len(name) - 1)


def mask_text(text: str, names: frozenset[str] = frozenset()) -> str:
    """Mask every ID number in ``text`` and each of ``names``."""
    text = _ID_RE.sub(lambda m: mask_id_number(m.group(0)), text)
    for name in names:
        if name and name in text:
            text = text.replace(name, mask_name(name))
    return text


class MaskingFilter(logging.Filter):
    """A logging filter that masks ID numbers and registered names in every record.

    Attach it to handlers (not loggers) so records from every library pass through it.
    """

    def __init__(self) -> None:
        super().__init__()
        self._names: frozenset[str] = frozenset()
        self._lock = threading.Lock()

    def remember(self, *names: str) -> None:
        """Mask these names from now on (the current resident's, set when a card is read)."""
        with self._lock:
            self._names = self._names | {n for n in names if n and len(n) > 1}

    def forget(self) -> None:
        """Drop the registered names (at session wipe)."""
        with self._lock:
            self._names = frozenset()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message, self._names)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text, self._names)
        return True


MASKING_FILTER = MaskingFilter()
