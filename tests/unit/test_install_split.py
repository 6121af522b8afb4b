"""The dependency split: backend and contract load nothing of the terminal; the terminal's commands
name the missing ``kiosk`` extra instead of a traceback; key-file problems stay configuration errors.

Each import check runs in a fresh interpreter (``python -c``), since this test process has long
imported the kiosk.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract.signing import KeyFileError
from contract.signing import load_secret as contract_load_secret
from kiosk.config.keyfile import load_secret
from kiosk.errors import ConfigError
from kiosk.extras import INSTALL_HINT, KIOSK_EXTRA_MODULES, missing_kiosk_modules

ROOT = Path(__file__).resolve().parents[2]
TERMINAL_PACKAGES = ("kivy", "cv2", "kiosk", "screens", "drivers", "serial", "pydantic", "requests", "PIL")


def loaded_after(statement: str) -> set[str]:
    """Top-level packages in ``sys.modules`` after running ``statement`` in a fresh interpreter."""
    code = (
        f"import json, sys\n{statement}\nprint(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(done.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    "statement",
    [
        "import backend.app",
        "import backend.cli",
        "import backend.alerts, backend.lookups, backend.openapi, backend.store",
        "import backend.cli; backend.cli.build_parser().parse_args(['serve', '--store', 'sqlite:///:memory:'])",
    ],
)
def test_backend_loads_nothing_of_the_terminal(statement: str) -> None:
    assert loaded_after(statement).isdisjoint(TERMINAL_PACKAGES)


def test_contract_loads_nothing_of_the_project_but_itself() -> None:
    loaded = loaded_after("import contract.ids, contract.schemas, contract.signing")
    assert loaded.isdisjoint((*TERMINAL_PACKAGES, "backend"))


def test_the_face_matcher_loads_its_libraries_only_when_it_matches() -> None:
    # the backend imports contract.faces; numpy, Pillow and dlib load on the first template only
    loaded = loaded_after("import contract.faces; contract.faces.default_matcher()")
    assert loaded.isdisjoint((*TERMINAL_PACKAGES, "backend", "numpy", "dlib", "face_recognition_models"))


def run_without_site_packages(statement: str) -> subprocess.CompletedProcess[str]:
    """``statement`` in an interpreter that sees the standard library and this tree only, as a
    ``pip install police-kiosk`` without the kiosk extra would (``-S``: no site-packages)."""
    code = f"import sys\nsys.path.insert(0, {str(ROOT)!r})\n{statement}"
    return subprocess.run(
        [sys.executable, "-S", "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )


@pytest.mark.parametrize(
    ("prog", "statement"),
    [
        ("kiosk", "sys.argv = ['kiosk']\nfrom kiosk.cli import main\nsys.exit(main())"),
        ("kiosk-tech", "from kiosk.tech import main\nsys.exit(main(['doctor']))"),
    ],
)
def test_commands_without_the_kiosk_extra_name_it(prog: str, statement: str) -> None:
    done = run_without_site_packages(statement)
    assert done.returncode == 2
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"{prog}: ")
    assert INSTALL_HINT in lines[0]
    assert "kivy" in lines[0]


def test_with_the_kiosk_extra_nothing_is_missing() -> None:
    # this test environment is installed with the kiosk extra (scripts/bootstrap)
    assert missing_kiosk_modules() == []
    assert "kivy" in KIOSK_EXTRA_MODULES


def test_contract_key_file_problems_are_its_own_error(tmp_path: Path) -> None:
    short = tmp_path / "short.key"
    short.write_text("00ff\n", encoding="ascii")
    with pytest.raises(KeyFileError, match="too short") as caught:
        contract_load_secret(short)
    assert caught.value.path == short
    with pytest.raises(KeyFileError, match="not found"):
        contract_load_secret(tmp_path / "missing.key")


def test_kiosk_reads_key_files_as_configuration(tmp_path: Path) -> None:
    good = tmp_path / "hmac.key"
    good.write_text("ab" * 32 + "\n", encoding="ascii")
    assert load_secret(good) == bytes.fromhex("ab" * 32)
    bad = tmp_path / "bad.key"
    bad.write_text("not hex", encoding="ascii")
    with pytest.raises(ConfigError) as caught:
        load_secret(bad)
    (problem,) = caught.value.problems
    assert problem.file == str(bad)
    assert problem.message.startswith("unreadable key file")
