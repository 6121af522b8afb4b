"""The status look-up's mode machine without Kivy (kiosk/steps/status_lookup.py): scan, type, busy,
result; a fake scanner, camera and request queue; the background calls run on the spot."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

import pytest

from contract.ids import acceptance_number
from kiosk.errors import BackendUnavailable
from kiosk.steps.status import HolderItem, StatusView
from kiosk.steps.status_lookup import BUSY, RESULT, SCAN, TYPE, StatusLookup, result_rows
from tests.unit.engine_fakes import InlineRunner

RID = "0192f3a4-9b2c-7d1e-8f00-0a1b2c3d4e5f"
OTHER = "0193aaaa-9b2c-7d1e-8f00-0a1b2c3d4e5f"
NUMBER = acceptance_number(42, dt.date(2026, 11, 28), 57)
HOLDER = "110101199003070015"
ANSWER = {"request_id": RID, "request_type": "household.household_certificate", "status": "received",
          "received_at": "2026-11-28T08:00:00Z", "updated_at": "2026-11-28T08:00:00Z",
          "acceptance_number": NUMBER}  # fmt: skip
HOLDER_LIST = [
    {"acceptance_number": NUMBER, "request_type": "household.household_certificate", "status": "done",
     "received_at": "2026-11-28T08:00:00Z", "updated_at": "2026-11-29T08:00:00Z"},
    {"acceptance_number": None, "request_type": "photo.id_photo", "status": "received",
     "received_at": "2025-01-02T08:00:00Z", "updated_at": None},
]  # fmt: skip


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

        self.by_number: dict[str, dict[str, Any]] = {}

    def record(self, request_id: str) -> dict[str, Any] | None:
        return self.records.get(request_id)

    def record_by_number(self, number: str) -> dict[str, Any] | None:
        return self.by_number.get(number)

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

    def request_by_number(self, number: str) -> dict[str, Any] | None:
        self.asked.append(f"number:{number}")
        if self.down:
            raise BackendUnavailable("backend unreachable: ConnectionError")
        return next((a for a in self.known.values() if a.get("acceptance_number") == number), None)

    def requests_by_holder(self, id_number: str) -> list[dict[str, Any]]:
        self.asked.append(f"holder:{id_number}")
        if self.down:
            raise BackendUnavailable("backend unreachable: ConnectionError")
        return HOLDER_LIST if id_number == HOLDER else []


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
            card_ok=True,
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


def test_the_main_button_checks_while_typing_and_finishes_on_a_result(step: Harness) -> None:
    """UX.md: the main action is the action bar's right slot, never a button in the body."""
    assert step.lookup.state.main_action == ""  # scanning: nothing to confirm
    step.lookup.show_keypad()
    assert step.lookup.state.main_action == "check"
    step.scanners[0].on_found(RID)  # (ignored: the scan was left)
    step.lookup.start_scan()
    step.scanners[-1].on_found(RID)
    assert step.mode == RESULT and step.lookup.state.main_action == "finish"


def test_a_find_after_leaving_the_scan_is_ignored(step: Harness) -> None:
    scanner = step.scanners[0]
    step.lookup.show_keypad()
    assert scanner.stopped and step.mode == TYPE
    scanner.on_found(RID)  # posted before the scanner stopped
    assert step.mode == TYPE and "status_lookup" not in step.artifacts


def test_typing_the_acceptance_number_asks_by_it(step: Harness) -> None:
    step.lookup.show_keypad()
    assert step.lookup.state.wants_next and step.lookup.state.typed == "____ ____ ____"
    step.type(NUMBER[:10])
    assert step.lookup.state.typed == f"{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:10]}__"
    step.lookup.check()
    assert step.mode == TYPE and step.lookup.state.entry_problem_key == "status.entry.incomplete"
    step.type("AF京")  # not digits: nothing typed
    assert step.lookup.state.typed.endswith("__")
    step.type(NUMBER[10:])
    assert step.lookup.state.entry_problem_key == ""  # typing clears the problem
    step.lookup.press("⌫")
    assert step.lookup.state.typed == f"{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:11]}_"
    step.type(NUMBER[11])
    step.lookup.check()
    view = step.lookup.state.view
    assert step.lookup.state.result_state == "received" and view is not None and view.number == NUMBER
    assert view.shown_number == f"{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:]}"
    assert step.artifacts["status_lookup"]["via"] == "typed"
    assert step.queue is not None and step.queue.asked == [f"number:{NUMBER}"]


@pytest.mark.parametrize("typo", ["one digit", "swapped neighbours"])
def test_a_wrong_check_digit_is_refused_before_any_network_call(step: Harness, typo: str) -> None:
    if typo == "one digit":
        wrong = NUMBER[:5] + str((int(NUMBER[5]) + 3) % 10) + NUMBER[6:]
    else:
        i = next(i for i in range(11) if NUMBER[i] != NUMBER[i + 1])
        wrong = NUMBER[:i] + NUMBER[i + 1] + NUMBER[i] + NUMBER[i + 2 :]
    step.lookup.show_keypad()
    step.type(wrong)
    step.lookup.check()
    assert step.mode == TYPE and step.lookup.state.entry_problem_key == "status.entry.check_failed"
    assert step.queue is not None and step.queue.asked == [] and step.runner.pending == []
    assert "status_lookup" not in step.artifacts
    step.lookup.clear()
    assert step.lookup.state.typed == "____ ____ ____" and step.lookup.state.entry_problem_key == ""


def test_a_number_not_at_the_backend_yet_but_in_the_outbox_is_queued_here(step: Harness) -> None:
    assert step.queue is not None
    other = acceptance_number(7, dt.date(2026, 12, 1), 8)
    step.queue.outbox.by_number[other] = {"status": "pending", "request_type": "vehicle.traffic_fine",
                                          "request_id": OTHER, "number": other}  # fmt: skip
    step.lookup.show_keypad()
    step.type(other)
    step.lookup.check()
    view = step.lookup.state.view
    assert view is not None and (view.state, view.number) == ("queued_here", other)


def test_laying_the_id_card_lists_the_holders_own_requests(step: Harness) -> None:
    assert step.queue is not None and step.lookup.state.card_ok
    step.lookup.card_read(HOLDER)
    state = step.lookup.state
    assert state.mode == RESULT and state.result_state == "holder_list" and state.view is not None
    assert [item.number for item in state.view.items] == [NUMBER, ""]
    assert step.scanners[0].stopped
    assert step.queue.asked == [f"holder:{HOLDER}"]
    assert HOLDER not in repr(step.artifacts) and step.artifacts["status_lookup"]["via"] == "card"
    step.lookup.card_read(HOLDER)  # a second read while the list shows: nothing asked
    assert step.queue.asked == [f"holder:{HOLDER}"]
    step.lookup.again()
    step.lookup.show_keypad()
    step.lookup.card_read("990000199001010009")  # another card, nothing filed for it
    assert step.lookup.state.result_state == "holder_none"


def test_a_card_while_offline_then_retry(step: Harness) -> None:
    assert step.queue is not None
    step.queue.down = True
    step.lookup.card_read(HOLDER)
    assert step.lookup.state.result_state == "offline" and step.lookup.state.can_try_again
    step.queue.down = False
    step.lookup.next_try()
    assert step.lookup.state.result_state == "holder_list"
    step.lookup.leave()
    assert step.lookup._last is None  # the ID number is not kept after the step


def test_backend_down_then_retry_finds_it(step: Harness) -> None:
    assert step.queue is not None
    step.queue.down = True
    step.lookup.show_keypad()
    step.type(NUMBER)
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


def test_result_rows_show_the_grouped_number_and_what_the_backend_said() -> None:
    def tr(key: str) -> str:
        return key.rsplit(".", 1)[-1]

    def title(_request_type: str) -> str:
        return "户籍证明"

    grouped = f"{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:]}"
    same = StatusView(
        "received",
        RID,
        "household.household_certificate",
        "2026-11-28 09:30",
        "2026-11-28 09:30",
        number=NUMBER,
    )
    assert result_rows(same, tr, title) == [
        ("number", grouped), ("service", "户籍证明"), ("received_at", "2026-11-28 09:30"),
    ]  # fmt: skip
    rejected = StatusView("rejected", RID, "", "2026-11-28 09:30", "2026-11-28 15:10", "照片不符合要求")
    assert result_rows(rejected, tr, title) == [  # a request from before the 受理号: no number, no UUID
        ("received_at", "2026-11-28 09:30"), ("updated_at", "2026-11-28 15:10"), ("reason", "照片不符合要求"),
    ]  # fmt: skip
    listed = StatusView("holder_list", "", items=(HolderItem(NUMBER, "x.y", "done", "2026-11-28 09:30"),))
    assert result_rows(listed, tr, title) == [(grouped, "户籍证明，2026-11-28 09:30，done")]
    for rows in (result_rows(same, tr, title), result_rows(rejected, tr, title)):
        assert all(RID not in value and RID[-12:] not in value for _label, value in rows)
