"""Masking of resident ID numbers in free text, for every log line the kiosk and the backend write.

Shared here because the backend may import only the contract: both sides log through
:class:`IdMaskingFormatter`, which masks the *final* formatted line (message, exception text and
stack), so nothing added after a filter ran (``exc_text`` is filled in by the formatter) escapes.

What counts as an ID number (GB 11643: 6-digit region, 8-digit birth date, 3-digit sequence, check
digit or X), in half- or full-width digits:

- 17 digits and a digit or X in one run, not inside a longer digit run. Letters around it do not
  matter (``ID11010519491231002X`` is masked); a 20-digit order number is not an ID number.
- the same 18 characters split into groups of any size by spaces, hyphens, dots, commas
  or underscores (up to eight between two groups: ``110105 19491231 002X``,
  ``1101-0519-4912-3100-2X``, ``110105,  19491231, 002X``), when the
  birth-date digits look like a date (year 1xxx/2xxx, month 0x/1x, day 0x-3x): that keeps runs of
  ordinary numbers that happen to sit next to each other (``00 00 00 ...`` hex, counters) readable.
- a 15-digit legacy number (6-digit region, YYMMDD, 3-digit sequence) in one run, or in those
  three groups (``110105 491231 002``) when its month and day digits look like a date; other cuts
  of 15 digits are left alone, since runs of short counters (``6 7 8 9 10 11 ...``) fit them.

Masked, the first four and last four digits stay and every digit between becomes ``*``; separators
stay where they were (``1101** ******** 002X``).
"""

from __future__ import annotations

import logging
import re

_DIGIT = "0-9\uff10-\uff19"  # ASCII and full-width digits
_D = f"[{_DIGIT}]"
_X = "Xx\uff38\uff58"  # the check character 10, also full-width
# between two groups: spaces (also no-break, thin and ideographic), hyphens and dashes, dots,
# commas and underscores (half- and full-width), up to eight of them
_SEP = (
    "[ \t\u00a0\u2000-\u200a\u202f\u3000\\-\u2010-\u2015\u2212\ufe63\uff0d.\u00b7\u2027\uff0e"
    ",\uff0c\u3001_\uff3f]{0,8}"
)


def _narrow(chars: str) -> str:
    """A class of these ASCII digits and their full-width forms."""
    return "[" + "".join(c + chr(ord(c) - ord("0") + 0xFF10) for c in chars) + "]"


# the 18 positions of a grouped number: the birth date's year, month and day tens are narrowed
_GROUPED_POSITIONS = [_D] * 17 + [f"[{_DIGIT}{_X}]"]
_GROUPED_POSITIONS[6] = _narrow("12")
_GROUPED_POSITIONS[10] = _narrow("01")
_GROUPED_POSITIONS[12] = _narrow("0123")
# a legacy number as region, YYMMDD and sequence groups: month and day tens are narrowed
_LEGACY_GROUPED = f"{_D}{{6}}{_SEP}{_D}{{2}}{_narrow('01')}{_D}{_narrow('0123')}{_D}{_SEP}{_D}{{3}}"

_CANDIDATE = re.compile(
    "(?=("
    f"(?<!{_D}){_D}{{17}}(?:{_D}(?!{_D})|[{_X}])"  # 18 in one run
    f"|(?<!{_D}){_SEP.join(_GROUPED_POSITIONS)}(?!{_D})"  # 18 in groups
    f"|(?<!{_D}){_D}{{15}}(?!{_D})"  # legacy 15 in one run
    f"|(?<!{_D}){_LEGACY_GROUPED}(?!{_D})"  # legacy 15 in its three groups
    "))"
)
_ID_CHAR = re.compile(f"[{_DIGIT}{_X}]")
_KEEP = 4  # digits kept visible at each end


def mask_id_numbers(text: str) -> str:
    """``text`` with every ID number in it masked (see the module docstring for what counts)."""
    starred: set[int] = set()
    for match in _CANDIDATE.finditer(text):
        start, end = match.span(1)
        positions = [m.start() for m in _ID_CHAR.finditer(text, start, end)]
        starred.update(positions[_KEEP:-_KEEP])
    if not starred:
        return text
    return "".join("*" if i in starred else c for i, c in enumerate(text))


class IdMaskingFormatter(logging.Formatter):
    """A formatter whose every output line has its ID numbers masked.

    Masking the formatted line (not the record, as a filter does) covers what the formatter adds
    itself: the traceback of ``log.exception`` and ``stack_info``. Subclasses widen :meth:`mask`.
    """

    def mask(self, text: str) -> str:
        """What to hide in a formatted line: ID numbers here."""
        return mask_id_numbers(text)

    def format(self, record: logging.LogRecord) -> str:
        line = self.mask(super().format(record))
        if record.exc_text:
            # the traceback text is cached on the record: a later handler must get it masked too
            record.exc_text = self.mask(record.exc_text)
        return line
