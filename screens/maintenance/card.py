"""Card-read test: lay a card on the reader and see the masked result (name, ID number, card type,
read time, the reader's status word), or the refusal / failure with its exact cause.

It asks the running :class:`~kiosk.steps.card_worker.CardReaderWorker` for a read, like the read-ID step
does, so nothing else talks to the port. The attract screen's "card placed starts a visit" only
reacts while the attract screen shows, so the test never starts a visit; leaving the page cancels
the request so the next resident's step starts clean.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.properties import StringProperty

from screens.maintenance.page import MaintenancePage


class CardTestPage(MaintenancePage):
    state = StringProperty("")  # what the reader is doing, in the technician's words
    result = StringProperty("")  # the last result, masked

    def open(self) -> None:
        super().open()
        self._unsubscribe: Callable[[], None] | None = None
        self.result = ""
        worker = self._worker()
        if worker is None:
            self.state = self._reader_cause()
            return
        self._unsubscribe = worker.subscribe(self._on_event)
        status = worker.status
        self.state = self._status_text(status.status, status.detail)
        worker.request_read()

    def close(self) -> None:
        super().close()
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        worker = self._worker()
        if worker is not None:
            worker.cancel_read()

    def read_again(self) -> None:
        worker = self._worker()
        if worker is None:
            self.state = self._reader_cause()
            return
        if self._unsubscribe is None:
            self._unsubscribe = worker.subscribe(self._on_event)
        self.result = ""
        self.state = self.app.tr("maint.card.place")
        worker.request_read()

    def _worker(self) -> Any:
        device = self.runtime.devices.get("card_reader")
        return getattr(device, "worker", None)

    def _reader_cause(self) -> str:
        health = self.runtime.device_health("card_reader")
        if health is None:
            return self.app.tr("maint.card.none")
        return self.app.tr("maint.card.down", code=health.code, detail=health.detail)

    def _status_text(self, status: str, detail: str) -> str:
        if status == "ready":
            return self.app.tr("maint.card.place") + (f"  ({detail})" if detail else "")
        return self.app.tr("maint.card.down", code=status, detail=detail)

    def _on_event(self, event: Any) -> None:
        from kiosk.maintenance.diagnostics import card_test_lines
        from kiosk.steps.card_worker import CardPlaced, CardRead, CardRemoved, ReaderStatus, ReadFailed

        # no "is the page open?" check: the worker hands events to the listeners subscribed when it
        # delivers them, on the UI thread, and ``close`` unsubscribes this one
        if isinstance(event, ReaderStatus):
            self.state = self._status_text(event.status, event.detail)
        elif isinstance(event, CardPlaced):
            self.state = self.app.tr("maint.card.reading")
        elif isinstance(event, CardRemoved):
            self.state = self.app.tr("maint.card.removed")
        elif isinstance(event, CardRead | ReadFailed):
            self.result = "\n".join(card_test_lines(event))
            if isinstance(event, CardRead):
                self.state = self.app.tr("maint.card.done")
                refused = ",".join(r.code for r in event.refusals)
                self.audit(
                    "maintenance.card_test",
                    "refused" if refused else "ok",
                    card_type=event.card.card_type.value,
                    read_ms=round(event.read_ms),
                    status_word=event.status_word,
                    refusals=refused,
                )
            else:
                self.state = self.app.tr("maint.card.failed")
                self.audit("maintenance.card_test", "failed", reason=event.reason, detail=event.detail)


PAGE_CLASS = CardTestPage
