"""Print step: every document of the step, one after another, with progress; success only when
the printer confirmed. On failure the resident sees the acceptance number (受理号) and a QR of its status page
to photograph, and can reprint or finish: the request is already safe in the outbox. The print
engine reports through ``self.tasks.post``: an answer arriving after the resident left is dropped."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from contract.ids import group_number
from kiosk.printing.jobs import PrintJob, build_jobs
from screens.steps.base import StepBase

log = logging.getLogger(__name__)


class PrintingStep(StepBase):
    phase = StringProperty("printing")  # printing | failed
    message = StringProperty("")
    request_number = StringProperty("")
    qr_texture = ObjectProperty(None, allownone=True)
    can_reprint = BooleanProperty(False)

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        app = self.app
        submitted = flow.session.artifacts.get("submitted")
        self.request_id = getattr(submitted, "request_id", "") or ""  # inside the QR code only
        number = getattr(submitted, "number", "") or ""
        self.request_number = group_number(number) if number else ""  # the 受理号 on screen
        self.status_url = app.runtime.config.kiosk.status_base_url + self.request_id
        self._jobs: list[PrintJob] = build_jobs(
            step, flow.service, flow.session, app.runtime.config, dt.datetime.now()
        )
        self._key = "printing.progress"
        self._next()

    def refresh_texts(self) -> None:
        self.message = self.app.tr(self._key)

    def _next(self) -> None:
        if not self._jobs:
            self.teardown()
            self.app.step_done()
            return
        job = self._jobs[0]
        self.phase, self._key, self.can_reprint = "printing", "printing.progress", False
        self.refresh_texts()
        printer = self.app.runtime.devices.get(job.target)  # None (failed to open): straight to fallback
        from kiosk.printing.print_step import PrintStep

        engine = PrintStep(
            printer, job.document, request_id=self.request_id, status_url=self.status_url,
            post=self.tasks.post, on_change=self._receipt_state,
        )  # fmt: skip
        engine.start()

    def _receipt_state(self, state: Any) -> None:
        if state.phase == "printed":
            self._printed()
        elif state.phase == "failed":
            self._failed(state.message_key, getattr(state.outcome, "detail", ""))

    def _printed(self) -> None:
        if self._jobs:
            log.info("printed %s for request %s", self._jobs[0].name, self.request_id)
            self._jobs.pop(0)
            self._next()

    def _failed(self, key: str, detail: str) -> None:
        log.warning("printing %s failed: %s %s", self._jobs[0].name if self._jobs else "?", key, detail)
        self.phase, self._key, self.can_reprint = "failed", key, True
        self.refresh_texts()
        if self.qr_texture is None and self.request_id:
            from screens.steps.lookups import qr_texture

            self.qr_texture = qr_texture(self.status_url)

    def reprint(self) -> None:
        if self.can_reprint:
            self._next()

    def finish_without_paper(self) -> None:
        """The resident keeps the number shown on screen; the request is already submitted."""
        self.teardown()
        self.app.step_done()
