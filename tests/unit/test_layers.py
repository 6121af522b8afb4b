"""The import-layer contract in pyproject.toml names every module of kiosk/: a new package is either
part of the core (and so checked) or deliberately above it, never silently outside the contract."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ABOVE_THE_CORE = {"kiosk.main", "kiosk.cli", "kiosk.tech"}  # composition root and the two commands


def _contract(name_start: str) -> dict[str, object]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    contracts = config["tool"]["importlinter"]["contracts"]
    return next(c for c in contracts if c["name"].startswith(name_start))


def test_every_module_of_kiosk_is_in_the_core_contract_or_above_the_core() -> None:
    core = set(_contract("the core")["source_modules"])  # type: ignore[arg-type]
    found = {
        f"kiosk.{p.stem if p.is_file() else p.name}"
        for p in (ROOT / "kiosk").iterdir()
        if (p.suffix == ".py" and p.stem != "__init__") or (p / "__init__.py").is_file()
    }
    assert found - core - ABOVE_THE_CORE == set(), "add the new module to the core contract's source_modules"
    assert core - found == set(), "the core contract names a module that no longer exists"
    assert core.isdisjoint(ABOVE_THE_CORE)


def test_the_core_contract_forbids_kivy_screens_backend_and_what_sits_above() -> None:
    forbidden = set(_contract("the core")["forbidden_modules"])  # type: ignore[arg-type]
    assert {"kivy", "screens", "backend"} | ABOVE_THE_CORE <= forbidden
