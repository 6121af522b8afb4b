"""The print step's engine (pure Python; the Kivy screen only shows its state and calls it).

States: ``printing`` (progress) -> ``printed`` (the printer confirmed) or ``failed`` (a calm
message key, the request number and a QR to photograph; ``reprint()`` tries again). The request
is already in the outbox before this step runs, so a failed print never loses it.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.printer.base import ReceiptPrinter
from kiosk.documents.model import Document
from kiosk.printing.receipt_printer import PrintOutcome, print_in_background
from kiosk.work import Tasks

Post = Callable[[Callable[[], None]], None]


@dataclass(frozen=True)
class PrintStepState:
    """What the screen shows. ``phase``: printing | printed | failed. On failure ``message_key``
        explains; the screen shows the acceptance number and ``status_url`` as a QR code (``request_id``
    is for the logs: no UUID reaches the resident)."""

    phase: str
    message_key: str
    request_id: str
    status_url: str
    attempts: int
    outcome: PrintOutcome | None = None

    @property
    def can_reprint(self) -> bool:
        return self.phase == "failed"


class PrintStep:
    """Prints ``document`` on a worker thread; ``on_change(state)`` runs through ``post``.

    ``printer`` is the receipt printer for receipts, the A4 printer (CUPS or simulated) for
    ``kind == "a4"`` documents; ``None`` when the device failed to open."""

    def __init__(
        self,
        printer: ReceiptPrinter | Any | None,
        document: Document,
        *,
        request_id: str,
        status_url: str,
        post: Post,
        on_change: Callable[[PrintStepState], None],
    ) -> None:
        self._printer = printer
        self._document = document
        self._post = post
        self._tasks = Tasks(post)  # kiosk/work.py: the job on a worker thread, its outcome via post
        self._on_change = on_change
        self._lock = threading.Lock()
        self.state = PrintStepState("idle", "", request_id, status_url, 0)

    def start(self) -> None:
        """Begin (or, after a failure, repeat) printing. Ignored while a job is running."""
        with self._lock:
            if self.state.phase == "printing":
                return
            attempts = self.state.attempts + 1
            self._set(PrintStepState("printing", "printing.progress", *self._ids(), attempts))
        if self._printer is None:  # the printer failed to open: go straight to the fallback
            self._post(lambda: self._finish(None))
            return
        print_in_background(self._printer, self._document, self._tasks, self._finish)

    reprint = start

    def _ids(self) -> tuple[str, str]:
        return self.state.request_id, self.state.status_url

    def _finish(self, outcome: PrintOutcome | None) -> None:
        with self._lock:
            attempts = self.state.attempts
            if outcome is not None and outcome.ok:
                state = PrintStepState("printed", outcome.message_key, *self._ids(), attempts, outcome)
            else:
                key = outcome.message_key if outcome is not None else "printing.failed.offline"
                state = PrintStepState("failed", key, *self._ids(), attempts, outcome)
            self._set(state)

    def _set(self, state: PrintStepState) -> None:
        self.state = state
        self._on_change(state)
