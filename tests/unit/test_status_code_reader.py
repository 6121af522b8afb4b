"""Receipt codes from the QR scanner device during the status scan (kiosk/steps/status_scan.py
CodeReader): the simulated wedge scanner types codes into the real evdev driver."""

from __future__ import annotations

import contextlib
import queue
import time
from collections.abc import Callable
from typing import Any

from drivers.scanner.simulator import Fault, SimulatedScanner
from kiosk.steps.status_scan import HINT_NOT_RECEIPT, CodeReader, ScanGroup

STATUS = "https://kiosk.example.invalid/status/"
REQUEST_ID = "0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b"  # a UUIDv7 as the kiosk makes them


class Posted:
    """The UI thread: callbacks posted by the reader's thread, run by the test."""

    def __init__(self) -> None:
        self.calls: queue.Queue[Callable[[], None]] = queue.Queue()

    def __call__(self, fn: Callable[[], None]) -> None:
        self.calls.put(fn)

    def run_until(self, done: Callable[[], bool], timeout_s: float = 5.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not done():
            remaining = deadline - time.monotonic()
            assert remaining > 0, "timed out"
            with contextlib.suppress(queue.Empty):
                self.calls.get(timeout=remaining)()


def _reader(scanner: Any, post: Posted, hints: list[str], found: list[str]) -> CodeReader:
    return CodeReader(scanner, post, on_hint=hints.append, on_found=found.append, read_s=0.05)


def test_a_receipt_code_is_found_after_a_foreign_one_gives_the_hint() -> None:
    scanner, post, hints, found = SimulatedScanner(), Posted(), [], []
    reader = _reader(scanner, post, hints, found)
    reader.start()
    try:
        scanner.present("https://example.org/menu")
        post.run_until(lambda: hints == [HINT_NOT_RECEIPT])
        scanner.present(STATUS + REQUEST_ID)
        post.run_until(lambda: found == [REQUEST_ID])
        assert reader.found == REQUEST_ID
        reader.stop()
        assert not reader.running
    finally:
        reader.stop()
        scanner.close()


def test_garbled_bytes_are_skipped_and_an_unplugged_scanner_ends_quietly() -> None:
    scanner, post, hints, found = SimulatedScanner(), Posted(), [], []
    reader = _reader(scanner, post, hints, found)
    reader.start()
    try:
        scanner.inject(Fault.GARBLED)
        scanner.present(STATUS + REQUEST_ID)  # unreadable: logged, the reader goes on
        time.sleep(0.2)
        assert reader.running and found == []
        scanner.clear(Fault.GARBLED)
        scanner.present(STATUS + REQUEST_ID)
        post.run_until(lambda: found == [REQUEST_ID])
    finally:
        reader.stop()
        scanner.close()
    gone, post2 = SimulatedScanner(), Posted()
    unplugged = _reader(gone, post2, [], [])
    unplugged.start()
    gone.inject(Fault.UNPLUGGED)
    deadline = time.monotonic() + 5
    while unplugged.running and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not unplugged.running  # the thread ended; the camera's scan carries on
    gone.close()


def test_a_group_starts_and_stops_its_sources_and_reports_the_first_find() -> None:
    class Source:
        def __init__(self, found: str | None) -> None:
            self.found, self.running, self.decode_ms = found, False, [1.5]

        def start(self) -> None:
            self.running = True

        def stop(self, join_s: float = 1.0) -> None:
            self.running = False

    camera, device = Source(None), Source(REQUEST_ID)
    group = ScanGroup(camera, device)
    group.start()
    assert group.running and camera.running and device.running
    assert group.found == REQUEST_ID and group.decode_ms == [1.5]
    group.stop(join_s=0)
    assert not group.running and not camera.running and not device.running
