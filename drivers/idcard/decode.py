"""The four text-block layouts (256 bytes of UTF-16LE, space padded) in both directions.

Layouts are data: ``(field, byte offset, byte size)`` per card type, from DEVICE-FACTS.md. The card
type is the UTF-16 character at byte 248 (space or NUL: resident card; 'J', 'I', 'Y'). Decoding
is strict about what a kiosk relies on (dates, sex code) and raises :class:`CardDataError`;
:func:`encode_text` is the inverse, used by the simulator and the tests.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

from drivers.idcard.base import CardDataError, CardType, IdCard
from drivers.idcard.nations import nation_name

TEXT_LEN = 256
TYPE_OFFSET = 248
LONG_TERM = "长期"

SEXES = {"0": "未知", "1": "男", "2": "女", "9": "未说明"}
SEX_CODES = {v: k for k, v in SEXES.items()}

Layout = tuple[tuple[str, int, int], ...]

_COMMON_TAIL: Layout = (
    ("id_number", 122, 36),
    ("issuer", 158, 30),
    ("valid_from", 188, 16),
    ("valid_to", 204, 16),
)
LAYOUTS: dict[CardType, Layout] = {
    CardType.RESIDENT: (
        ("name", 0, 30),
        ("sex", 30, 2),
        ("nation_code", 32, 4),
        ("birth_date", 36, 16),
        ("address", 52, 70),
        *_COMMON_TAIL,
    ),
    CardType.HMT_RESIDENCE: (
        ("name", 0, 30),
        ("sex", 30, 2),
        ("birth_date", 36, 16),
        ("address", 52, 70),
        *_COMMON_TAIL,
        ("pass_number", 220, 18),
        ("issue_count", 238, 4),
    ),
    CardType.FOREIGN_PERMANENT: (
        ("name_en", 0, 120),
        ("sex", 120, 2),
        ("id_number", 122, 30),
        ("nationality", 152, 6),
        ("name", 158, 30),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
        ("birth_date", 220, 16),
        ("card_version", 236, 4),
        ("issuer", 240, 8),
    ),
    CardType.FOREIGN_PERMANENT_2023: (
        ("name", 0, 30),
        ("sex", 30, 2),
        ("renewal_count", 32, 4),
        ("birth_date", 36, 16),
        ("name_en", 52, 70),
        ("id_number", 122, 36),
        ("valid_from", 188, 16),
        ("valid_to", 204, 16),
        ("name_en_2", 220, 22),
        ("nationality", 242, 6),
        ("previous_card", 250, 6),
    ),
}
TYPE_CHARS = {
    CardType.RESIDENT: " ",
    CardType.HMT_RESIDENCE: "J",
    CardType.FOREIGN_PERMANENT: "I",
    CardType.FOREIGN_PERMANENT_2023: "Y",
}
_TYPE_BY_CHAR = {v: k for k, v in TYPE_CHARS.items()} | {"\0": CardType.RESIDENT}


def _text(block: bytes, offset: int, size: int) -> str:
    try:
        return block[offset : offset + size].decode("utf-16-le").rstrip(" \0")
    except UnicodeDecodeError as exc:
        raise CardDataError(f"text at byte {offset} is not UTF-16LE") from exc


def _date(value: str, field: str) -> dt.date:
    try:
        return dt.datetime.strptime(value, "%Y%m%d").date()
    except ValueError as exc:
        raise CardDataError(f"{field} is not a YYYYMMDD date") from exc


def card_type_of(block: bytes) -> CardType:
    """The layout of a text block, from its byte-248 character."""
    char = _text(block, TYPE_OFFSET, 2) or " "
    card_type = _TYPE_BY_CHAR.get(char)
    if card_type is None:
        raise CardDataError(f"unknown card type character {char!r}")
    return card_type


def decode_text(
    block: bytes, photo_wlt: bytes = b"", fingerprint: bytes = b"", extra_address: str = ""
) -> IdCard:
    """An :class:`IdCard` from the 256-byte text block (and the other parts of the read)."""
    if len(block) != TEXT_LEN:
        raise CardDataError(f"text block is {len(block)} bytes, expected {TEXT_LEN}")
    card_type = card_type_of(block)
    raw: dict[str, Any] = {field: _text(block, off, size) for field, off, size in LAYOUTS[card_type]}
    name_en = (raw.pop("name_en", "") + raw.pop("name_en_2", "")).strip()
    sex = SEXES.get(raw.pop("sex"))
    if sex is None:
        raise CardDataError("unknown sex code")
    valid_to_text = raw.pop("valid_to")
    valid_to = None if valid_to_text == LONG_TERM else _date(valid_to_text, "valid_to")
    nation_code = raw.pop("nation_code", "")
    nation = ""
    if nation_code:
        nation = nation_name(nation_code) or ""
        if not nation:
            raise CardDataError("unknown nation code")
    card = IdCard(
        card_type=card_type,
        sex=sex,
        name_en=name_en,
        birth_date=_date(raw.pop("birth_date"), "birth_date"),
        valid_from=_date(raw.pop("valid_from"), "valid_from"),
        valid_to=valid_to,
        nation_code=nation_code,
        nation=nation,
        photo_wlt=photo_wlt,
        fingerprint=fingerprint,
        extra_address=extra_address,
    )
    return dataclasses.replace(card, **raw)  # the plain text fields of this layout


def _put(block: bytearray, offset: int, size: int, value: str) -> None:
    data = value.encode("utf-16-le")
    if len(data) > size:
        raise ValueError(f"{value!r} does not fit in {size} bytes")
    block[offset : offset + size] = data + " ".encode("utf-16-le") * ((size - len(data)) // 2)


def encode_text(card: IdCard) -> bytes:
    """The 256-byte text block for ``card`` (the simulator's card chip)."""
    block = bytearray(" ".encode("utf-16-le") * (TEXT_LEN // 2))
    values = {f.name: getattr(card, f.name) for f in dataclasses.fields(card)}
    values["sex"] = SEX_CODES[card.sex]
    values["birth_date"] = card.birth_date.strftime("%Y%m%d")
    values["valid_from"] = card.valid_from.strftime("%Y%m%d")
    values["valid_to"] = LONG_TERM if card.valid_to is None else card.valid_to.strftime("%Y%m%d")
    if card.card_type is CardType.FOREIGN_PERMANENT_2023:
        values["name_en"], values["name_en_2"] = card.name_en[:35], card.name_en[35:]
    for field, off, size in LAYOUTS[card.card_type]:
        _put(block, off, size, str(values[field]))
    if card.card_type is not CardType.RESIDENT:
        _put(block, TYPE_OFFSET, 2, TYPE_CHARS[card.card_type])
    return bytes(block)


def decode_address(data: bytes) -> str:
    """The additional address (``30 03``): 70 bytes of UTF-16LE."""
    return _text(data, 0, len(data) - len(data) % 2)
