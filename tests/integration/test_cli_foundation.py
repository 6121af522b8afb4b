"""The kiosk's and the technician's commands, run as a technician runs them (subprocesses)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NO_DEVICES = "".join(
    f'[devices.{r}]\ndriver = "none"\n' for r in ("card_reader", "camera", "printer", "a4_printer")
)


def run(args: list[str], timeout_s: float = 120, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    environ.update(env)
    return subprocess.run(
        [sys.executable, "-m", *args],
        capture_output=True,
        text=True,
        timeout=timeout_s,
        cwd=ROOT,
        env=environ,
    )


def site(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(f'[kiosk]\ndata_dir = "data"\n{text}', encoding="utf-8")
    return path


def test_config_check_reports_each_problem_and_exits_2(tmp_path: Path) -> None:
    bad = site(tmp_path, "[display]\nfulscreen = true\n[session]\nidle_timeout_s = -1\n" + NO_DEVICES)
    result = run(["kiosk.tech", "config", "check", "--config", str(bad)])
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 2, result.stderr
    assert "display.fulscreen: unknown key (did you mean 'fullscreen'?)" in result.stderr
    assert "session.idle_timeout_s" in result.stderr
    assert "Traceback" not in result.stderr


def test_config_check_accepts_a_good_file(tmp_path: Path) -> None:
    good = site(tmp_path, NO_DEVICES)
    result = run(["kiosk.tech", "config", "check", "--config", str(good)])
    assert result.returncode == 0, result.stderr
    assert f"config ok: {good.resolve()}" in result.stdout


def test_config_check_checks_the_sites_services_override(tmp_path: Path) -> None:
    good = site(tmp_path, NO_DEVICES)
    services = tmp_path / "services.toml"
    services.write_text('["plate-reissue"]\nfee_fen = 12000\n', encoding="utf-8")
    result = run(["kiosk.tech", "config", "check", "--config", str(good)])
    assert result.returncode == 0, result.stderr
    assert f"services ok: {services}" in result.stdout
    services.write_text('["plate-reisue"]\nfee_fen = 12000\n', encoding="utf-8")  # a typo in the id
    result = run(["kiosk.tech", "config", "check", "--config", str(good)])
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "plate-reisue" in result.stderr and str(services) in result.stderr


def test_kiosk_with_bad_config_exits_2_without_traceback(tmp_path: Path) -> None:
    bad = site(tmp_path, '[display]\norientation = "sideways"\n' + NO_DEVICES)
    result = run(["kiosk.cli", "--smoke", "--config", str(bad)])
    assert result.returncode == 2
    assert "display.orientation" in result.stderr and "Traceback" not in result.stderr


def test_missing_configured_font_is_named(tmp_path: Path) -> None:
    bad = site(tmp_path, '[display]\nfont = "/nonexistent/font.ttf"\n' + NO_DEVICES)
    result = run(["kiosk.cli", "--smoke", "--config", str(bad)])
    assert result.returncode == 2
    assert "display.font: /nonexistent/font.ttf not found" in result.stderr


@pytest.mark.ui
def test_smoke_draws_home_and_reports_devices(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs a display (xvfb-run)")
    good = site(tmp_path, NO_DEVICES)
    result = run(["kiosk.cli", "--smoke", "--config", str(good)])
    assert result.returncode == 0, result.stderr
    assert "home screen drawn" in result.stdout
    assert "card_reader" in result.stdout and "not installed" in result.stdout


@pytest.mark.ui
def test_tour_writes_a_picture_of_every_state(tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs a display (xvfb-run)")
    good = site(tmp_path, NO_DEVICES)
    out = tmp_path / "tour"
    # 80-odd pictures at 1080x1920 in software GL: ~40 s on a quiet box, over 120 s on a busy one
    tour = ["kiosk.cli", "tour", "--out", str(out), "--config", str(good), "--size", "1080x1920"]
    result = run(tour, timeout_s=270)
    assert result.returncode == 0, result.stderr
    pictures = sorted(p.name for p in out.glob("*.png"))
    for state in (
        "attract",
        "home",
        "step-form-choice",
        "review",
        "done",
        "idle-warning",
        "error",
        "services-device-down",
    ):
        assert any(state in name for name in pictures), (state, pictures)
    from PIL import Image

    with Image.open(out / pictures[0]) as image:
        assert image.size == (1080, 1920)
        assert (
            len(image.convert("L").getcolors(maxcolors=100_000) or []) > 20
        )  # something was drawn, not a blank frame
