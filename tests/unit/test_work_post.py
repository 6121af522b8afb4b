"""kiosk/work.py Tasks.post: an engine's own reports reach the owner on the UI thread, and none of
them once the owner is cancelled (the resident left the step)."""

from __future__ import annotations

from collections.abc import Callable

from kiosk.work import Tasks


class QueuedUi:
    """What was posted, run when the test says (the UI thread's next frame)."""

    def __init__(self) -> None:
        self.posted: list[Callable[[], None]] = []

    def post(self, fn: Callable[[], None]) -> None:
        self.posted.append(fn)

    def run_all(self) -> None:
        posted, self.posted = self.posted, []
        for fn in posted:
            fn()


def test_a_posted_report_runs_on_the_next_frame_and_counts_as_busy_until_then() -> None:
    ui, seen = QueuedUi(), []
    tasks = Tasks(ui.post)
    tasks.post(lambda: seen.append("printed"))
    assert seen == [] and tasks.busy
    ui.run_all()
    assert seen == ["printed"] and not tasks.busy


def test_reports_still_on_their_way_are_dropped_once_the_owner_is_cancelled() -> None:
    ui, seen = QueuedUi(), []
    tasks = Tasks(ui.post)
    tasks.post(lambda: seen.append("late frame"))
    tasks.cancel()
    ui.run_all()
    assert seen == [] and not tasks.busy


def test_a_bug_in_a_posted_report_goes_to_on_unexpected() -> None:
    ui, unexpected = QueuedUi(), []
    tasks = Tasks(ui.post, unexpected.append)
    tasks.post(lambda: {}["phase"])  # a KeyError in the engine's callback
    ui.run_all()
    assert len(unexpected) == 1 and isinstance(unexpected[0], KeyError) and not tasks.busy
