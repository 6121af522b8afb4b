"""One call for the composition root: the outbox, the delivery thread, the look-up client and,
when no backend is configured, the local reference backend.

    queue = start_queue(config, post=clock_post, on_status=banner.update)
    queue.submit(...)            # from a worker thread; wakes the delivery thread
    queue.raise_help(screen)     # a help alert (呼叫帮助), committed, then delivered the same way
    queue.raise_alert(kind)      # another kind of alert (maintenance_lockout), the same way
    queue.new_client()           # a BackendClient per worker thread
    queue.status()               # depth and oldest pending age for the technicians' banner
    queue.close()                # at exit: stop delivery, stop the local backend

With ``backend.url`` empty (demo), the local backend is started as a subprocess on 127.0.0.1 with
the kiosk's key trusted; a kiosk without a key file gets one in ``<data_dir>/keys/hmac.key``. Both
are demo conveniences: in production mode either is a ConfigError instead (the start-up refuses
such a configuration first, kiosk/config/production.py; this is the last line of defence).
Help alerts still pending in a ``<data_dir>/alerts.db`` from before alerts were outbox rows are
imported into the outbox once, at start.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contract.signing import SigningKey, new_secret, write_key_file
from kiosk.config.keyfile import load_secret
from kiosk.config.model import KioskConfig
from kiosk.errors import ConfigError, ConfigProblem
from kiosk.queue.alerts import LEGACY_FILE, alert_document, help_alert, import_legacy_alerts
from kiosk.queue.client import BackendClient
from kiosk.queue.delivery import (
    DeliveryWorker,
    HttpSender,
    Post,
    backoff_from_config,
    http_options,
    open_outbox,
)
from kiosk.queue.local_backend import LocalBackend
from kiosk.queue.outbox import Attachment, Outbox, QueueStatus, SubmittedRequest

log = logging.getLogger(__name__)


@dataclass
class QueueServices:
    """What :func:`start_queue` built; :meth:`close` undoes it in reverse order."""

    config: KioskConfig
    outbox: Outbox
    worker: DeliveryWorker
    key: SigningKey
    url: str
    local_backend: LocalBackend | None = None
    on_exchange: Callable[[bool, str], None] | None = None  # every look-up's outcome (BackendLink)
    _closers: list[Callable[[], None]] = field(default_factory=list)

    def submit(
        self,
        request_type: str,
        version: int,
        payload: Mapping[str, Any],
        attachments: Sequence[Attachment] = (),
        *,
        request_id: str | None = None,
    ) -> SubmittedRequest:
        """Durably queue a request (blocking: call from a worker thread), then wake delivery.
        ``request_id``: the id reserved earlier in the visit (the identity check sent it to the
        backend, which signed a certificate naming it); None makes a new one."""
        submitted = self.outbox.submit(request_type, version, payload, attachments, request_id=request_id)
        self.worker.wake()
        return submitted

    def raise_help(self, screen: str, service: str = "", step: str = "") -> str:
        """Durably queue a help alert (no personal data: where the resident is, and when), then
        wake delivery; blocking (call from a worker thread). Returns the alert id once the row is
        on disk, so the resident is told staff were notified only then. One alert per visit is the
        caller's rule: every call raises a new one."""
        now = time.time()
        document = help_alert(self.outbox.kiosk_id, screen, service, step, now)
        self.outbox.submit_alert(document["alert_id"], document, now)
        log.warning("help requested at %s (service %s, step %s): alert %s queued",
                    screen, service or "-", step or "-", document["alert_id"])  # fmt: skip
        self.worker.wake()
        return document["alert_id"]

    def raise_alert(self, kind: str, screen: str = "", service: str = "", step: str = "") -> str:
        """Durably queue an alert of ``kind`` (kiosk/queue/alerts.py KINDS; no personal data), then
        wake delivery; blocking (call from a worker thread). Returns the alert id once the row is
        on disk; ValueError for an unknown kind."""
        now = time.time()
        document = alert_document(self.outbox.kiosk_id, kind, now, screen=screen, service=service, step=step)
        self.outbox.submit_alert(document["alert_id"], document, now)
        log.warning("%s alert %s queued (screen %s)", kind, document["alert_id"], screen or "-")
        self.worker.wake()
        return document["alert_id"]

    def status(self) -> QueueStatus:
        return self.outbox.status()

    def stuck(self, status: QueueStatus) -> bool:
        """Whether the technicians' banner should show (oldest pending older than the threshold)."""
        age = status.oldest_pending_age_s
        return age is not None and age > self.config.backend.stuck_after_s

    def new_client(self) -> BackendClient:
        """A signed look-up client (one per worker thread: sessions are not shared)."""
        return BackendClient(self.url, self.key, **http_options(self.config), on_exchange=self.on_exchange)

    def close(self) -> None:
        while self._closers:
            try:
                self._closers.pop()()
            except Exception:  # closing must go on for the rest
                log.exception("closing the queue services")


def _demo_key(config: KioskConfig) -> tuple[SigningKey, Path]:
    """The configured key, or (demo only) one kept in the data dir, made on first use."""
    key_id = config.backend.key_id or config.kiosk.id
    if config.backend.secret_file:
        path = config.resolve(config.backend.secret_file)
    else:
        _refuse_in_production(config, "backend.secret_file", "a request-signing key nobody enrolled")
        path = config.data_dir / "keys" / "hmac.key"
        if not path.exists():
            write_key_file(path, new_secret())
    return SigningKey(key_id, load_secret(path)), path


def _refuse_in_production(config: KioskConfig, key: str, convenience: str) -> None:
    """A ConfigError naming ``key`` when a demo convenience is about to be used in production."""
    if config.kiosk.mode == "production":
        where = config.source or "configuration"
        raise ConfigError(
            [ConfigProblem(where, key, f"empty: production mode never falls back to {convenience}")]
        )


def start_queue(
    config: KioskConfig,
    *,
    post: Post | None = None,
    on_status: Callable[[QueueStatus], None] | None = None,
    on_exchange: Callable[[bool, str], None] | None = None,
) -> QueueServices:
    """Open the outbox (StorageError if damaged: tell technicians), start the local backend when
    none is configured (BackendUnavailable if it cannot start), and start the delivery thread."""
    outbox = open_outbox(config)
    closers: list[Callable[[], None]] = [outbox.close]
    try:
        import_legacy_alerts(outbox, config.data_dir / LEGACY_FILE)
        key, key_path = _demo_key(config)
        local = None
        url = config.backend.url
        if not url:
            _refuse_in_production(config, "backend.url", "the local reference backend")
            local = LocalBackend(config.data_dir / "backend", {f"{key.key_id}:{config.kiosk.id}": key_path})
            url = local.start()
            closers.append(local.stop)
        sender = HttpSender(url, key, **http_options(config))
        closers.append(sender.close)
        worker = DeliveryWorker(
            outbox,
            sender,
            post=post,
            on_status=on_status,
            backoff=backoff_from_config(config),
            keep_acknowledged_s=config.outbox.keep_acknowledged_days * 86400.0,
            keep_dead_s=config.outbox.keep_dead_days * 86400.0,
        )
        worker.start()
        closers.append(worker.stop)
    except BaseException:
        for close in reversed(closers):
            close()
        raise
    return QueueServices(config, outbox, worker, key, url, local, on_exchange=on_exchange, _closers=closers)
