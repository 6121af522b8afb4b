"""Request ids: the UUIDv7 (RFC 9562) every request is known by between kiosk and backend, and the
short acceptance number (受理号) a resident is given for it (below).

The UUIDv7 is a tiny implementation rather than a dependency: 48 bits of Unix milliseconds, version 7, then 74
random bits of which the top 12 (``rand_a``) act as a counter within one millisecond so ids made
by one process are strictly increasing even when the clock stands still or steps back.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
import zlib

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7(now_ms: int | None = None) -> uuid.UUID:
    """A new UUIDv7; monotonic within this process."""
    global _last_ms, _counter
    with _lock:
        ms = int(time.time() * 1000) if now_ms is None else now_ms
        if ms <= _last_ms:
            # same millisecond or the clock went back: keep the last time, bump the counter
            ms = _last_ms
            _counter += 1
            if _counter > 0xFFF:  # 4096 ids in one millisecond: borrow the next millisecond
                ms += 1
                _counter = 0
        else:
            _counter = int.from_bytes(os.urandom(2), "big") & 0x3FF  # leave room to count up
        _last_ms = ms
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (ms & ((1 << 48) - 1)) << 80 | 0x7 << 76 | counter << 64 | 0b10 << 62 | rand_b
    return uuid.UUID(int=value)


def uuid7_time_ms(value: uuid.UUID | str) -> int:
    """The Unix milliseconds a UUIDv7 was made at."""
    u = value if isinstance(value, uuid.UUID) else uuid.UUID(value)
    return u.int >> 80


# -- the acceptance number (受理号) -----------------------------------------------------------------
#
# What a resident sees, hears, types and reads on the receipt: 12 digits, shown in groups of four
# (``6335 0421 0057``). The UUIDv7 stays the request's identity on the wire and in every store; the
# acceptance number is derived, at submit, from what makes a request unique at one backend:
#
#     Y DDD  KKK  SSSS  C
#     │  │    │    │    └ check digit (Damm): catches every single mistyped digit and every swap
#     │  │    │    │      of two neighbouring digits
#     │  │    │    └ the outbox's per-kiosk sequence number modulo 10,000
#     │  │    └ the kiosk number (``kiosk.number``, 0-999), unique among the kiosks of one backend
#     │  └ the day of the year (001-366), kiosk-local date
#     └ the year's last digit
#
# Unique within the supported ranges: up to 1,000 kiosks per backend, up to 10,000 requests per
# kiosk and day (a visit takes minutes: a kiosk files a few hundred a day at most), over ten years
# (the year digit wraps after that; the backend releases a number held by a request years old).
#
# Why Damm: ISO 7064 MOD 11-2 (the ID card's scheme) needs an ``X`` a digit pad cannot type; Luhn
# misses the 09 <-> 90 transposition; Verhoeff and Damm both catch all single-digit errors and all
# adjacent transpositions with digits only, and Damm does it with one 10 x 10 table and no
# position-dependent permutation (a shorter, easier-to-check implementation).

NUMBER_DIGITS = 12
KIOSK_NUMBERS = 1000  # kiosk numbers 0..999
SEQUENCE_MODULUS = 10_000  # requests per kiosk and day before a number could repeat

# the Damm algorithm's totally anti-symmetric quasigroup of order 10 (Damm 2004)
_DAMM = (
    (0, 3, 1, 7, 5, 9, 8, 6, 4, 2),
    (7, 0, 9, 2, 1, 5, 4, 8, 6, 3),
    (4, 2, 0, 6, 8, 7, 1, 3, 5, 9),
    (1, 7, 5, 0, 9, 8, 3, 4, 2, 6),
    (6, 1, 2, 3, 0, 4, 5, 9, 7, 8),
    (3, 6, 7, 4, 2, 0, 9, 5, 8, 1),
    (5, 8, 6, 9, 7, 2, 0, 1, 3, 4),
    (8, 9, 4, 5, 3, 6, 2, 0, 1, 7),
    (9, 4, 3, 8, 6, 1, 7, 2, 0, 5),
    (2, 5, 8, 1, 4, 3, 6, 7, 9, 0),
)


def damm_digit(digits: str) -> str:
    """The Damm check digit of a string of decimal digits."""
    interim = 0
    for char in digits:
        interim = _DAMM[interim][ord(char) - 48]
    return str(interim)


def acceptance_number(kiosk_number: int, day: dt.date, sequence: int) -> str:
    """The 12-digit acceptance number (受理号) of a kiosk's ``sequence``-th request made on ``day``."""
    if not 0 <= kiosk_number < KIOSK_NUMBERS:
        raise ValueError(f"kiosk number {kiosk_number} outside 0..{KIOSK_NUMBERS - 1}")
    if sequence < 1:
        raise ValueError(f"sequence {sequence} must be 1 or more")
    body = f"{day.year % 10}{day.timetuple().tm_yday:03d}{kiosk_number:03d}{sequence % SEQUENCE_MODULUS:04d}"
    return body + damm_digit(body)


def is_acceptance_number(text: str) -> bool:
    """Whether ``text`` is 12 ASCII digits with a valid check digit (no grouping)."""
    return (
        len(text) == NUMBER_DIGITS and text.isascii() and text.isdigit() and damm_digit(text[:-1]) == text[-1]
    )


def parse_acceptance_number(text: str) -> str | None:
    """The 12 digits of an acceptance number typed or read in any grouping (spaces, hyphens), or
    None when it is not one (wrong length, a non-digit, a failed check digit)."""
    digits = "".join(ch for ch in text if ch not in " -\u00a0\u3000")
    return digits if is_acceptance_number(digits) else None


def group_number(digits: str, size: int = 4) -> str:
    """``633504210057`` -> ``6335 0421 0057`` (how screens, receipts and the status page show it)."""
    return " ".join(digits[i : i + size] for i in range(0, len(digits), size))


def default_kiosk_number(kiosk_id: str) -> int:
    """A kiosk number for a terminal without ``kiosk.number`` (demo, simulation): the id's last run
    of digits when it is below 1,000 (``KIOSK-DEV-0001`` -> 1), else a CRC of the id. Two kiosks of
    one backend can collide this way: production configurations set ``kiosk.number``."""
    run = ""
    for char in reversed(kiosk_id):
        if char.isascii() and char.isdigit():
            run = char + run
        elif run:
            break
    if run and int(run) < KIOSK_NUMBERS:
        return int(run)
    return zlib.crc32(kiosk_id.encode("utf-8")) % KIOSK_NUMBERS
