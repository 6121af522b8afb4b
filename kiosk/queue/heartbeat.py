"""The kiosk's heartbeat: every ``interval_s`` its health (device statuses, queue depth and oldest
pending age, software version, uptime) and its step analytics go to the backend, signed like
requests. The backend keeps the latest per kiosk and flags silent ones (``kiosk-backend kiosks``).
A refused or failed heartbeat is logged with its cause and its analytics are kept for the next."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from kiosk.errors import BackendRejected, BackendUnavailable
from kiosk.visit.analytics import StepAnalytics

if TYPE_CHECKING:
    from kiosk.runtime import Runtime

log = logging.getLogger(__name__)


class HeartbeatWorker:
    def __init__(
        self,
        kiosk_id: str,
        client_factory: Callable[[], Any],
        health: Callable[[], dict[str, Any]],
        analytics: StepAnalytics,
        interval_s: float = 60.0,
    ) -> None:
        self.kiosk_id = kiosk_id
        self.client_factory = client_factory
        self.health = health
        self.analytics = analytics
        self.interval_s = interval_s
        self.last_error = ""
        self.sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def beat(self) -> bool:
        """Send one heartbeat now (on the calling thread). True when the backend accepted it."""
        drained = self.analytics.drain()
        doc = {"kiosk_id": self.kiosk_id, "health": self.health(), "analytics": drained}
        client = self.client_factory()
        try:
            client.heartbeat(doc)
        except (BackendUnavailable, BackendRejected) as exc:
            self.analytics.restore(drained)
            self.last_error = f"{type(exc).__name__}: {exc}"
            log.warning("heartbeat not accepted: %s", exc)
            return False
        finally:
            client.close()
        self.last_error = ""
        self.sent += 1
        return True

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.beat()
            except Exception:  # a bug here must not end the heartbeats for good
                log.exception("heartbeat failed unexpectedly")
            self._stop.wait(self.interval_s)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)


def health_document(runtime: Runtime, started_at: float) -> dict[str, Any]:
    """What the backend keeps of this kiosk: no personal data, only states and counts."""
    from kiosk import __version__

    devices = {}
    for role in runtime.config.devices:
        health = runtime.device_health(role)
        if health is not None:
            devices[role] = {
                "state": health.state.value,
                "code": health.code,
                "detail": printable(health.detail),
            }
    queue = runtime.queue
    status = queue.status().as_dict() if queue is not None else {}
    return {
        "version": __version__,
        "uptime_s": round(time.monotonic() - started_at, 1),
        "mode": runtime.config.kiosk.mode,
        "devices": devices,
        "queue": status,
    }


def printable(text: str, limit: int = 300) -> str:
    """A driver's detail as the backend can store it: control characters (a NUL read off a serial
    line would make PostgreSQL refuse the whole heartbeat) become U+FFFD; at most ``limit`` chars."""
    clean = "".join(c if c.isprintable() else "\ufffd" for c in text)
    return clean if len(clean) <= limit else clean[: limit - 1] + "…"
