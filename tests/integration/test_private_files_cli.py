"""The ``kiosk`` and ``kiosk-tech`` commands make every file owner-only whatever umask they were
started with (``umask 077`` first thing, issue 21 item 5): run as a technician or a careless unit
runs them, with a umask of 022, nothing they create is readable by another user."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
NO_DEVICES = "".join(
    f'[devices.{r}]\ndriver = "none"\n' for r in ("card_reader", "camera", "printer", "a4_printer")
)


def run(args: list[str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    """``python -m ARGS`` started with umask 022 (files 0644, folders 0755 unless it sets its own)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=ROOT,
        env=environ,
        umask=0o022,
    )


def readable_by_others(folder: Path) -> list[str]:
    """Every file or folder under ``folder`` (not itself: the test made it) with group/other bits."""
    return [
        f"{path.relative_to(folder)} {stat.filemode(path.lstat().st_mode)}"
        for path in folder.rglob("*")
        if not path.is_symlink() and path.lstat().st_mode & 0o077
    ]


def test_kiosk_tech_makes_a_terminals_files_owner_only(tmp_path: Path) -> None:
    terminal = tmp_path / "terminal"
    init = run(["kiosk.tech", "config", "init", "--dir", str(terminal)])
    assert init.returncode == 0, init.stderr
    site = str(terminal / "kiosk.toml")
    enqueue = run(["kiosk.tech", "queue", "enqueue-test", "--count", "2", "--config", site])
    assert enqueue.returncode == 0, enqueue.stderr
    made = {p.relative_to(terminal).as_posix() for p in terminal.rglob("*")}
    assert {"kiosk.toml", "keys", "data", "logs", "data/outbox.db"} <= made
    assert readable_by_others(terminal) == []


@pytest.mark.ui
def test_the_kiosk_makes_its_data_folder_owner_only(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs a display (xvfb-run)")
    site = tmp_path / "kiosk.toml"
    site.write_text(f'[kiosk]\ndata_dir = "data"\n{NO_DEVICES}', encoding="utf-8")
    result = run(["kiosk.cli", "--smoke", "--config", str(site)])
    assert result.returncode == 0, result.stderr
    made = {p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*")}
    assert {"data", "data/logs/kiosk.log", "data/kivy", "data/cache/fonts"} <= made
    assert stat.S_IMODE((tmp_path / "data").stat().st_mode) == 0o700  # nobody else can reach inside
    # Kivy copies its own icons with the package's modes (copytree): public pictures, no resident's
    # data, and out of others' reach in the 0700 folder
    exposed = [line for line in readable_by_others(tmp_path / "data") if not line.startswith("kivy/icon")]
    assert exposed == []
