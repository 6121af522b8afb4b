"""Dependencies: the floors in pyproject.toml leave out releases with published advisories, the
kiosk's run-time install is pinned with hashes in requirements/kiosk.lock (and agrees with
pyproject.toml), and scripts/bootstrap installs it with ``--require-hashes``; ``--production``
installs nothing else (no reference backend, no demo, no test tools)."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import tomllib
from pathlib import Path

import pytest
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
LOCK = ROOT / "requirements" / "kiosk.lock"

# distribution -> (the newest release an advisory names, the first one without it); see the
# comments beside the floors in pyproject.toml
ADVISORIES = {
    "pillow": ("12.2.0", "12.3.0"),
    "cryptography": ("48.0.0", "48.0.1"),
    "requests": ("2.32.5", "2.33.0"),
    "urllib3": ("2.6.3", "2.7.0"),
    "fonttools": ("4.60.1", "4.60.2"),
}
NOT_ON_A_TERMINAL = {"psycopg", "psycopg-binary", "scikit-image", "pytest", "hypothesis", "ruff", "mypy"}


def _pyproject() -> dict[str, object]:
    return tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))


def _kiosk_requirements() -> dict[str, Requirement]:
    project = _pyproject()["project"]
    assert isinstance(project, dict)
    lines = [*project["dependencies"], *project["optional-dependencies"]["kiosk"]]
    return {canonicalize_name(r.name): r for r in map(Requirement, lines)}


def _locked() -> dict[str, list[tuple[Version, str, int]]]:
    """name -> [(version, marker, number of hashes)] (a name may be pinned per Python version)."""
    pins: dict[str, list[tuple[Version, str, int]]] = {}
    current: list[tuple[Version, str, int]] | None = None
    for line in LOCK.read_text(encoding="utf-8").splitlines():
        if match := re.match(r"^([A-Za-z0-9._-]+)==([^ ;\\]+)\s*(?:;\s*([^\\]+?))?\s*\\?$", line):
            name, version, marker = match.groups()
            current = pins.setdefault(canonicalize_name(name), [])
            current.append((Version(version), marker or "", 0))
        elif line.strip().startswith("--hash=sha256:") and current:
            version, marker, hashes = current[-1]
            current[-1] = (version, marker, hashes + 1)
    return pins


def _for_this_python(entries: list[tuple[Version, str, int]]) -> Version:
    chosen = [v for v, marker, _ in entries if not marker or Marker(marker).evaluate()]
    assert len(chosen) == 1, entries
    return chosen[0]


@pytest.mark.parametrize("name", sorted(ADVISORIES))
def test_the_floors_leave_out_releases_with_known_advisories(name: str) -> None:
    vulnerable, fixed = ADVISORIES[name]
    requirement = _kiosk_requirements().get(name)
    assert requirement is not None, f"{name} has no floor in the kiosk extra"
    assert not requirement.specifier.contains(vulnerable), f"{requirement} allows {vulnerable}"
    assert requirement.specifier.contains(fixed), f"{requirement} refuses the fixed {fixed}"


def test_the_build_backend_floor_leaves_out_setuptools_with_known_advisories() -> None:
    build = _pyproject()["build-system"]
    assert isinstance(build, dict)
    setuptools = next(Requirement(r) for r in build["requires"] if r.startswith("setuptools"))
    assert not setuptools.specifier.contains("78.1.0")  # CVE-2025-47273


def test_the_lock_pins_every_kiosk_package_with_hashes_within_pyproject() -> None:
    locked = _locked()
    assert locked, f"{LOCK} pins nothing"
    for name, entries in locked.items():
        assert all(hashes for _, _, hashes in entries), f"{name} is pinned without a hash"
    for name, requirement in _kiosk_requirements().items():
        assert name in locked, f"{name} (pyproject.toml) is not in {LOCK.name}: run scripts/lock"
        version = _for_this_python(locked[name])
        assert requirement.specifier.contains(version, prereleases=True), (
            f"{LOCK.name} pins {name} {version}, outside {requirement}: run scripts/lock"
        )
    for name, (_, fixed) in ADVISORIES.items():
        assert _for_this_python(locked[name]) >= Version(fixed)
    assert not NOT_ON_A_TERMINAL & set(locked), "the kiosk's lock holds a backend, demo or test package"


@pytest.fixture
def bootstrap_copy(tmp_path: Path) -> tuple[Path, Path]:
    """scripts/bootstrap in a copy of the tree, with a ``.venv/bin/python`` that only records how
    it was called and a ``dpkg-query`` that finds every Debian package installed (no apt, no PyPI)."""
    tree = tmp_path / "tree"
    (tree / "scripts").mkdir(parents=True)
    (tree / "requirements").mkdir()
    for part in ("scripts/bootstrap", "scripts/face-fixtures", "requirements/kiosk.lock", "pyproject.toml"):
        if (ROOT / part).exists():
            (tree / part).write_bytes((ROOT / part).read_bytes())
    # the face photos already unpacked: scripts/face-fixtures (run by --test) has nothing to fetch
    photos = tree / ".cache" / "face-fixtures"
    photos.mkdir(parents=True)
    script = (ROOT / "scripts" / "face-fixtures").read_text(encoding="utf-8")
    sha = script.split('sha256="', 1)[1].split('"', 1)[0]
    for name in (
        "obama.jpg",
        "obama2.jpg",
        "obama3.jpg",
        "obama_partial_face.jpg",
        "obama_partial_face2.jpg",
        "biden.jpg",
        "32bit.png",
    ):
        (photos / name).write_bytes(b"x")
    (photos / "SOURCE").write_text(f"face_recognition-1.3.0.tar.gz sha256={sha}\n", encoding="utf-8")
    calls = tmp_path / "calls.txt"
    fake_bin = tmp_path / "bin"
    fake_bin.mkdir()
    for path, body in (
        (tree / ".venv" / "bin" / "python", f'echo "$*" >> {calls}\n'),
        (fake_bin / "dpkg-query", "echo 'install ok installed'\n"),
    ):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("#!/bin/sh\n" + body, encoding="utf-8")
        path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return tree, calls


def _run_bootstrap(tree: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PATH": f"{tree.parent / 'bin'}:{os.environ['PATH']}"}
    return subprocess.run(
        ["bash", str(tree / "scripts" / "bootstrap"), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_bootstrap_production_installs_the_lock_with_hashes_and_nothing_else(
    bootstrap_copy: tuple[Path, Path],
) -> None:
    tree, calls = bootstrap_copy
    done = _run_bootstrap(tree, "--production")
    assert done.returncode == 0, done.stderr
    installs = calls.read_text(encoding="utf-8").splitlines()
    assert installs[1:] == [
        "-m pip -q install --require-hashes -r requirements/kiosk.lock",
        "-m pip -q install --no-deps -e .",
    ]
    assert "production" in done.stdout


def test_bootstrap_for_development_adds_the_other_extras_after_the_lock(
    bootstrap_copy: tuple[Path, Path],
) -> None:
    tree, calls = bootstrap_copy
    done = _run_bootstrap(tree, "--test")
    assert done.returncode == 0, done.stderr
    assert "face-fixtures: .cache/face-fixtures is complete" in done.stdout  # --test fetches the face photos
    installs = calls.read_text(encoding="utf-8").splitlines()
    assert installs[1:] == [
        "-m pip -q install --require-hashes -r requirements/kiosk.lock",
        "-m pip -q install --no-deps -e .",
        "-m pip -q install -e .[kiosk,backend,demo,test]",
    ]


@pytest.mark.parametrize("args", [("--test", "--production"), ("--prod",)])
def test_bootstrap_refuses_unknown_or_conflicting_options(
    bootstrap_copy: tuple[Path, Path], args: tuple[str, ...]
) -> None:
    tree, calls = bootstrap_copy
    done = _run_bootstrap(tree, *args)
    assert done.returncode == 2 and done.stderr.strip()
    assert not calls.exists()  # refused before installing anything
