"""Queue view: pending requests, the oldest one's age, the last delivery error, and the dead
letters with the backend's answer (status code and the start of its body), each with a retry
button, plus "retry all". Every retry is written to the audit log; the SQLite reads and writes
run on a worker thread."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.factory import Factory
from kivy.properties import BooleanProperty, StringProperty

from screens.maintenance.page import MaintenancePage

REFRESH_S = 2.0
SHOWN_DEAD = 30


class QueuePage(MaintenancePage):
    summary = StringProperty("")
    note = StringProperty("")  # the result of the last retry
    retrying = BooleanProperty(False)  # a retry is being written (refreshes may run meanwhile)

    def open(self) -> None:
        super().open()
        self.retrying = False
        self._shown: list[str] | None = None  # ids of the dead letters drawn; None: draw anew
        self.note = ""
        self._event = Clock.schedule_interval(lambda _dt: self.refresh(), REFRESH_S)
        self.refresh()

    def close(self) -> None:
        super().close()
        self._event.cancel()

    def _queue(self) -> Any:
        return self.runtime.queue

    def refresh(self) -> None:
        if self.busy:
            return
        queue = self._queue()
        if queue is None:
            error = self.runtime.queue_error
            self.summary = self.app.tr("maint.queue.unavailable", cause=error or "starting")
            return
        from kiosk.maintenance.diagnostics import QueueView

        def work() -> QueueView:
            return QueueView(queue.status(), queue.outbox.dead_letters(SHOWN_DEAD))

        self.in_background(work, self._show, name="queue-view")

    def _show(self, view: Any) -> None:
        from kiosk.maintenance.diagnostics import dead_letter_text, queue_lines

        self.summary = "\n".join(queue_lines(view))
        ids = [d.request_id for d in view.dead]
        if ids == self._shown:
            return
        self._shown = ids
        box = self.ids.dead_list
        box.clear_widgets()
        if not view.dead:
            box.add_widget(Factory.KMuted(text=self.app.tr("maint.queue.no_dead")))
        for dead in view.dead:
            row = Factory.DeadLetterRow()
            row.text = dead_letter_text(dead)
            row.request_id = dead.request_id
            row.page = self
            box.add_widget(row)

    def show_error(self, exc: BaseException) -> None:
        self.summary = f"{type(exc).__name__}: {exc}"

    def retry(self, request_id: str | None) -> None:
        """Queue one dead letter (or all of them, ``None``) again and wake delivery; audited."""
        queue = self._queue()
        if queue is None or self.retrying:
            return
        self.retrying = True

        detail = {"request_id": request_id} if request_id else {"all": True}

        def work() -> int:
            try:
                n: int = queue.outbox.retry_dead(request_id)
            except Exception as exc:
                self.audit("maintenance.queue_retry", "failed", detail=str(exc), **detail)
                raise
            # audited here, not in done(): the entry must exist even if the page is left meanwhile
            self.audit("maintenance.queue_retry", "ok" if n else "nothing", count=n, **detail)
            queue.worker.wake()
            return n

        def done(n: int) -> None:
            self.retrying = False
            self.note = self.app.tr("maint.queue.retried", count=n)
            self._shown = None

        def failed(exc: BaseException) -> None:
            self.retrying = False
            self.note = f"{type(exc).__name__}: {exc}"

        self.in_background(work, done, failed, name="queue-retry", mark_busy=False)


PAGE_CLASS = QueuePage
