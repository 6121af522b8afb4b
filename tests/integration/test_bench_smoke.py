"""Every benchmark under bench/ runs once with tiny counts, the way a person starts it
(``python bench/NAME.py``, so bench/ is first on ``sys.path``), and prints its figures: none can
silently break again, as when bench/queue.py shadowed the standard library's ``queue`` for every
script beside it. The figures themselves are not judged here (they are for a quiet machine)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

pytestmark = [pytest.mark.integration, pytest.mark.slow]
BENCH = Path(__file__).resolve().parents[2] / "bench"

# script -> (tiny counts, a line its report always prints)
HEADLESS = {
    "face_match.py": (
        ["--runs", "1", "--lfw", "2", "--variants", "1"],
        "verification (640x480 frame vs 102x126 card)",
    ),
    "idcard.py": (["--reads", "1", "--poll-seconds", "0.3"], "find+select+read (1 runs)"),
    "ingest_scale.py": (["--requests", "20", "--clients", "2"], "workers 2:"),
    "outbox.py": (["--n", "5", "--rounds", "1", "--deliver", "5", "--year", "20"], "delivery:"),
    "photo.py": (["--frames", "3", "--seconds", "0.3"], "UI loop + live session"),
    "printing.py": (["--n", "2", "--previews", "1", "--documents", "1"], "certificate A4 PDF"),
    "status_scan.py": (
        ["--frames", "2", "--scans", "1", "--receipts", "2", "--lookups", "2"],
        "look-up by acceptance number",
    ),
}
WINDOWED = {  # start the real Kivy app: need the session's X display (xvfb-run)
    "service_time.py": (["--service", "household-certificate", "--runs", "1"], "kiosk's share of the visit"),
    "soak.py": (["--sessions", "1", "--warmup", "1"], "failed visits: 0"),
    "startup.py": (["--runs", "1", "--switches", "4", "--quick"], "ratio smoke / bare"),
}


def test_every_benchmark_is_smoke_tested() -> None:
    assert {p.name for p in BENCH.glob("*.py")} == set(HEADLESS) | set(WINDOWED)


def test_no_benchmark_shadows_a_standard_module() -> None:
    # a script's own folder is first on sys.path: bench/queue.py broke `import queue` for all of them
    shadowing = sorted(p.name for p in BENCH.iterdir() if p.name.split(".")[0] in sys.stdlib_module_names)
    assert shadowing == []


def _run(script: str, args: list[str], expected: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args],
        cwd=tmp_path,  # not the repository: the script must find it by itself
        env={**os.environ, "TMPDIR": str(tmp_path), "KIVY_NO_ARGS": "1"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{script} exited {result.returncode}:\n{output[-3000:]}"
    assert expected in result.stdout, f"{script} printed no {expected!r}:\n{output[-3000:]}"
    assert "Traceback" not in output, output[-3000:]


@pytest.mark.parametrize("script", sorted(HEADLESS))
def test_headless_benchmark_runs(script: str, tmp_path: Path) -> None:
    if script == "photo.py":
        pytest.importorskip("skimage", reason="the demo portrait comes from scikit-image (test extra)")
    if script == "face_match.py" and not (BENCH.parent / ".cache" / "face-fixtures" / "SOURCE").is_file():
        skip_or_fail("bench/face_match.py needs the face photos: run scripts/face-fixtures")
    _run(script, *HEADLESS[script], tmp_path)


@pytest.mark.parametrize("script", sorted(WINDOWED))
def test_windowed_benchmark_runs(script: str, tmp_path: Path) -> None:
    if not os.environ.get("DISPLAY"):
        skip_or_fail(f"bench/{script} needs a display: run under xvfb-run (scripts/check does)")
    _run(script, *WINDOWED[script], tmp_path)
