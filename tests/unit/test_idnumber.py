"""GB 11643 rules and the card refusals."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given
from hypothesis import strategies as st

from drivers.idcard.base import CardType, IdCard
from kiosk.services import idnumber
from kiosk.services.idnumber import check_card, check_character, id_number_problem

TODAY = dt.date(2026, 11, 28)


def test_check_character_of_known_synthetic_numbers() -> None:
    assert check_character("99010119800315031") == "X"
    assert check_character("99330019650201005") == "3"
    assert check_character("11010519491231002") == "X"  # the standard's worked example


@given(st.text(alphabet="0123456789", min_size=17, max_size=17))
def test_every_single_digit_change_is_caught(first17: str) -> None:
    number = first17 + check_character(first17)
    for i in range(17):
        changed = first17[:i] + str((int(first17[i]) + 1) % 10) + first17[i + 1 :]
        assert check_character(changed) != number[17]


def test_valid_number_has_no_problem_and_lower_case_x_is_accepted() -> None:
    assert id_number_problem("99010119800315031X", today=TODAY) is None
    assert id_number_problem("99010119800315031x", today=TODAY) is None


@pytest.mark.parametrize(
    ("number", "key"),
    [
        ("", idnumber.KEY_FORMAT),
        ("9901011980031503", idnumber.KEY_FORMAT),
        ("99010119800315031Y", idnumber.KEY_FORMAT),
        ("990101198003150319", idnumber.KEY_CHECK),
        ("990101198002300310", idnumber.KEY_BIRTH),  # 30 February
        ("990101203001010310", idnumber.KEY_BIRTH),  # born in the future
        ("990101189912310310", idnumber.KEY_BIRTH),
    ],
)
def test_problems_name_the_reason(number: str, key: str) -> None:
    assert id_number_problem(number, today=TODAY) == key


def test_birth_date_sex_and_age() -> None:
    assert idnumber.birth_date("99010119800315031X") == dt.date(1980, 3, 15)
    assert idnumber.sex("99010119800315031X") == "男"
    assert idnumber.sex("993300196502010045") == "女"
    assert idnumber.age(dt.date(1980, 3, 15), dt.date(2026, 3, 14)) == 45
    assert idnumber.age(dt.date(1980, 3, 15), dt.date(2026, 3, 15)) == 46
    assert idnumber.age(dt.date(2004, 2, 29), dt.date(2022, 2, 28)) == 17
    assert idnumber.age(dt.date(2004, 2, 29), dt.date(2022, 3, 1)) == 18


def _card(**kw: object) -> IdCard:
    base: dict[str, object] = {
        "card_type": CardType.RESIDENT,
        "name": "张三丰",
        "id_number": "99010119800315031X",
        "birth_date": dt.date(1980, 3, 15),
        "valid_from": dt.date(2016, 5, 1),
        "valid_to": dt.date(2036, 5, 1),
    }
    base.update(kw)
    return IdCard(**base)  # type: ignore[arg-type]


def test_a_good_card_passes_and_long_term_never_expires() -> None:
    assert check_card(_card(), TODAY) == []
    assert check_card(_card(valid_to=None), dt.date(2099, 1, 1)) == []


def test_valid_through_its_last_day() -> None:
    assert check_card(_card(valid_to=TODAY), TODAY) == []
    assert [r.code for r in check_card(_card(valid_to=TODAY - dt.timedelta(days=1)), TODAY)] == ["expired"]


def test_not_yet_valid_and_invalid_number_are_both_reported() -> None:
    refusals = check_card(
        _card(valid_from=TODAY + dt.timedelta(days=1), id_number="990101198003150319"), TODAY
    )
    assert [(r.code, r.message_key) for r in refusals] == [
        ("invalid_number", idnumber.KEY_CARD_NUMBER),
        ("not_yet_valid", idnumber.KEY_NOT_YET_VALID),
    ]


def test_2017_foreign_card_number_is_not_a_gb11643_number() -> None:
    card = _card(card_type=CardType.FOREIGN_PERMANENT, id_number="USA990190031501")
    assert check_card(card, TODAY) == []
    assert [r.code for r in check_card(_card(card_type=CardType.FOREIGN_PERMANENT, id_number=""), TODAY)] == [
        "invalid_number"
    ]


def test_every_message_key_exists_in_both_languages() -> None:
    from kiosk.config.messages import Messages
    from kiosk.steps.card_worker import failure_of

    messages = Messages.load()
    keys = [getattr(idnumber, name) for name in dir(idnumber) if name.startswith("KEY_")]
    keys += [f"idcard.error.{r}" for r in ("card_removed", "read_failed", "unknown_card", "communication")]
    keys += [f"idcard.error.{r}" for r in ("reader_fault", "disconnected")]
    from drivers.errors import DeviceDisconnected

    keys.append(failure_of(DeviceDisconnected("x")).message_key)
    for key in keys:
        assert key in messages, key
        assert messages.get(key, "zh") != messages.get(key, "en")
