"""Background work that fails, in the real app (Xvfb): the outcome always comes back to the screen.

Two reproductions of issue 16 item 5 and one guard against its opposite: a PIN check that cannot
write the gate's state file (a full or read-only disk) left the PIN pad dead on "checking"; a bug in
a step's background work (here the outbox) left the resident on a spinner until the idle timeout;
and an answer arriving after the resident left the step must not move the flow any more.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.ui.conftest import MAINTENANCE_PIN

pytestmark = pytest.mark.ui


# -- the maintenance PIN check cannot write its state ------------------------------------------------


@pytest.fixture
def unwritable_gate(kiosk: Any, tmp_path: Path) -> Iterator[Any]:
    """The running app's gate with a PIN set and its state file under a path that is a file, not a
    folder: every save fails with an OSError, as on a full or read-only disk (and even for root)."""
    from kiosk.maintenance.gate import hash_pin

    runtime = kiosk.app.runtime
    kiosk.wait_until(lambda: not runtime.pending_roles(), timeout_s=30, what="the devices to open")
    gate = runtime.gate
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    saved_state_file = gate.state_file
    gate.state_file = blocker / "maintenance-state.json"
    gate.pin_hash = hash_pin(MAINTENANCE_PIN)
    try:
        yield gate
    finally:
        gate.state_file = saved_state_file
        gate.pin_hash = ""
        gate._state = {"failures": 0.0, "locked_until": 0.0}


def _enter_pin(kiosk: Any) -> None:
    for digit in MAINTENANCE_PIN:
        kiosk.tap(digit, exact=True)
    kiosk.tap("确定")


def test_a_pin_check_that_cannot_save_leaves_the_pad_usable_with_the_cause(
    kiosk: Any, unwritable_gate: Any, tmp_path: Path
) -> None:
    from kivy.core.window import Window

    for _ in range(5):
        kiosk.tap_at(20, Window.height - 20)
    assert kiosk.screen == "maintenance_pin"
    pad = kiosk.app.screen("maintenance_pin")
    _enter_pin(kiosk)
    kiosk.wait_until(lambda: not pad.busy, timeout_s=20, what="the PIN check to answer")
    assert kiosk.screen == "maintenance_pin"
    assert "暂时无法验证密码" in pad.message, pad.message
    assert "Error" in pad.message  # the technician sees the cause (NotADirectoryError / FileExistsError)
    assert pad.message in kiosk.visible_texts()

    kiosk.tap("1", exact=True)  # the pad still takes keys (before: busy forever, every key ignored)
    assert pad.entry == "1"
    kiosk.tap(next(w for w in kiosk.walk() if getattr(w, "key", None) == "⌫"))  # the delete key
    assert pad.entry == ""
    unwritable_gate.state_file = tmp_path / "maintenance-state.json"  # the technician freed the disk
    _enter_pin(kiosk)
    kiosk.wait_until(lambda: kiosk.screen == "maintenance", timeout_s=20, what="the maintenance screen")
    kiosk.tap("退出维护")
    assert kiosk.screen == "attract"


# -- a step's background work raises what nobody expected ------------------------------------------------


class QueueWithABug:
    """The running request queue, except that ``submit`` raises what no handler expects (a bug,
    like a missing key in an answer), or waits for the test before submitting for real."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.calls = 0
        self.bug: Exception | None = KeyError("sequence")
        self.release = threading.Event()
        self.release.set()
        self.returned = threading.Event()  # the real submit came back

    def submit(self, *args: Any, **kwargs: Any) -> Any:
        self.calls += 1
        self.release.wait(20)
        if self.bug is not None:
            raise self.bug
        try:
            return self.real.submit(*args, **kwargs)
        finally:
            self.returned.set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


@pytest.fixture
def buggy_queue(kiosk: Any) -> Iterator[QueueWithABug]:
    runtime = kiosk.app.runtime
    kiosk.wait_until(lambda: runtime.queue is not None, timeout_s=30, what="the request queue")
    real = runtime.queue
    fake = QueueWithABug(real)
    runtime.queue = fake
    try:
        yield fake
    finally:
        fake.release.set()
        runtime.queue = real


def _to_the_submit_step(kiosk: Any) -> None:
    """The submit test service (tests/ui/form_only_services.toml) up to "confirm and submit"."""
    from types import SimpleNamespace

    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("提交测试业务")
    kiosk.tap("入学")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    kiosk.tap("1", exact=True)
    kiosk.tap("下一步")
    for digit in "13800138000":
        kiosk.tap(digit, exact=True)
    kiosk.tap("下一步")
    kiosk.app.session.identity = SimpleNamespace(
        name="张三丰", id_number="990000199001010017", sex="男", nation="汉",
        birth_date="1990-03-07", address="北京市东城区示例路1号", card_type="resident",
    )  # fmt: skip
    assert kiosk.screen == "review"


def test_an_unexpected_error_in_a_steps_background_work_ends_the_visit_calmly(
    kiosk: Any, buggy_queue: QueueWithABug
) -> None:
    from tests.ui.faults import assert_calm

    before = buggy_queue.real.status()
    _to_the_submit_step(kiosk)
    session = kiosk.app.session
    kiosk.tap("确认无误，提交")
    # before: the worker thread died, the resident read "submitting" until the idle timeout
    kiosk.wait_until(lambda: kiosk.screen == "error", timeout_s=10, what="the calm error screen")
    assert buggy_queue.calls == 1
    assert kiosk.app.session is None and kiosk.app.flow is None
    assert session.wiped and session.values == {} and session.identity is None
    assert_calm(kiosk, kiosk.app.tr("error.body"))
    after = buggy_queue.real.status()
    assert (after.pending, after.dead) == (before.pending, before.dead)  # nothing half-stored
    kiosk.app.cancel()
    assert kiosk.screen == "attract"


def test_an_answer_after_the_resident_left_the_step_moves_nothing(
    kiosk: Any, buggy_queue: QueueWithABug
) -> None:
    buggy_queue.bug = None  # a real submit, only slow
    buggy_queue.release.clear()
    _to_the_submit_step(kiosk)
    kiosk.tap("确认无误，提交")
    kiosk.wait_until(lambda: buggy_queue.calls == 1, timeout_s=10, what="the submit to start")
    assert kiosk.screen == "step"
    # 退出 is shown disabled while submitting; the resident walks away and the visit ends (idle)
    assert kiosk.app.screen("step").ids.action_bar.ids.leave.disabled
    kiosk.app.cancel()
    assert kiosk.screen == "attract" and kiosk.app.session is None
    buggy_queue.release.set()
    assert buggy_queue.returned.wait(20)
    kiosk.frames(10)  # the answer arrives: the step is gone, so it shows nothing and opens nothing
    assert kiosk.screen == "attract" and kiosk.app.session is None and kiosk.app.flow is None
