"""kiosk/work.py: background work reports exactly one outcome, and nothing once cancelled."""

from __future__ import annotations

import threading

import pytest

from kiosk.work import Tasks, install_excepthook
from tests.conftest import FakeUiThread


def test_the_result_comes_back_on_the_ui_thread_only_when_it_runs() -> None:
    ui, seen = FakeUiThread(), []
    tasks = Tasks(ui.post)
    tasks.run(lambda: 6 * 7, seen.append, name="answer")
    assert seen == []  # the worker finished, but the UI thread has not run yet
    ui.run_next()
    assert seen == [42]
    assert not tasks.busy


def test_an_expected_failure_goes_to_on_error_not_to_on_done() -> None:
    ui, done, failed = FakeUiThread(), [], []

    def work() -> int:
        raise TimeoutError("backend timed out")

    Tasks(ui.post).run(work, done.append, failed.append, name="lookup")
    ui.run_next()
    assert done == [] and [str(e) for e in failed] == ["backend timed out"]


def test_an_unexpected_failure_reaches_on_unexpected_with_the_exception() -> None:
    ui, unexpected = FakeUiThread(), []

    def work() -> dict[str, str]:
        return {}

    tasks = Tasks(ui.post, unexpected.append)
    tasks.run(work, lambda answer: print(answer["verified"]), name="verify")  # KeyError in the callback
    ui.run_next()
    assert len(unexpected) == 1 and isinstance(unexpected[0], KeyError)

    def broken() -> int:
        raise OSError(28, "No space left on device")

    tasks.run(broken, lambda _r: None, name="pin-check")  # no on_error: unexpected
    ui.run_next()
    assert isinstance(unexpected[1], OSError) and unexpected[1].errno == 28


def test_cancel_drops_an_answer_still_on_its_way() -> None:
    ui, seen, release = FakeUiThread(), [], threading.Event()
    tasks = Tasks(ui.post)

    def slow() -> str:
        release.wait(5)
        return "late"

    task = tasks.run(slow, seen.append, name="slow")
    assert tasks.busy
    tasks.cancel()  # the resident left the step
    release.set()
    ui.run_next()
    assert seen == [] and task.finished.is_set() and task.cancelled


def test_a_dying_thread_is_logged_and_reported(caplog: pytest.LogCaptureFixture) -> None:
    ui, unexpected = FakeUiThread(), []
    before = threading.excepthook
    restore = install_excepthook(ui.post, unexpected.append)
    try:
        thread = threading.Thread(target=lambda: 1 / 0, name="camera-frames")
        thread.start()
        thread.join()
        ui.run_next()
    finally:
        restore()
    assert isinstance(unexpected[0], ZeroDivisionError)
    assert "thread camera-frames died" in caplog.text
    assert threading.excepthook is before
