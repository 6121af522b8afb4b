"""Site catalogues the catalogue tests write: one service with a fixed head and the steps a test
gives, so each test shows only the steps it is about."""

from __future__ import annotations

from pathlib import Path

ONE_SERVICE_HEAD = """
[[services]]
id = "x"
category = "household"
request_type = "household.x"
request_version = 1
fee_fen = 0
title = { zh = "甲", en = "X" }
help = { zh = "甲", en = "X" }
"""


def one_service(folder: Path, steps: str) -> Path:
    """``folder/services.toml`` holding service ``x`` with ``steps`` (``[[services.steps]]`` tables)."""
    path = folder / "services.toml"
    path.write_text(ONE_SERVICE_HEAD + steps, encoding="utf-8")
    return path
