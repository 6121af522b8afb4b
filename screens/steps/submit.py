"""Submit: the request is committed to the outbox (fsync'ed) on a worker thread; only then does
the flow move on and the resident see "submitted". A full disk or a damaged outbox is a calm
message and a way out, and nothing about the resident is kept. Any other exception is a bug: the
visit ends calmly through the app's ``fail`` (``self.tasks``) instead of a spinner forever."""

from __future__ import annotations

import logging
from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from contract.schemas import SchemaViolation
from drivers.errors import DeviceError
from kiosk.errors import KioskError, StorageError
from kiosk.queue.outbox import Attachment
from kiosk.services.payloads import build_payload
from screens.steps.base import StepBase, StepResult

log = logging.getLogger(__name__)

EXPECTED = (KioskError, DeviceError, SchemaViolation, OSError)  # a calm message; anything else: fail


class SubmitStep(StepBase):
    message = StringProperty("")
    failed = BooleanProperty(False)

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        self.message = self.app.tr("submit.working")
        self.busy = True  # back and leave wait until the request is safe (or refused)
        self.submit()

    def submit(self) -> None:
        queue = self.app.runtime.queue
        if queue is None:
            self._failed("queue not started")
            return
        service, session = self.flow.service, self.flow.session
        payload = build_payload(service, session)
        attachments = []
        if session.photo_jpeg:
            attachments.append(Attachment("photo", "image/jpeg", session.photo_jpeg))
        for name, png in session.artifacts.get("fingerprint_scans", ()):  # kiosk/steps/fingerprint.py
            attachments.append(Attachment(name, "image/png", png))

        def work() -> Any:
            return queue.submit(
                service.request_type,
                service.request_version,
                payload,
                attachments,
                request_id=session.artifacts.get("request_id"),  # reserved by the face check, if any
            )

        # a resident who left meanwhile gets nothing: the request stays queued (teardown cancels)
        self.tasks.run(work, self._done, self._refused, name="submit")

    def _done(self, submitted: Any) -> None:
        log.info("session %s: request %s queued", self.flow.session.id, submitted.request_id)
        self.flow.session.artifacts["submitted"] = submitted
        self.app.step_done()

    def _refused(self, exc: Exception) -> None:
        if not isinstance(exc, EXPECTED):
            raise exc  # not a storage or validation problem: Tasks hands it to the app's fail
        key = "queue.storage_full" if isinstance(exc, StorageError | OSError) else "submit.failed"
        self._failed(f"{type(exc).__name__}: {exc}", key)

    def _failed(self, detail: str, key: str = "submit.failed") -> None:
        log.error("submit failed: %s", detail)
        self.failed = True
        self.busy = False
        self.message = self.app.tr(key)
        self.result = StepResult("problem", "result.submit_failed.title", key)
