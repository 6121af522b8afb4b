"""How long the outbox keeps what it holds, applied by the delivery thread (hourly) and by
``kiosk-tech queue prune``.

- Acknowledged rows (receipt and metadata, no personal data) are deleted after
  ``outbox.keep_acknowledged_days`` (0: kept forever).
- A dead letter's body (the resident's envelope: ID number, photos) is purged after
  ``outbox.keep_dead_days`` (default 30): the row, its metadata and the backend's refusal stay, so
  technicians still see what was refused, but it can no longer be retried.
- Pending requests are never touched.

Each purge writes one audit-style log line naming the requests by sequence number and id (no
personal data). The maintenance audit log (``audit.jsonl``) is not reachable from the queue, so
the technician's log is where the purge is recorded.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from kiosk.config.model import KioskConfig
from kiosk.queue.outbox import Outbox

log = logging.getLogger(__name__)

DAY_S = 86400.0


@dataclass(frozen=True)
class Retention:
    """Retention periods in seconds; 0 keeps that kind of row (or body) forever."""

    keep_acknowledged_s: float = 0.0
    keep_dead_s: float = 0.0

    @classmethod
    def from_config(cls, config: KioskConfig) -> Retention:
        return cls(config.outbox.keep_acknowledged_days * DAY_S, config.outbox.keep_dead_days * DAY_S)


@dataclass(frozen=True)
class Pruned:
    """What one pass deleted: acknowledged rows, and dead letters whose body was purged."""

    acknowledged: int = 0
    dead_purged: int = 0


def apply_retention(outbox: Outbox, retention: Retention, now: float) -> Pruned:
    """Delete old acknowledged rows and purge old dead letters' bodies; log what was done."""
    deleted = 0
    if retention.keep_acknowledged_s > 0:
        deleted = outbox.prune_acknowledged(now - retention.keep_acknowledged_s)
        if deleted:
            days = retention.keep_acknowledged_s / DAY_S
            log.info("outbox: deleted %d acknowledged requests settled over %g days ago", deleted, days)
    purged = []
    if retention.keep_dead_s > 0:
        purged = outbox.purge_dead_bodies(now - retention.keep_dead_s)
        if purged:
            names = ", ".join(
                f"seq {d.sequence} {d.request_id} ({d.request_type}, HTTP {d.http_status})" for d in purged
            )
            log.warning(
                "audit: outbox.purge_dead: purged the bodies (personal data) of %d dead-lettered"
                " requests refused over %g days ago; their rows and the backend's answers stay: %s",
                len(purged),
                retention.keep_dead_s / DAY_S,
                names,
            )
    return Pruned(deleted, len(purged))
