"""Unit tests do not import Kivy: every module of tests/unit, imported in a fresh interpreter
(as ``pytest tests/unit`` collects them), leaves ``kivy`` out of ``sys.modules``. Run-time imports
inside a test are caught by the autouse check in tests/unit/conftest.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UNIT = Path(__file__).resolve().parent

PROBE = r"""
import importlib, json, sys
loaded = {}
for name in sys.argv[1:]:
    importlib.import_module(name)
    if "kivy" in sys.modules and not loaded:
        loaded["first"] = name  # the first module after which Kivy is loaded
print(json.dumps({"kivy": sorted(m for m in sys.modules if m == "kivy" or m.startswith("kivy.")),
                  "first": loaded.get("first")}))
"""


def unit_modules() -> list[str]:
    return ["tests.unit.conftest"] + [f"tests.unit.{path.stem}" for path in sorted(UNIT.glob("test_*.py"))]


def test_the_unit_modules_are_found() -> None:
    modules = unit_modules()
    assert "tests.unit.test_outbox" in modules and "tests.unit.test_no_kivy" in modules
    assert len(modules) > 40


def test_no_unit_test_module_imports_kivy() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *unit_modules()],
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT), "KIVY_NO_ARGS": "1", "KIVY_NO_CONSOLELOG": "1"},
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["kivy"] == [], f"{report['first']} imports Kivy: move it to tests/ui"
