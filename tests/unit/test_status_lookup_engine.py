"""The status look-up's mode machine without Kivy (kiosk/steps/status_lookup.py): scan, type, busy,
result; a fake scanner, camera and request queue; the background calls run on the spot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from kiosk.errors import BackendUnavailable
from kiosk.steps.status import StatusView
from kiosk.steps.status_lookup import BUSY, RESULT, SCAN, TYPE, StatusLookup, result_rows
from tests.unit.engine_fakes import InlineRunner

RID = "0192f3a4-9b2c-7d1e-8f00-0a1b2c3d4e5f"
OTHER = "0193aaaa-9b2c-7d1e-8f00-0a1b2c3d4e5f"  # the same last group as RID
ANSWER = {"request_id": RID, "request_type": "household.household_certificate", "status": "received",
          "received_at": "2026-11-28T08:00:00Z", "updated_at": "2026-11-28T08:00:00Z"}  # fmt: skip


class FakeScanner:
    def __init__(self, on_hint: Callable[[str], None], on_found: Callable[[str], None]) -> None:
        self.on_hint, self.on_found = on_hint, on_found
        self.started = self.stopped = False

    def start(self) -> None:
        self.started = True

    def stop(self, join_s: float = 1.0) -> None:
        self.stopped = True


class FakeCamera:
    def __init__(self) -> None:
        self.held: list[Any] = []

    def hold_up(self, image: Any) -> None:
        self.held.append(image)


class FakeOutbox:
    def __init__(self) -> None:
        self.records: dict[str, dict[str, Any]] = {}
        self.latest: str | None = RID

    def record(self, request_id: str) -> dict[str, Any] | None:
        return self.records.get(request_id)

    def latest_id(self) -> str | None:
        return self.latest


class FakeQueue:
    """The request queue: its outbox and a status client answering from ``known``."""

    def __init__(self) -> None:
        self.outbox = FakeOutbox()
        self.known: dict[str, dict[str, Any]] = {RID: ANSWER}
        self.down = False
        self.asked: list[str] = []
        self.closed = 0

    def new_client(self) -> FakeQueue:
        return self

    def close(self) -> None:
        self.closed += 1

    def request_status(self, request_id: str) -> dict[str, Any] | None:
        self.asked.append(request_id)
        if self.down:
            raise BackendUnavailable("backend unreachable: ConnectionError")
        return self.known.get(request_id)

    def requests_by_tail(self, tail: str) -> list[dict[str, Any]]:
        self.asked.append(tail)
        if self.down:
            raise BackendUnavailable("backend unreachable: ConnectionError")
        return [a for rid, a in self.known.items() if rid.endswith(tail)]


class Harness:
    def __init__(self, *, camera_ok: bool = True, demo: bool = False, hold: bool = False) -> None:
        self.queue: FakeQueue | None = FakeQueue()
        self.runner = InlineRunner(hold=hold)
        self.scanners: list[FakeScanner] = []
        self.camera = FakeCamera()
        self.artifacts: dict[str, Any] = {}
        self.lookup = StatusLookup(
            self.artifacts,
            queue=lambda: self.queue,
            tasks=self.runner,
            camera_ok=camera_ok,
            scanners=self._scanner,
            demo_camera=self.camera if demo else None,
            receipt_frame=(lambda rid: f"frame of {rid}") if demo else None,
        )
        self.lookup.open()

    def _scanner(self, on_hint: Callable[[str], None], on_found: Callable[[str], None]) -> FakeScanner:
        scanner = FakeScanner(on_hint, on_found)
        self.scanners.append(scanner)
        return scanner

    @property
    def mode(self) -> str:
        return self.lookup.state.mode

    def type(self, keys: str) -> None:
        for key in keys:
            self.lookup.press(key)


@pytest.fixture
def step() -> Harness:
    return Harness()


def test_opens_on_the_camera_or_without_one_on_the_keypad(step: Harness) -> None:
    assert step.mode == SCAN and step.lookup.state.hint_key == "status.scan.show"
    assert step.scanners[0].started and step.lookup.scanner is step.scanners[0]
    assert not step.lookup.state.wants_next
    keypad = Harness(camera_ok=False)
    assert keypad.mode == TYPE and keypad.scanners == [] and keypad.lookup.state.wants_next
    keypad.lookup.start_scan()  # the "scan" button is hidden; a forwarded touch does nothing
    assert keypad.mode == TYPE and keypad.scanners == []


def test_a_scanned_receipt_is_looked_up(step: Harness) -> None:
    step.scanners[0].on_hint("status.scan.not_receipt")
    assert step.lookup.state.hint_key == "status.scan.not_receipt"
    step.scanners[0].on_found(RID)
    assert step.scanners[0].stopped and step.lookup.scanner is None
    state = step.lookup.state
    assert state.mode == RESULT and state.result_state == "received" and state.view is not None
    assert step.artifacts["status_lookup"] == {"via": "scan", "state": "received"}
    assert step.queue is not None and step.queue.asked == [RID] and step.queue.closed == 1


def test_a_find_after_leaving_the_scan_is_ignored(step: Harness) -> None:
    scanner = step.scanners[0]
    step.lookup.show_keypad()
    assert scanner.stopped and step.mode == TYPE
    scanner.on_found(RID)  # posted before the scanner stopped
    assert step.mode == TYPE and "status_lookup" not in step.artifacts


def test_typing_the_last_group_asks_by_it(step: Harness) -> None:
    step.lookup.show_keypad()
    assert step.lookup.state.wants_next and step.lookup.state.typed == "____ ____ ____"
    step.type("0A1B2C3D4E")
    step.lookup.check()
    assert step.mode == TYPE and step.lookup.state.entry_problem_key == "status.entry.tail_incomplete"
    step.type("5F")
    assert step.lookup.state.entry_problem_key == ""  # typing clears the problem
    step.lookup.press("⌫")
    assert step.lookup.state.typed == "0A1B 2C3D 4E5_"
    step.type("F")
    step.lookup.check()
    assert step.lookup.state.result_state == "received" and step.lookup.state.view.request_id == RID  # type: ignore[union-attr]
    assert step.artifacts["status_lookup"]["via"] == "typed_last_group"
    assert step.queue is not None and step.queue.asked == ["0a1b2c3d4e5f"]


def test_typing_the_whole_number_checks_it_before_asking(step: Harness) -> None:
    step.lookup.show_keypad()
    step.lookup.whole_number(True)
    assert step.lookup.state.full_entry and step.lookup.state.typed.startswith("________-")
    step.type(RID.replace("-", "").replace("7d1e", "4d1e"))  # a slip on the version digit
    step.lookup.check()
    assert step.lookup.state.entry_problem_key == "status.entry.not_a_number" and step.mode == TYPE
    step.lookup.clear()
    assert step.lookup.state.typed == "________-____-____-____-____________"
    step.type(RID.replace("-", ""))
    step.lookup.check()
    assert step.mode == RESULT and step.artifacts["status_lookup"]["via"] == "typed"
    step.lookup.whole_number(False)
    assert not step.lookup.state.full_entry


def test_two_requests_share_the_last_group_then_the_whole_number_is_asked(step: Harness) -> None:
    assert step.queue is not None
    step.queue.known[OTHER] = ANSWER | {"request_id": OTHER}
    step.lookup.show_keypad()
    step.type(RID[-12:])
    step.lookup.check()
    assert step.lookup.state.result_state == "ambiguous" and step.lookup.state.can_try_again
    step.lookup.next_try()
    state = step.lookup.state
    assert state.mode == TYPE and state.full_entry and state.view is None and state.typed.startswith("____")


def test_backend_down_then_retry_finds_it(step: Harness) -> None:
    assert step.queue is not None
    step.queue.down = True
    step.lookup.show_keypad()
    step.lookup.whole_number(True)
    step.type(RID.replace("-", ""))
    step.lookup.check()
    assert step.lookup.state.result_state == "offline" and step.lookup.state.can_try_again
    step.queue.down = False
    step.lookup.next_try()
    assert step.lookup.state.result_state == "received"
    assert step.artifacts["status_lookup"] == {"via": "retry", "state": "received"}


def test_no_request_queue_yet_reads_offline(step: Harness) -> None:
    step.queue = None
    step.lookup.ask(RID, via="typed")
    assert step.lookup.state.result_state == "offline"


def test_unknown_and_queued_here(step: Harness) -> None:
    assert step.queue is not None
    step.lookup.ask(OTHER, via="typed")
    assert step.lookup.state.result_state == "unknown" and not step.lookup.state.can_try_again
    step.queue.outbox.records[OTHER] = {"status": "pending", "request_type": "vehicle.traffic_fine"}
    step.lookup.retry()
    assert step.lookup.state.result_state == "queued_here"


def test_the_latest_question_wins(step: Harness) -> None:
    held = Harness(hold=True)
    held.lookup.ask(RID, via="typed")
    assert held.mode == BUSY
    held.lookup.again()  # back: the first answer is no longer wanted
    assert held.mode == SCAN
    held.lookup.ask(OTHER, via="typed")
    held.runner.finish()  # the first answer arrives late
    assert held.mode == BUSY
    held.runner.finish()
    assert held.lookup.state.view is not None and held.lookup.state.view.request_id == OTHER


def test_back_walks_inside_the_step_before_leaving(step: Harness) -> None:
    step.lookup.ask(RID, via="typed")
    assert step.lookup.back() and step.mode == SCAN and step.lookup.state.view is None
    assert len(step.scanners) == 2 and step.scanners[0].stopped
    step.lookup.show_keypad()
    assert step.lookup.back() and step.mode == SCAN  # keypad -> camera
    assert not step.lookup.back()  # from the start of the look-up: the step leaves
    keypad = Harness(camera_ok=False)
    assert not keypad.lookup.back()
    keypad.lookup.ask(RID, via="typed")
    assert keypad.lookup.back() and keypad.mode == TYPE  # result -> keypad (no camera)


def test_demo_holds_up_the_newest_receipt_and_puts_it_down() -> None:
    demo = Harness(demo=True)
    assert demo.lookup.demo
    demo.lookup.hold_up_receipt()
    assert demo.camera.held == [f"frame of {RID}"] and demo.lookup.held_up
    demo.lookup.show_keypad()  # scanning stops: the receipt is put down
    assert demo.camera.held[-1] is None and not demo.lookup.held_up
    assert not Harness().lookup.demo  # a real camera: no demo button


def test_leaving_stops_the_scan_and_drops_the_answer() -> None:
    held = Harness(hold=True, demo=True)
    held.lookup.hold_up_receipt()
    held.runner.finish("demo-receipt")
    held.lookup.ask(RID, via="typed")
    scanner = held.scanners[0]
    held.lookup.leave()
    held.runner.finish_all()
    assert scanner.stopped and held.camera.held[-1] is None
    assert held.mode == BUSY and "state" not in held.artifacts["status_lookup"]
    held.lookup.open()
    held.lookup.ask(RID, via="retry")
    assert held.runner.pending == [] and len(held.scanners) == 1  # nothing starts after leaving


def test_result_rows_show_the_masked_number_and_what_the_backend_said() -> None:
    def tr(key: str) -> str:
        return key.rsplit(".", 1)[-1]

    def title(_request_type: str) -> str:
        return "户籍证明"

    same = StatusView(
        "received", RID, "household.household_certificate", "2026-11-28 09:30", "2026-11-28 09:30"
    )
    assert result_rows(same, tr, title) == [
        ("number", "0192F3A4-…-4E5F"), ("service", "户籍证明"), ("received_at", "2026-11-28 09:30"),
    ]  # fmt: skip
    rejected = StatusView("rejected", RID, "", "2026-11-28 09:30", "2026-11-28 15:10", "照片不符合要求")
    assert result_rows(rejected, tr, title) == [
        ("number", "0192F3A4-…-4E5F"), ("received_at", "2026-11-28 09:30"),
        ("updated_at", "2026-11-28 15:10"), ("reason", "照片不符合要求"),
    ]  # fmt: skip
