"""Submit: the request is committed to the outbox (fsync'ed) on a worker thread; only then does
the flow move on and the resident see "submitted". A full disk or a damaged outbox is a calm
message and a way out, and nothing about the resident is kept."""

from __future__ import annotations

import logging
import threading
from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from contract.schemas import SchemaViolation
from drivers.errors import DeviceError
from kiosk.errors import KioskError, StorageError
from kiosk.queue.outbox import Attachment
from kiosk.services.payloads import build_payload

log = logging.getLogger(__name__)


class SubmitStep(BoxLayout):
    message = StringProperty("")
    failed = BooleanProperty(False)

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow = flow
        self.step = step
        self._alive = True
        self.message = self.app.tr("submit.working")
        self.submit()

    @property
    def app(self) -> Any:
        return App.get_running_app()

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

        def work() -> None:
            try:
                submitted = queue.submit(service.request_type, service.request_version, payload, attachments)
            except (KioskError, DeviceError, SchemaViolation, OSError) as exc:
                error = exc
                key = "queue.storage_full" if isinstance(exc, StorageError | OSError) else "submit.failed"
                self.app.post(lambda: self._failed(f"{type(error).__name__}: {error}", key))
                return
            self.app.post(lambda: self._done(submitted))

        threading.Thread(target=work, name="submit", daemon=True).start()

    def _done(self, submitted: Any) -> None:
        if not self._alive:
            return  # the resident left meanwhile: the request stays queued, nothing else to do
        log.info("session %s: request %s queued", self.flow.session.id, submitted.request_id)
        self.flow.session.artifacts["submitted"] = submitted
        self.app.step_done()

    def _failed(self, detail: str, key: str = "submit.failed") -> None:
        log.error("submit failed: %s", detail)
        if self._alive:
            self.failed = True
            self.message = self.app.tr(key)

    def teardown(self) -> None:
        self._alive = False
