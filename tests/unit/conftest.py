"""The unit layer runs without Kivy: a unit test that imports it (directly or through a module it
uses) fails here, so Kivy code is tested under tests/ui and the core stays importable without it.

The check is per test: it can only see a test bring Kivy in when nothing loaded Kivy before it
(``pytest tests/unit``, as scripts/check and CI run the unit layer); tests/unit/test_no_kivy.py
also imports every unit test module in a fresh interpreter.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator

import pytest


@pytest.fixture(autouse=True)
def _no_kivy(request: pytest.FixtureRequest) -> Iterator[None]:
    already = "kivy" in sys.modules
    yield
    if not already and "kivy" in sys.modules:
        pytest.fail(
            f"{request.node.nodeid} imported Kivy: unit tests run without it (move the test to tests/ui)",
            pytrace=False,
        )
