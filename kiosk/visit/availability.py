"""Whether a service can start now, given the state of the rest of the kiosk.

:func:`kiosk.services.flow.service_availability` decides from the service's description, its
devices' health and the backend's reachability. A visit adds the request queue: a service that
files a request (a ``submit`` step) cannot run while the outbox is still opening or could not open,
because a resident is told "submitted" only once the request is on disk. Services that need
neither the queue nor the backend keep running whatever happens to them.
"""

from __future__ import annotations

from typing import Protocol

from drivers.base import DeviceHealth
from kiosk.services.catalogue import Service
from kiosk.services.flow import Availability, service_availability


class Reachability(Protocol):
    """Whether the backend answered lately (:class:`kiosk.runtime.BackendLink` is one)."""

    @property
    def reachable(self) -> bool: ...


class Surroundings(Protocol):
    """What a visit needs to know of the rest of the kiosk (:class:`kiosk.runtime.Runtime` is one)."""

    @property
    def queue(self) -> object | None: ...  # the request queue once it is up

    @property
    def queue_error(self) -> str | None: ...  # why it could not start

    @property
    def backend(self) -> Reachability: ...

    def device_health(self, role: str) -> DeviceHealth | None: ...


def visit_availability(service: Service, ready_kinds: frozenset[str], around: Surroundings) -> Availability:
    """Whether ``service`` can start now: its steps have screens, its devices and (for look-ups,
    payment, identity checks) the backend answer, and the request queue is up if it files one."""
    result = service_availability(
        service,
        ready_kinds=ready_kinds,
        device_health=around.device_health,
        backend_ok=around.backend.reachable,
    )
    if result.ok and any(step.kind == "submit" for step in service.steps):
        if around.queue_error is not None:
            return Availability(False, "service.unavailable.queue", around.queue_error)
        if around.queue is None:
            return Availability(False, "service.unavailable.starting", "request queue starting")
    return result
