"""The rows of the outbox as the rest of the kiosk sees them (no SQLite here): what a submission
returns, the head the delivery thread sends, the counts technicians read, a dead letter.

A row is a resident's request or a help alert (``kind``); both share the table, the states and
the delivery thread (kiosk/queue/outbox.py, kiosk/queue/delivery.py).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

REQUEST, ALERT = "request", "alert"  # the kinds of row


@dataclass(frozen=True)
class Attachment:
    """A file sent with a request (the photo JPEG), identified by its SHA-256."""

    name: str
    media_type: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class SubmittedRequest:
    """What the screen needs once a submission is durable: ``request_id`` (the UUIDv7, the wire's
    and the stores' identity, in the receipt's QR link) and ``number``, the acceptance number
    (受理号, contract/ids.py): the one number a resident sees, hears and types."""

    request_id: str
    sequence: int
    created_at: str
    number: str = ""  # 12 digits; "" for a help alert


@dataclass(frozen=True)
class PendingRequest:
    """The head of the queue, as the delivery thread sees it (``kind``: request or alert)."""

    request_id: str
    sequence: int
    body: bytes
    attempts: int
    next_attempt_ts: float
    kind: str = REQUEST


@dataclass(frozen=True)
class QueueStatus:
    """Counts for the technicians' banner and ``kiosk-tech queue status``: every row, help alerts
    included (an undelivered alert is a stuck queue too); ``alerts_pending`` says how many of the
    pending rows are alerts."""

    pending: int
    acknowledged: int
    dead: int
    oldest_pending_age_s: float | None
    last_error: str
    alerts_pending: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "pending": self.pending,
            "acknowledged": self.acknowledged,
            "dead": self.dead,
            "oldest_pending_age_s": self.oldest_pending_age_s,
            "last_error": self.last_error,
            "alerts_pending": self.alerts_pending,
        }


@dataclass(frozen=True)
class DeadLetter:
    """A request the backend refused for good, as technicians see it (no personal data). Its body
    is purged after ``outbox.keep_dead_days`` (``purged``): it can no longer be retried then."""

    request_id: str
    sequence: int
    request_type: str
    attempts: int
    http_status: int
    answer: str  # the backend's answer body (up to 4000 characters)
    settled_ts: float
    purged: bool = False  # the body (personal data) was deleted after the retention
