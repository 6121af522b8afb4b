"""The four text-block layouts, against the byte offsets of DEVICE-FACTS.md."""

from __future__ import annotations

import dataclasses
import datetime as dt

import pytest

from drivers.idcard.base import CardDataError, CardType, IdCard
from drivers.idcard.decode import TEXT_LEN, card_type_of, decode_address, decode_text, encode_text
from drivers.idcard.nations import NATIONS, nation_name
from drivers.idcard.simulator import load_cards


@pytest.fixture(scope="module")
def cards() -> dict[str, IdCard]:
    return load_cards()


def field(block: bytes, offset: int, size: int) -> str:
    return block[offset : offset + size].decode("utf-16-le").rstrip(" ")


def test_resident_layout_offsets(cards: dict[str, IdCard]) -> None:
    block = encode_text(cards["resident"])
    assert len(block) == TEXT_LEN
    assert field(block, 0, 30) == "张三丰"
    assert field(block, 30, 2) == "1"
    assert field(block, 32, 4) == "01"
    assert field(block, 36, 16) == "19800315"
    assert field(block, 122, 36) == "99010119800315031X"
    assert field(block, 204, 16) == "20360501"
    assert field(block, 248, 2) == ""  # no type character: resident card


def test_foreign_2017_layout_offsets(cards: dict[str, IdCard]) -> None:
    block = encode_text(cards["foreign_2017"])
    assert field(block, 0, 120) == "SAMPLE, JOHN EXAMPLE"
    assert field(block, 152, 6) == "ZZZ"
    assert field(block, 158, 30) == "约翰"
    assert field(block, 220, 16) == "19700101"
    assert field(block, 248, 2) == "I"


def test_2023_long_english_name_spans_both_fields(cards: dict[str, IdCard]) -> None:
    block = encode_text(cards["foreign_2023"])
    assert field(block, 52, 70) + field(block, 220, 22) == "EXAMPLE, MARY JANE ANNA-LOUISE TESTINGTON"
    assert field(block, 248, 2) == "Y"


@pytest.mark.parametrize("key", ["resident", "resident_long_term", "hmt", "foreign_2017", "foreign_2023"])
def test_every_layout_round_trips(cards: dict[str, IdCard], key: str) -> None:
    card = cards[key]
    decoded = decode_text(encode_text(card), card.photo_wlt, card.fingerprint, card.extra_address)
    assert decoded == card


def test_resident_fields(cards: dict[str, IdCard]) -> None:
    card = decode_text(encode_text(cards["resident"]))
    assert card.card_type is CardType.RESIDENT
    assert (card.name, card.sex, card.nation, card.nation_code) == ("张三丰", "男", "汉", "01")
    assert card.birth_date == dt.date(1980, 3, 15)
    assert card.valid_to == dt.date(2036, 5, 1)


def test_long_term_card(cards: dict[str, IdCard]) -> None:
    block = encode_text(cards["resident_long_term"])
    assert field(block, 204, 16) == "长期"
    card = decode_text(block)
    assert card.valid_to is None and card.long_term


def test_hmt_permit_fields(cards: dict[str, IdCard]) -> None:
    card = decode_text(encode_text(cards["hmt"]))
    assert card.card_type is CardType.HMT_RESIDENCE
    assert (card.pass_number, card.issue_count, card.nation) == ("H00000001", "01", "")


def test_type_characters() -> None:
    blank = bytearray(" ".encode("utf-16-le") * 128)
    for char, card_type in {"J": CardType.HMT_RESIDENCE, "I": CardType.FOREIGN_PERMANENT}.items():
        blank[248:250] = char.encode("utf-16-le")
        assert card_type_of(bytes(blank)) is card_type
    blank[248:250] = b"\0\0"
    assert card_type_of(bytes(blank)) is CardType.RESIDENT
    blank[248:250] = "Q".encode("utf-16-le")
    with pytest.raises(CardDataError, match="card type"):
        card_type_of(bytes(blank))


@pytest.mark.parametrize(
    ("offset", "value", "problem"),
    [(30, "7", "sex"), (36, "19801399", "birth_date"), (32, "77", "nation"), (204, "2036XX01", "valid_to")],
)
def test_bad_fields_are_card_data_errors(
    cards: dict[str, IdCard], offset: int, value: str, problem: str
) -> None:
    block = bytearray(encode_text(cards["resident"]))
    data = value.encode("utf-16-le")
    block[offset : offset + len(data)] = data
    with pytest.raises(CardDataError, match=problem):
        decode_text(bytes(block))


def test_wrong_block_size_and_odd_utf16() -> None:
    with pytest.raises(CardDataError):
        decode_text(bytes(100))
    with pytest.raises(CardDataError):
        decode_text(b"\x00\xd8" * 128)  # unpaired surrogates are not text


def test_additional_address() -> None:
    assert decode_address(("新区样板街8号" + " " * 35)[:35].encode("utf-16-le")) == "新区样板街8号"


def test_nation_table_is_complete() -> None:
    assert len(NATIONS) == 58 and nation_name("56") == "基诺" and nation_name("57") is None


def test_repr_leaks_no_personal_data(cards: dict[str, IdCard]) -> None:
    card = cards["resident"]
    assert card.name not in repr(card) and card.id_number not in repr(card)
    assert dataclasses.replace(card, name="x").name == "x"
