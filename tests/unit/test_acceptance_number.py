"""The acceptance number (受理号, contract/ids.py): derivation, uniqueness, the Damm check digit."""

from __future__ import annotations

import datetime as dt
import itertools

import pytest

from contract.ids import (
    NUMBER_DIGITS,
    acceptance_number,
    damm_digit,
    default_kiosk_number,
    group_number,
    is_acceptance_number,
    parse_acceptance_number,
)

DAY = dt.date(2026, 12, 1)


def test_layout_year_day_kiosk_sequence_check() -> None:
    number = acceptance_number(42, DAY, 57)
    assert number[:4] == "6335"  # 2026 -> 6, 1 December is day 335
    assert number[4:7] == "042"
    assert number[7:11] == "0057"
    assert number[11] == damm_digit(number[:11])
    assert len(number) == NUMBER_DIGITS and is_acceptance_number(number)


def test_known_damm_value() -> None:
    assert damm_digit("572") == "4"  # the worked example of the algorithm's description
    assert is_acceptance_number("12345678901" + damm_digit("12345678901"))


def test_unique_across_kiosks_days_and_sequences() -> None:
    """Every (kiosk, day, sequence) of a sample spanning all kiosk numbers, every day of ten years
    and a full day's worth of sequences gives a different number."""
    seen: set[str] = set()
    days = [dt.date(2026, 1, 1) + dt.timedelta(days=d) for d in range(0, 3653, 7)] + [
        dt.date(2028, 12, 31),  # day 366
        dt.date(2035, 12, 31),
    ]
    kiosks = [0, 1, 7, 500, 998, 999]
    sequences = [1, 2, 9_999, 10_000, 5_000]
    combos = list(itertools.product(kiosks, days, sequences))
    for kiosk, day, seq in combos:
        seen.add(acceptance_number(kiosk, day, seq))
    assert len(seen) == len(combos)


def test_one_kiosk_one_day_ten_thousand_requests_all_differ() -> None:
    start = 123_456  # an outbox far into its life: only consecutive numbers matter
    numbers = {acceptance_number(3, DAY, seq) for seq in range(start, start + 10_000)}
    assert len(numbers) == 10_000


def test_every_kiosk_on_one_day_with_one_sequence_differs() -> None:
    assert len({acceptance_number(k, DAY, 1) for k in range(1000)}) == 1000


@pytest.mark.parametrize("kiosk, seq", [(-1, 1), (1000, 1), (5, 0)])
def test_out_of_range_refused(kiosk: int, seq: int) -> None:
    with pytest.raises(ValueError):
        acceptance_number(kiosk, DAY, seq)


def _sample_numbers() -> list[str]:
    return [
        acceptance_number(k, DAY + dt.timedelta(days=d), s)
        for k in (0, 42, 999)
        for d in (0, 40)
        for s in (1, 57, 9999)
    ]


def test_every_single_digit_error_is_caught() -> None:
    for number in _sample_numbers():
        for pos in range(NUMBER_DIGITS):
            for digit in "0123456789":
                if digit != number[pos]:
                    typo = number[:pos] + digit + number[pos + 1 :]
                    assert not is_acceptance_number(typo), (number, typo)


def test_every_adjacent_transposition_is_caught() -> None:
    for number in _sample_numbers():
        for pos in range(NUMBER_DIGITS - 1):
            a, b = number[pos], number[pos + 1]
            if a != b:
                swapped = number[:pos] + b + a + number[pos + 2 :]
                assert not is_acceptance_number(swapped), (number, swapped)


def test_exhaustively_for_all_digit_pairs() -> None:
    """Damm's property, checked on its own: for every prefix interim and every pair a != b, the
    swapped pair ends in another interim digit (so the check fails)."""
    for prefix in ("", "6", "63", "633504200"):
        for a, b in itertools.permutations("0123456789", 2):
            assert damm_digit(prefix + a + b) != damm_digit(prefix + b + a)
        for a, b in itertools.permutations("0123456789", 2):
            assert damm_digit(prefix + a) != damm_digit(prefix + b)


def test_parse_accepts_grouped_and_refuses_others() -> None:
    number = acceptance_number(42, DAY, 57)
    assert parse_acceptance_number(group_number(number)) == number
    assert parse_acceptance_number(f"{number[:4]}-{number[4:8]}-{number[8:]}") == number
    assert parse_acceptance_number(number[:-1]) is None
    assert parse_acceptance_number(number + "0") is None
    assert parse_acceptance_number("０" * 12) is None  # full-width digits are not ASCII digits
    assert parse_acceptance_number("abcd" + number[4:]) is None


def test_grouping() -> None:
    assert group_number("633504200571") == "6335 0420 0571"


@pytest.mark.parametrize(
    "kiosk_id, expected",
    [("KIOSK-DEV-0001", 1), ("kiosk-042", 42), ("K7-x", 7), ("A", None), ("K-123456", None)],
)
def test_default_kiosk_number(kiosk_id: str, expected: int | None) -> None:
    number = default_kiosk_number(kiosk_id)
    assert 0 <= number < 1000
    if expected is not None:
        assert number == expected
    assert default_kiosk_number(kiosk_id) == number  # stable


def _envelope(**extra: object) -> dict[str, object]:
    applicant = {"id_number": "990000199001010009", "name": "张三", "identified_by": "card"}
    return {
        "envelope_version": 1,
        "request_id": "0192f3a4-9b2c-7d1e-8f00-0a1b2c3d4e5f",
        "kiosk_id": "KIOSK-T1",
        "sequence": 57,
        "created_at": "2026-12-01T08:00:00.000000Z",
        "request_type": "household.household_certificate",
        "request_version": 1,
        "test": False,
        "payload": {
            "applicant": applicant,
            "fields": {"purpose": "school", "copies": 1, "phone": "13800000000"},
        },
        "attachments": [],
        **extra,
    }


def test_the_envelope_carries_the_number_and_still_takes_requests_without_one() -> None:
    from contract.schemas import SchemaViolation, validate_envelope

    validate_envelope(_envelope())  # frozen before the number existed: still valid
    number = acceptance_number(42, DAY, 57)
    validate_envelope(_envelope(acceptance_number=number))
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    for bad in (wrong, group_number(number), number[:-1], 633504200571):
        with pytest.raises(SchemaViolation):
            validate_envelope(_envelope(acceptance_number=bad))
