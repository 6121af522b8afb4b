"""The typed runtime: every long-lived object the kiosk is made of, built once by the composition
root (``kiosk/main.py``) and closed once at exit.

Screens and engines read what they need from it by attribute (``runtime.queue``,
``runtime.maintenance``); nothing below the composition root constructs devices, queues or
threads. Fields that come up later, after the first frame (the request queue, the heartbeat), are
``None`` until then; :class:`BackendLink` says whether the backend answers, so the services that
need it are disabled while it does not.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from drivers.base import Device, DeviceHealth, Health
from drivers.errors import DeviceError
from kiosk.config.fonts import FontChoice
from kiosk.config.messages import Messages
from kiosk.config.model import KioskConfig
from kiosk.devices import NOT_INSTALLED
from kiosk.errors import KioskError
from kiosk.services.catalogue import Catalogue
from kiosk.visit.analytics import StepAnalytics

if TYPE_CHECKING:
    from kiosk.maintenance.gate import MaintenanceGate
    from kiosk.queue.heartbeat import HeartbeatWorker
    from kiosk.queue.runtime import QueueServices

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LinkState:
    """Whether the backend answered the last time anything asked it, and since when."""

    reachable: bool
    detail: str = ""
    since: float = 0.0


class BackendLink:
    """The kiosk's view of the backend's reachability, fed by whatever talks to it (delivery,
    heartbeat, look-ups) from any thread. A look-up service is disabled only after
    ``down_after`` consecutive failures, so one lost packet does not grey out the home screen.
    ``on_change`` listeners are called (on the reporting thread) when reachability flips."""

    def __init__(self, clock: Callable[[], float] = time.monotonic, *, down_after: int = 2) -> None:
        self._clock = clock
        self._down_after = down_after
        self._failures = 0
        self._lock = threading.Lock()
        self._state = LinkState(True, "not asked yet", clock())
        self._listeners: list[Callable[[LinkState], None]] = []

    @property
    def state(self) -> LinkState:
        return self._state

    @property
    def reachable(self) -> bool:
        return self._state.reachable

    def subscribe(self, listener: Callable[[LinkState], None]) -> None:
        self._listeners.append(listener)

    def report(self, ok: bool, detail: str = "") -> None:
        """One exchange with the backend ended: ``ok`` if it answered (any HTTP answer counts:
        a 4xx is an answer), else the cause (timeout, refused, TLS)."""
        with self._lock:
            if ok:
                self._failures = 0
                changed = not self._state.reachable
                if changed:
                    self._state = LinkState(True, detail or "answered", self._clock())
            else:
                self._failures += 1
                changed = self._state.reachable and self._failures >= self._down_after
                if changed:
                    self._state = LinkState(False, detail or "no answer", self._clock())
            state = self._state
        if changed:
            log.warning("backend %s: %s", "reachable" if state.reachable else "unreachable", state.detail)
            for listener in list(self._listeners):
                listener(state)


@dataclass
class Runtime:
    """Everything the app needs, built once at start and closed once at exit."""

    config: KioskConfig
    catalogue: Catalogue
    messages: Messages
    font: FontChoice
    clock: Callable[[], float] = time.monotonic
    analytics: StepAnalytics = field(default_factory=StepAnalytics)
    started_at: float = field(default_factory=time.monotonic)
    backend: BackendLink = field(default_factory=BackendLink)
    devices: dict[str, Device] = field(default_factory=dict)
    failures: dict[str, DeviceHealth] = field(default_factory=dict)
    queue: QueueServices | None = None  # set once the outbox and delivery are up
    queue_error: str | None = None  # why the queue could not start (damaged outbox...)
    heartbeat: HeartbeatWorker | None = None
    maintenance: MaintenanceGate | None = None  # the app's PIN gate and audit (not in a CLI's runtime)
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def simulated(self) -> bool:
        """Whether any device role runs a simulator (the screen then shows a SIMULATION badge)."""
        return bool(self.config.simulated_roles) or any(
            getattr(dev, "simulated", False) for dev in self.devices.values()
        )

    @property
    def gate(self) -> MaintenanceGate:
        """The maintenance PIN gate and audit log; only the app's runtime has one."""
        if self.maintenance is None:
            raise KioskError("this runtime was built without the maintenance gate")
        return self.maintenance

    def pending_roles(self) -> list[str]:
        """Roles still being opened."""
        return [
            role
            for role, section in self.config.devices.items()
            if section.driver != NOT_INSTALLED and role not in self.devices and role not in self.failures
        ]

    def device_health(self, role: str) -> DeviceHealth | None:
        """Current health of the device in ``role``; None when no such device is configured."""
        if role in self.failures:
            return self.failures[role]
        device = self.devices.get(role)
        if device is None:
            section = self.config.devices.get(role)
            if section is not None and section.driver != NOT_INSTALLED:
                return DeviceHealth(Health.UNKNOWN, "starting", "device is being opened")
            return None
        try:
            return device.health()
        except DeviceError as exc:
            return DeviceHealth(Health.DOWN, "error", str(exc))

    def close(self) -> None:
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")
        for role, device in self.devices.items():
            try:
                device.close()
            except Exception:
                log.exception("error closing %s", role)
        self.closers.clear()
        self.devices.clear()
