"""Print step: every document of the step, one after another, with progress; success only when
the printer confirmed. A failure is good news with a problem (the request is already safe in the
outbox), shown in the result template: the acceptance number (受理号) and a QR of its status page,
完成 as the main button, and 重新打印 only as a second choice (never the main one while the paper is
out). The print engine reports through ``self.tasks.post``: an answer arriving after the resident
left is dropped."""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from contract.ids import group_number
from kiosk.printing.jobs import PrintJob, build_jobs
from screens.steps.base import StepBase, StepResult

log = logging.getLogger(__name__)

# printer states a reprint cannot mend until someone services the printer: 重新打印 is not the main
# button then (UX.md); after an interrupted or unconfirmed print it is
NEEDS_SERVICE = frozenset({"paper_out", "cover_open", "offline", "cutter_error", "error"})


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
        self.busy = self.phase == "printing"
        if self.phase == "failed":
            cause = self._key.rpartition(".")[2]
            app = self.app
            number = (
                app.tr("printing.request_number", number=self.request_number) if self.request_number else ""
            )
            title = f"result.printer.{cause if cause in NEEDS_SERVICE else 'unknown'}"
            self.result = StepResult(
                "ok_problem", title, "result.printer.body", retry_key="printing.reprint",
                home_key="app.finish", detail=number, retry_main=cause not in NEEDS_SERVICE,
                qr=self.qr_texture,
            )  # fmt: skip
        else:
            self.result = None

    def result_action(self, action: str) -> None:
        if action == "retry":
            self.reprint()
        else:
            self.finish_without_paper()

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
        if self.qr_texture is None and self.request_id:
            from screens.steps.lookups import qr_texture

            self.qr_texture = qr_texture(self.status_url)
        self.refresh_texts()

    def reprint(self) -> None:
        if self.can_reprint:
            self._next()

    def finish_without_paper(self) -> None:
        """The resident keeps the number shown on screen; the request is already submitted."""
        self.teardown()
        self.app.step_done()
