"""Per-step analytics without personal data: how many visits start, finish, give up, time out or
fail at each step of each service. Counted in memory, sent with the heartbeat as deltas, and put
back if the heartbeat fails, so a department sees where residents get stuck."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

OUTCOMES = ("started", "finished", "abandoned", "timed_out", "failed")


class StepAnalytics:
    def __init__(self) -> None:
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._lock = threading.Lock()

    def record(self, service: str, step: str, outcome: str) -> None:
        if outcome not in OUTCOMES:
            raise ValueError(f"unknown outcome {outcome!r}")
        with self._lock:
            self._counts[(service, step, outcome)] += 1

    def drain(self) -> list[dict[str, Any]]:
        """Take the counts gathered since the last drain (for a heartbeat)."""
        with self._lock:
            counts, self._counts = self._counts, Counter()
        return [
            {"service": s, "step": st, "outcome": o, "count": n} for (s, st, o), n in sorted(counts.items())
        ]

    def restore(self, items: list[dict[str, Any]]) -> None:
        """Put drained counts back (the heartbeat carrying them failed)."""
        with self._lock:
            for item in items:
                self._counts[(item["service"], item["step"], item["outcome"])] += int(item["count"])

    def snapshot(self) -> dict[tuple[str, str, str], int]:
        with self._lock:
            return dict(self._counts)
