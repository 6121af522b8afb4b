"""Resident ID-number rules (GB 11643-1999) and the checks a card must pass before a service uses it.

An ID number is 18 characters: a 6-digit region, the 8-digit birth date, a 3-digit sequence (odd
for men) and a check character computed from the first 17 digits. The 2023 foreign permanent
resident card number has the same structure (starting with 9); the 2017 card's number is a
different scheme and is only checked for presence. :func:`check_card` returns the reasons a card
is refused (each with a resident-facing message key in ``config/messages/idcard.toml``), so a
screen can say exactly why and what to do.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK_CHARS = "10X98765432"  # index: weighted sum mod 11
_SHAPE = re.compile(r"^\d{17}[\dX]$")

# message keys (config/messages/idcard.toml)
KEY_FORMAT = "idcard.number.format"
KEY_CHECK = "idcard.number.check"
KEY_BIRTH = "idcard.number.birth_date"
KEY_CARD_NUMBER = "idcard.refusal.invalid_number"  # a card's number fails: use another card
KEY_EXPIRED = "idcard.refusal.expired"
KEY_NOT_YET_VALID = "idcard.refusal.not_yet_valid"


def check_character(first17: str) -> str:
    """The check character for the first 17 digits (``"X"`` stands for 10)."""
    if len(first17) != 17 or not first17.isdigit():
        raise ValueError("need exactly 17 digits")
    return CHECK_CHARS[sum(int(d) * w for d, w in zip(first17, WEIGHTS, strict=True)) % 11]


def birth_date(number: str) -> dt.date:
    """The birth date encoded in an 18-character number; ValueError if it is not a real date."""
    text = number[6:14]
    if not text.isdigit():
        raise ValueError("birth date is not digits")
    return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))


def sex(number: str) -> str:
    """男 for an odd sequence number, 女 for an even one."""
    return "男" if int(number[16]) % 2 else "女"


def age(born: dt.date, today: dt.date) -> int:
    """Full years completed on ``today`` (someone born on 29 February ages on 1 March)."""
    return today.year - born.year - ((today.month, today.day) < (born.month, born.day))


def id_number_problem(number: str, today: dt.date | None = None) -> str | None:
    """None if ``number`` is a plausible GB 11643 number, else the message key of what is wrong.

    Checked: shape (17 digits and a digit or X; lower-case x accepted), a real birth date not
    after ``today`` nor before 1900, and the check character.
    """
    number = number.strip().upper()
    if not _SHAPE.match(number):
        return KEY_FORMAT
    try:
        born = birth_date(number)
    except ValueError:
        return KEY_BIRTH
    today = today or dt.date.today()
    if born > today or born.year < 1900:
        return KEY_BIRTH
    if check_character(number[:17]) != number[17]:
        return KEY_CHECK
    return None


@dataclass(frozen=True)
class Refusal:
    """Why a card cannot be used: a stable ``code`` and the resident's ``message_key``."""

    code: str  # invalid_number | expired | not_yet_valid
    message_key: str


def check_card(card: Any, today: dt.date) -> list[Refusal]:
    """Every reason ``card`` (a :class:`drivers.idcard.base.IdCard`) must be refused today; [] if fine.

    A card is valid through its ``valid_to`` day; ``valid_to=None`` is long-term (长期).
    """
    refusals: list[Refusal] = []
    card_type = getattr(card.card_type, "value", card.card_type)
    if card_type == "foreign_permanent":
        bad_number = not card.id_number.strip()
    else:
        bad_number = id_number_problem(card.id_number, today=today) is not None
    if bad_number:
        refusals.append(Refusal("invalid_number", KEY_CARD_NUMBER))
    if card.valid_to is not None and card.valid_to < today:
        refusals.append(Refusal("expired", KEY_EXPIRED))
    if card.valid_from > today:
        refusals.append(Refusal("not_yet_valid", KEY_NOT_YET_VALID))
    return refusals
