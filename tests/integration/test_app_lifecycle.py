"""The real `kiosk` command as systemd runs it: a second start on the same data folder is refused
while the first runs, and SIGTERM (`systemctl stop`, a shutdown) stops it cleanly and quickly,
releasing the folder for the next start. Runs on the test session's X display (xvfb-run)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kiosk.main import claim_data_dir
from tests.conftest import wait_until

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not os.environ.get("DISPLAY"), reason="needs an X display (run under xvfb-run)")
def test_one_app_per_folder_and_sigterm_stops_it_cleanly(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\ndata_dir = "data"\n[display]\nfullscreen = false\n', encoding="utf-8")
    command = [sys.executable, "-m", "kiosk.cli", "--config", str(site), "--simulate"]
    env = {**os.environ, "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"}
    log = tmp_path / "data" / "logs" / "kiosk.log"
    with subprocess.Popen(
        command, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    ) as app:
        try:
            wait_until(
                lambda: log.exists() and "request queue ready" in log.read_text(encoding="utf-8"),
                120,
                "the kiosk to start",
            )
            second = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
            assert second.returncode == 2
            assert f"another kiosk app (pid {app.pid})" in second.stderr, second.stderr[-1500:]
            started = time.monotonic()
            app.send_signal(signal.SIGTERM)
            code = app.wait(30)
            stopped_in = time.monotonic() - started
        finally:
            if app.poll() is None:
                app.kill()
                app.wait(10)
    assert code == 0, (tmp_path / "stderr.txt").read_text(errors="replace")[-2000:]
    assert stopped_in < 15, f"SIGTERM took {stopped_in:.1f} s"
    claim_data_dir(tmp_path / "data").close()  # the folder is free for the next start
    assert not list((tmp_path / "data" / "sessions").glob("kiosk-session-*"))
