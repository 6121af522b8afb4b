"""Masking of personal data, for screens, receipts and every log line.

Residents see as little as each step needs (``王*``, ``4114**********0315``); logs never hold a
full ID number or name. Every log handler formats through :class:`MaskingFormatter`, which masks
the final line (message, traceback, stack) for ID numbers in any spelling
(:func:`contract.masking.mask_id_numbers`: glued to letters, grouped by spaces, hyphens or dots,
full-width) and for the names registered with :data:`MASKING_FILTER`, the current resident's, set
when a card is read and forgotten at session wipe. The filter itself masks each record too, so a
handler someone adds without the formatter (a test's capture) still gets masked messages.
"""

from __future__ import annotations

import logging
import re
import threading

from contract.masking import IdMaskingFormatter, mask_id_numbers

_PLAIN = logging.Formatter()  # only for the traceback text the filter fills in


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
    """Mask every ID number in ``text`` and each of ``names`` (a Latin-letter name in any case and
    with any spacing between its parts: ``ZHANG  SANFENG`` is the card's ``Zhang Sanfeng``)."""
    text = mask_id_numbers(text)
    for name in names:
        if not name:
            continue
        if name.isascii() and name.strip():
            parts = [re.escape(part) for part in name.split()]
            pattern = re.compile(r"[\s,]+".join(parts), re.IGNORECASE)
            text = pattern.sub(lambda m: mask_name(m.group(0)), text)
        elif name in text:
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

    @property
    def names(self) -> frozenset[str]:
        """The names masked now."""
        return self._names

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        masked = mask_text(message, self._names)
        if masked != message:
            record.msg, record.args = masked, None
        if record.exc_info and not record.exc_text:
            # a formatter fills this in only after the filters ran: fill it in now, masked
            record.exc_text = _PLAIN.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = mask_text(record.exc_text, self._names)
        if record.stack_info:
            record.stack_info = mask_text(record.stack_info, self._names)
        return True


MASKING_FILTER = MaskingFilter()


class MaskingFormatter(IdMaskingFormatter):
    """The kiosk's log formatter: every formatted line with its ID numbers and the names registered
    with ``names`` (default :data:`MASKING_FILTER`) masked."""

    def __init__(
        self,
        fmt: str | None = None,
        datefmt: str | None = None,
        *,
        names: MaskingFilter = MASKING_FILTER,
    ) -> None:
        super().__init__(fmt, datefmt)
        self._registry = names

    def mask(self, text: str) -> str:
        return mask_text(text, self._registry.names)
