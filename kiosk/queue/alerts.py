"""Alerts: staff must come to this kiosk. Two kinds: ``help`` (a resident touched 呼叫帮助) and
``maintenance_lockout`` (wrong maintenance PINs locked the technicians' pad: a prankster, or a
technician who forgot the PIN; kiosk/maintenance/gate.py).

An alert is a row of the one outbox (``kind = 'alert'``, kiosk/queue/outbox.py) delivered by the one
delivery thread (kiosk/queue/delivery.py), signed like requests, to ``POST /v1/alerts``, with the
same backoff. This module holds only what is particular to alerts: the wire body, which carries no
personal data (the kiosk id, where the resident is: screen, service, step, and when), and the
one-time import of the queue that kiosks kept before, ``<data_dir>/alerts.db``. The alert id makes a
retry harmless: the backend keeps one row per id.

Raising one goes through :meth:`kiosk.queue.runtime.QueueServices.raise_help` (one alert per visit
is the assistance bar's rule, screens/assist/assist.py) or ``raise_alert(kind, ...)`` for the others.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import time
from calendar import timegm
from pathlib import Path

from contract.ids import uuid7
from kiosk.queue.outbox import Outbox

log = logging.getLogger(__name__)

LEGACY_FILE = "alerts.db"  # in the data dir, from before alerts were outbox rows
HELP = "help"
MAINTENANCE_LOCKOUT = "maintenance_lockout"
KINDS = (HELP, MAINTENANCE_LOCKOUT)  # the kinds backend/alerts.py accepts


def alert_document(
    kiosk_id: str, kind: str, now: float, *, screen: str = "", service: str = "", step: str = ""
) -> dict[str, str]:
    """The wire body of ``POST /v1/alerts`` (exactly the fields backend/alerts.py accepts): which
    kiosk, what kind, where on the kiosk and when; nothing about a person. ValueError for a kind
    the backend does not know (it would dead-letter the row)."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r} (known: {', '.join(KINDS)})")
    return {
        "alert_id": str(uuid7()),
        "kiosk_id": kiosk_id,
        "kind": kind,
        "screen": screen,
        "service": service,
        "step": step,
        "raised_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
    }


def help_alert(kiosk_id: str, screen: str, service: str, step: str, now: float) -> dict[str, str]:
    """A resident's help alert: where they are (screen, service, step)."""
    return alert_document(kiosk_id, HELP, now, screen=screen, service=service, step=step)


def _raised_ts(raised_at: str) -> float:
    try:
        return float(timegm(time.strptime(raised_at, "%Y-%m-%dT%H:%M:%SZ")))
    except ValueError:
        return time.time()


def import_legacy_alerts(outbox: Outbox, path: Path) -> int:
    """Move the alerts still pending in an old ``alerts.db`` into the outbox, once: the file is
    renamed ``alerts.db.imported`` afterwards. Returns how many were queued. An import cut short
    (a crash) is repeated harmlessly: the outbox keeps one row per alert id. A file that cannot be
    read is left where it is for the technician (StorageError from the outbox still raises)."""
    if not path.exists():
        return 0
    try:
        db = sqlite3.connect(path)  # read-write: a crashed kiosk's log is recovered, then folded in
        try:
            rows = db.execute(
                "SELECT alert_id, body FROM alerts WHERE status = 'pending' ORDER BY raised_at"
            ).fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        log.error("help alerts in %s not imported (left in place): %s", path, exc)
        return 0
    for alert_id, body in rows:
        try:
            document = json.loads(body)
        except ValueError:
            log.error("help alert %s in %s is unreadable; not imported", alert_id, path)
            continue
        outbox.submit_alert(str(alert_id), document, _raised_ts(str(document.get("raised_at", ""))))
    for suffix in ("-wal", "-shm", ""):  # the main file last: its presence means "not imported yet"
        part = path.with_name(path.name + suffix)
        if part.exists():
            part.replace(part.with_name(path.name + ".imported" + suffix))
    if rows:
        log.warning("%d pending help alerts imported from %s into the outbox", len(rows), path)
    return len(rows)
