"""Fuzz of the log masking: generated valid GB 11643 numbers (check character right) in every
spelling (glued to random text, grouped by any cut with spaces, hyphens, dots, commas, underscores
and their full-width forms, full-width or mixed-width digits, lower-case x), in the message or the exception
of a record, formatted by the handlers ``kiosk.main.setup_logging`` makes. No formatted line may
hold the number unmasked in any spelling, and the ordinary numbers beside it (sequence numbers,
ports, timestamps, 12-digit 受理号) must come out as they went in.

``KIOSK_FUZZ_EXAMPLES`` scales the run (default 200), as for the other fuzz tests; the long run:
``KIOSK_FUZZ_EXAMPLES=100000 python -m pytest tests/unit/test_log_masking_fuzz.py --timeout 0``.
Numbers start with 99 (no region has that code), like the suite's other synthetic identities.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import re
import sys
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kiosk.config.model import load_config
from kiosk.main import setup_logging
from kiosk.services.idnumber import check_character, id_number_problem

EXAMPLES = int(os.environ.get("KIOSK_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))

DIGITS = "0123456789"
FULL_WIDTH = {c: chr(ord(c) - ord("0") + 0xFF10) for c in DIGITS} | {"X": "\uff38", "x": "\uff58"}
# what may stand between two groups: spaces, hyphens, dots, commas, underscores (and variants)
SEPARATORS = [
    " ",
    "-",
    ".",
    "  ",
    " - ",
    " . ",
    "\u00a0",
    "\u3000",
    "\t",
    "\u2013",
    "\u2014",
    "\uff0d",
    "\uff0e",
    "\u00b7",
    ", ",
    ",",
    "\uff0c",
    "\u3001",
    "_",
    "    ",
    " ,  ",
]
# the usual ways of writing one: region / birth date / sequence + check, in fours, ...
SHAPES = [
    (6, 8, 4),
    (6, 8, 3, 1),
    (4, 4, 4, 4, 2),
    (6, 4, 4, 4),
    (6, 4, 2, 2, 4),
    (3, 3, 4, 4, 4),
    (2, 4, 8, 4),
]
# stripped before looking for the number in a line: every separator, after NFKC folds the widths
_SEPARATOR_CHARS = re.compile(
    "[\\s\\-.,_\u00b7\u2010-\u2015\u2027\u2212\ufe63\uff0d\uff0e\uff0c\u3001\uff3f]"
)
_DIGIT_OR_X = f"{DIGITS}{''.join(FULL_WIDTH.values())}Xx"
TODAY = dt.date(2026, 12, 1)

log = logging.getLogger("kiosk.test.masking.fuzz")


@st.composite
def id_numbers(draw: st.DrawFn) -> str:
    """A valid 18-character number: 99 + region digits, a real birth date, sequence, check."""
    region = "99" + draw(st.text(DIGITS, min_size=4, max_size=4))
    born = draw(st.dates(dt.date(1900, 1, 1), TODAY))
    first17 = region + born.strftime("%Y%m%d") + draw(st.text(DIGITS, min_size=3, max_size=3))
    number = first17 + check_character(first17)
    assert id_number_problem(number, today=TODAY) is None
    return number


@st.composite
def spellings(draw: st.DrawFn, number: str) -> str:
    """``number`` as someone might write or a system might print it."""
    chars = list(number.lower() if draw(st.booleans()) else number)
    width = draw(st.sampled_from(["half", "full", "mixed"]))
    if width != "half":
        widen = [True] * 18 if width == "full" else draw(st.lists(st.booleans(), min_size=18, max_size=18))
        chars = [FULL_WIDTH[c] if w else c for c, w in zip(chars, widen, strict=True)]
    grouping = draw(st.sampled_from(["none", "shape", "any"]))
    if grouping == "none":
        return "".join(chars)
    if grouping == "shape":
        sizes = draw(st.sampled_from(SHAPES))
        cuts = {sum(sizes[: i + 1]) for i in range(len(sizes) - 1)}
    else:
        cuts = draw(st.sets(st.integers(1, 17), min_size=1))
    out = []
    for i, c in enumerate(chars):
        if i in cuts:
            out.append(draw(st.sampled_from(SEPARATORS)))
        out.append(c)
    return "".join(out)


# random surroundings: anything, but the character touching the number is no digit (a longer
# digit run is another kind of number by definition)
_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=30)
_EDGE = st.characters(codec="utf-8", exclude_categories=("Cs",)).filter(lambda c: c not in _DIGIT_OR_X)


@st.composite
def ordinary_numbers(draw: st.DrawFn) -> str:
    """What a kiosk log is full of and a technician must read unchanged."""
    seq = draw(st.integers(0, 10**9))
    port = draw(st.integers(1, 65535))
    when = draw(st.datetimes(dt.datetime(2000, 1, 1), dt.datetime(2099, 12, 31)))
    epoch = draw(st.sampled_from([10, 13, 16]))  # seconds, milliseconds, microseconds
    stamp = draw(st.integers(10 ** (epoch - 1), 10**epoch - 1))
    receipt = draw(st.text(DIGITS, min_size=12, max_size=12))
    return (
        f"seq={seq} port {port} at {when.isoformat()} / {when:%Y-%m-%d %H:%M:%S} "
        f"epoch {stamp} 受理号 {receipt} request {seq}/{port}"
    )


@dataclass
class Handlers:
    """The kiosk's log handlers (file and console), as setup_logging makes them."""

    handlers: list[logging.Handler]

    def lines(self, record: logging.LogRecord) -> list[str]:
        """What each handler writes for ``record``: its filters, then its formatter, in order."""
        out = []
        for handler in self.handlers:
            assert handler.filter(record)
            out.append(handler.format(record))
        return out


@pytest.fixture
def kiosk_handlers(tmp_path: Path) -> Iterator[Handlers]:
    config = load_config(
        None, environ={"KIOSK__KIOSK__LOG_DIR": str(tmp_path / "logs")}, validate_devices=False
    )
    root = logging.getLogger()
    before, level = list(root.handlers), root.level
    setup_logging(config, console=True)
    added = [h for h in root.handlers if h not in before]
    try:
        yield Handlers(added)
    finally:
        for handler in added:
            root.removeHandler(handler)
            handler.close()
        root.setLevel(level)


def _record(message: str, exception: str | None) -> logging.LogRecord:
    if exception is None:
        return log.makeRecord(log.name, logging.INFO, __file__, 1, "%s", (message,), None)
    try:
        raise ValueError(exception)
    except ValueError:
        exc_info = sys.exc_info()
    return log.makeRecord(log.name, logging.ERROR, __file__, 1, "%s", (message,), exc_info)


def _compact(text: str) -> str:
    """``text`` with widths folded and every separator gone, upper case: a number in any spelling
    shows here as its 18 plain characters."""
    return _SEPARATOR_CHARS.sub("", unicodedata.normalize("NFKC", text)).upper()


@FUZZ
@given(
    data=st.data(),
    number=id_numbers(),
    where=st.sampled_from(["message", "exception", "both"]),
    before=_TEXT,
    after=_TEXT,
    edges=st.tuples(_EDGE, _EDGE),
    ordinary=ordinary_numbers(),
)
def test_no_spelling_of_a_valid_number_survives_formatting(
    kiosk_handlers: Handlers,
    data: st.DataObject,
    number: str,
    where: str,
    before: str,
    after: str,
    edges: tuple[str, str],
    ordinary: str,
) -> None:
    spelled = data.draw(spellings(number), label="spelled")
    text = f"{before}{edges[0]}{spelled}{edges[1]}{after}"
    message = f"{text} | {ordinary}" if where != "exception" else f"look-up failed | {ordinary}"
    exception = text if where != "message" else None
    for line in kiosk_handlers.lines(_record(message, exception)):
        assert spelled not in line
        assert number not in _compact(line)
        assert ordinary in line
