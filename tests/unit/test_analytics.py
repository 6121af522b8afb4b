"""Step analytics: counted, drained into a heartbeat, restored when it fails."""

from __future__ import annotations

import pytest

from kiosk.visit.analytics import StepAnalytics


def test_drain_and_restore() -> None:
    analytics = StepAnalytics()
    analytics.record("id-photo", "-", "started")
    analytics.record("id-photo", "photo", "timed_out")
    analytics.record("id-photo", "-", "started")
    drained = analytics.drain()
    assert drained == [
        {"service": "id-photo", "step": "-", "outcome": "started", "count": 2},
        {"service": "id-photo", "step": "photo", "outcome": "timed_out", "count": 1},
    ]
    assert analytics.drain() == []
    analytics.record("id-photo", "-", "started")
    analytics.restore(drained)
    assert analytics.snapshot()[("id-photo", "-", "started")] == 3
    with pytest.raises(ValueError):
        analytics.record("id-photo", "photo", "exploded")
