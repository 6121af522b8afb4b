"""Fixtures shared by the integration tests."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import skip_or_fail

# every table the reference backend creates (backend/store.py, backend/alerts.py, identity block)
BACKEND_TABLES = (
    "requests, nonces, counters, kiosks, step_stats, alerts, register, identity_audit, identity_meta"
)


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty backend store: SQLite always, PostgreSQL when ``KIOSK_TEST_PG_URL`` is set
    (scripts/test-services.sh starts a throwaway cluster). Without it the PostgreSQL cases skip
    locally and fail under CI (``CI=true``), so a CI job without the server cannot pass unnoticed."""
    return _fresh_store(request.param, tmp_path)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def module_store_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The same, one per test module (the fuzzers share one server across thousands of cases)."""
    return _fresh_store(request.param, tmp_path_factory.mktemp("store"))


def _fresh_store(kind: str, folder: Path) -> str:
    if kind == "sqlite":
        return f"sqlite:///{folder / 'backend.db'}"
    url = os.environ.get("KIOSK_TEST_PG_URL")
    if not url:  # under CI the PostgreSQL half of the store tests must run: fail, do not skip
        skip_or_fail("KIOSK_TEST_PG_URL is not set (source scripts/test-services.sh && start_test_services)")
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {BACKEND_TABLES}")
    return url
