"""One kiosk app per data folder, and nothing of a killed app's visit survives its restart: the data
folder lock (kiosk/main.py: claim_data_dir) and the session scratch sweep (kiosk/visit/session.py)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.errors import KioskError
from kiosk.main import claim_data_dir
from kiosk.visit.session import Session, sweep_scratch

REPO = Path(__file__).resolve().parents[2]
HOLD = """
import pathlib, sys, time
from kiosk.main import claim_data_dir
lock = claim_data_dir(pathlib.Path(sys.argv[1]))
print("held", flush=True)
time.sleep(60)
"""


def test_a_second_claim_is_refused_naming_the_holder(tmp_path: Path) -> None:
    first = claim_data_dir(tmp_path / "data")
    try:
        with pytest.raises(KioskError, match=rf"pid {os.getpid()}\b.*{tmp_path / 'data'}"):
            claim_data_dir(tmp_path / "data")
    finally:
        first.close()
    claim_data_dir(tmp_path / "data").close()  # released with its holder


def test_the_lock_dies_with_a_killed_holder(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with subprocess.Popen(
        [sys.executable, "-c", HOLD, str(data)], cwd=REPO, stdout=subprocess.PIPE, text=True
    ) as holder:
        try:
            assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
            with pytest.raises(KioskError, match=rf"pid {holder.pid}\b"):
                claim_data_dir(data)
        finally:
            holder.send_signal(signal.SIGKILL)
            holder.wait(10)
    claim_data_dir(data).close()  # no stale lock after SIGKILL


def test_the_app_refuses_to_start_on_a_folder_in_use(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\ndata_dir = "data"\n[display]\nfullscreen = false\n', encoding="utf-8")
    held = claim_data_dir(tmp_path / "data")
    try:
        second = subprocess.run(
            [sys.executable, "-m", "kiosk.cli", "--config", str(site), "--simulate"],
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
            env={**os.environ, "KIVY_NO_ARGS": "1"},
        )
    finally:
        held.close()
    assert second.returncode == 2, second.stderr[-2000:]
    assert "another kiosk app" in second.stderr and str(tmp_path / "data") in second.stderr
    assert "Traceback" not in second.stderr


def test_session_scratch_lives_under_the_data_folder_and_goes_at_wipe(tmp_path: Path) -> None:
    root = tmp_path / "data" / "sessions"
    session = Session(scratch_root=root)
    scratch = session.temp_dir
    assert scratch.parent == root and scratch.stat().st_mode & 0o777 == 0o700
    (scratch / "photo.jpg").write_bytes(b"\xff\xd8 synthetic")
    session.wipe()
    assert not scratch.exists() and list(root.iterdir()) == []


def test_start_sweeps_what_a_killed_process_left(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    root = tmp_path / "sessions"
    left = Session(scratch_root=root).temp_dir  # never wiped: the process "died"
    (left / "nested").mkdir()
    (left / "nested" / "preview.png").write_bytes(b"\x89PNG synthetic")
    (root / "README").write_text("not ours")
    assert sweep_scratch(root) == 1
    assert not left.exists() and (root / "README").exists()
    assert "did not end cleanly" in caplog.text
    assert sweep_scratch(root) == 0
    assert sweep_scratch(tmp_path / "new") == 0 and (tmp_path / "new").stat().st_mode & 0o777 == 0o700
