"""kiosk-tech doctor names what is wrong with a terminal, one line each."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
NO_DEVICES = "".join(
    f'[devices.{r}]\ndriver = "none"\n' for r in ("card_reader", "camera", "printer", "a4_printer")
)


def doctor(site: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    return subprocess.run(
        [sys.executable, "-m", "kiosk.tech", "doctor", "--config", str(site), "--json"],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )  # fmt: skip


def test_a_healthy_demo_terminal_passes(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\ndata_dir = "data"\n' + NO_DEVICES, encoding="utf-8")
    result = doctor(site)
    assert result.returncode == 0, result.stdout + result.stderr
    checks = {c["name"]: c for c in json.loads(result.stdout)["checks"]}
    assert {"config", "font", "device camera", "backend", "disk", "outbox"} <= set(checks)


def test_unreachable_backend_missing_key_and_damaged_outbox_are_named(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "outbox.db").write_bytes(b"this is not a database" * 100)
    key = tmp_path / "hmac.key"
    key.write_text("00" * 32)
    site = tmp_path / "kiosk.toml"
    site.write_text(
        '[kiosk]\ndata_dir = "data"\n[backend]\nurl = "http://127.0.0.1:9"\nsecret_file = "hmac.key"\n'
        "connect_timeout_s = 1\n" + NO_DEVICES,
        encoding="utf-8",
    )
    result = doctor(site)
    assert result.returncode == 1
    report = json.loads(result.stdout)
    failing = {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}
    assert set(failing) == {"backend", "outbox"}, failing
    assert "unreachable" in failing["backend"]
    assert "Traceback" not in result.stderr
