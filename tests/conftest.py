"""Shared helpers and fixtures of every test layer. UI fixtures live in tests/ui/conftest.py.

- :func:`wait_until`: poll a condition against a real-time deadline (for threads, processes and
  files; the UI pilot has its own, which runs Kivy frames while it waits).
- :class:`FakeUiThread` (fixture ``ui_thread``): stands in for the app's UI thread, so a Kivy-free
  worker's ``post`` is exercised exactly as ``Clock.schedule_once`` would run it: later, on the
  test's thread, only when the test lets the "next frame" run.
- :func:`under_ci`: whether CI runs the tests; a service a test needs (PostgreSQL, a display) must
  then be there, so its absence fails instead of skipping.
"""

from __future__ import annotations

import contextlib
import os
import queue
import time
from collections.abc import Callable
from typing import TypeVar

import pytest

T = TypeVar("T")


def under_ci() -> bool:
    """Whether the tests run under CI (``CI`` set to anything but empty, 0 or false)."""
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def skip_or_fail(reason: str) -> None:
    """Skip locally for a missing test service, but fail under CI, where it must be there."""
    if under_ci():
        pytest.fail(f"{reason} -- CI must provide it, so this fails instead of skipping", pytrace=False)
    pytest.skip(reason)


def wait_until(
    condition: Callable[[], T],
    timeout_s: float = 5.0,
    what: str = "",
    *,
    interval_s: float = 0.01,
    detail: Callable[[], object] | None = None,
) -> T:
    """Return ``condition()``'s first truthy value; AssertionError after ``timeout_s`` of real time.

    ``what`` names the awaited state in the failure; ``detail()`` (optional) adds what was seen
    instead (events, a status), evaluated only on failure.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        result = condition()
        if result:
            return result
        if time.monotonic() > deadline:
            seen = f"; seen: {detail()!r}" if detail is not None else ""
            raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what or condition}{seen}")
        time.sleep(interval_s)


class FakeUiThread:
    """Collects what workers ``post`` and runs it on the test's thread when the test says so.

    ``post`` has the signature the app's ``KioskApp.post`` (``Clock.schedule_once``) has; nothing
    posted runs until :meth:`run_next`, :meth:`run_pending` or :meth:`run_until` is called, so a
    test sees what a worker did before the UI thread reacted.
    """

    def __init__(self) -> None:
        self.posted: queue.Queue[Callable[[], None]] = queue.Queue()

    def post(self, fn: Callable[[], None]) -> None:
        self.posted.put(fn)

    def run_next(self, timeout_s: float = 5.0) -> None:
        """Wait up to ``timeout_s`` for the next posted callable and run it."""
        try:
            fn = self.posted.get(timeout=timeout_s)
        except queue.Empty:
            raise AssertionError(f"nothing was posted to the UI thread within {timeout_s:g} s") from None
        fn()

    def run_pending(self) -> int:
        """Run everything posted so far (a frame); returns how many callables ran."""
        count = 0
        while True:
            try:
                fn = self.posted.get_nowait()
            except queue.Empty:
                return count
            fn()
            count += 1

    def run_until(self, condition: Callable[[], T], timeout_s: float = 10.0, what: str = "") -> T:
        """Run posted callables as they come until ``condition()`` is truthy; AssertionError on timeout."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = condition()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout_s:g} s waiting for {what or condition}")
            with contextlib.suppress(queue.Empty):
                self.posted.get(timeout=min(0.05, remaining))()


@pytest.fixture
def ui_thread() -> FakeUiThread:
    """A fresh fake UI thread; pass ``ui_thread.post`` where the app would pass ``KioskApp.post``."""
    return FakeUiThread()
