"""``kiosk-tech sim-card``: the simulator alone on a pty, driven by stdin, read by the real driver."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator

import pytest

from drivers.idcard.base import IdCard, Presence
from drivers.idcard.sam import SamSerialReader, Timeouts


@pytest.fixture
def sim_cli() -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "kiosk.tech", "sim-card", "--card", "hmt"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    yield proc
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=5)
    assert proc.stdout is not None and proc.stdin is not None
    proc.stdout.close()
    proc.stdin.close()


def send(proc: subprocess.Popen[str], line: str) -> str:
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write(line + "\n")
    proc.stdin.flush()
    return proc.stdout.readline().strip()


def test_sim_card_serves_the_real_driver(sim_cli: subprocess.Popen[str]) -> None:
    assert sim_cli.stdout is not None
    first = sim_cli.stdout.readline().split()
    assert first[0] == "port" and first[1].startswith("/dev/")
    reader = SamSerialReader(first[1], timeouts=Timeouts(command_s=0.5, read_s=2, fingerprint_s=2))
    reader.open()
    card = reader.read_card()
    assert isinstance(card, IdCard) and card.pass_number == "H00000001"
    assert send(sim_cli, "remove") == "ok"
    assert reader.find_card() is Presence.NO_CARD
    assert send(sim_cli, "place foreign_2023") == "ok"
    card = reader.read_card()
    assert isinstance(card, IdCard) and card.nationality == "ZZZ"
    reader.close()
    assert send(sim_cli, "quit") == ""
    assert sim_cli.wait(timeout=5) == 0


def test_unknown_card_is_one_line_and_exit_2() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.tech", "sim-card", "--card", "nobody"],
        capture_output=True,
        text=True,
        timeout=30,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "nobody" in result.stderr and "Traceback" not in result.stderr
