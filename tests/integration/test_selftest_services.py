"""Every service of the product, walked end to end by `kiosk selftest` through the simulated
devices and the local backend: each step passes, the request is acknowledged, documents printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from kiosk.services.catalogue import SERVICE_IDS

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.ui


@pytest.mark.parametrize("service", SERVICE_IDS)
def test_service_selftest_passes(service: str, tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs a display (xvfb-run)")
    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\ndata_dir = "data"\n', encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    result = subprocess.run(
        [sys.executable, "-m", "kiosk.cli", "selftest", "--service", service, "--simulate", "--config", str(site), "--json"],
        capture_output=True, text=True, timeout=240, cwd=ROOT, env=env,
    )  # fmt: skip
    report = json.loads(result.stdout.strip().splitlines()[-1])
    failed = [s for s in report["steps"] if not s["ok"]]
    assert result.returncode == 0 and report["ok"], failed or result.stderr[-2000:]
    kinds = [s["kind"] for s in report["steps"]]
    assert kinds[-1] == "check" and report["steps"][-1]["step"] == "delivered"
    if "submit" in kinds:
        assert report["steps"][-1]["detail"]  # the acknowledged request id
        assert "print" in kinds
    else:  # the status look-up files nothing: it found a test request by number and by QR code
        assert kinds == ["start", "request_status", "check"]
