"""``kiosk-tech read-card`` against the pty simulator: JSON contract, masking, one-line failures."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pytest

from drivers.errors import DeviceDisconnected, DeviceError, DevicePermissionDenied
from drivers.idcard.base import CardReadFailed, ChecksumError
from drivers.idcard.simulator import SamSimulator
from kiosk.tech import main
from kiosk.tech.read_card import cause_of

KEYS = [
    "card_type", "name", "sex", "nation", "nation_code", "birth_date", "address", "id_number", "issuer",
    "valid_from", "valid_to", "photo_wlt_sha256",
]  # fmt: skip


@pytest.fixture
def sim() -> Iterator[SamSimulator]:
    with SamSimulator(card="resident") as simulator:
        yield simulator


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(["read-card", *argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_json_is_masked_by_default(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = run(capsys, "--port", sim.port, "--json")
    assert code == 0 and err == ""
    data = json.loads(out)
    assert list(data) == KEYS
    assert data["card_type"] == "resident" and data["sex"] == "男" and data["nation"] == "汉"
    assert data["name"] == "张**" and data["id_number"] == "9901**********031X"
    assert data["birth_date"] == "1980-03-15" and data["valid_to"] == "2036-05-01"
    assert len(data["photo_wlt_sha256"]) == 64


def test_reveal_and_the_other_card_types(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--port", sim.port, "--json", "--reveal")
    assert code == 0 and json.loads(out)["id_number"] == "99010119800315031X"
    seen = {}
    for key in ("resident_long_term", "hmt", "foreign_2017", "foreign_2023"):
        sim.place(key)
        code, out, _ = run(capsys, "--port", sim.port, "--json")
        assert code == 0
        seen[key] = json.loads(out)
    assert seen["resident_long_term"]["valid_to"] == "long-term"
    assert seen["hmt"]["card_type"] == "hmt_residence" and "pass_number" in seen["hmt"]
    assert "*" in seen["hmt"]["pass_number"] and seen["hmt"]["nation"] == ""
    for key, kind in (("foreign_2017", "foreign_permanent"), ("foreign_2023", "foreign_permanent_2023")):
        assert seen[key]["card_type"] == kind
        assert "name_en" in seen[key] and len(seen[key]["nationality"]) == 3


def test_plain_output(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--port", sim.port)
    assert code == 0 and "张**" in out and "99010119800315031X" not in out


def test_no_card(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    sim.remove()
    code, out, err = run(capsys, "--port", sim.port, "--json")
    assert code == 1 and out == "" and err.startswith("error: no card") and err.count("\n") == 1


def test_port_not_found(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--port", "/dev/no-such-reader")
    assert code == 1 and err.startswith("error: port not found") and "Traceback" not in err


def test_silence_is_a_timeout(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    sim.inject("silence", 100)
    code, _, err = run(capsys, "--port", sim.port, "--timeout", "0.2")
    assert code == 1 and err.startswith("error: timeout") and err.count("\n") == 1


def test_persistent_corruption_is_a_checksum_error(
    sim: SamSimulator, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, _ = run(capsys, "--port", sim.port)  # open is fine
    assert code == 0
    sim.inject("corrupt", 100)
    code, _, err = run(capsys, "--port", sim.port)
    assert code == 1 and err.startswith("error: checksum")


def test_reader_status_is_named(sim: SamSimulator, capsys: pytest.CaptureFixture[str]) -> None:
    sim.inject("status", 1, status=0x60)  # the next reply (the SAM check at open) says self-test failed
    code, _, err = run(capsys, "--port", sim.port)
    assert code == 1 and err.startswith("error: sam self test: SAM self-test failed (SW3 60)")


@pytest.mark.parametrize(
    ("exc", "cause"),
    [
        (DevicePermissionDenied("permission denied"), "permission denied"),
        (DeviceDisconnected("gone"), "disconnected"),
        (ChecksumError("bad"), "checksum"),
        (CardReadFailed("x", sw3=0x41, reason="read_failed"), "read failed"),
        (DeviceError("odd"), "device error"),
    ],
)
def test_causes(exc: DeviceError, cause: str) -> None:
    assert cause_of(exc) == cause


@pytest.mark.skipif(os.geteuid() == 0, reason="root opens any device node")
def test_permission_denied(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--port", "/dev/mem")
    assert code == 1 and err.startswith("error: permission denied")
