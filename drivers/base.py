"""What every device has in common: a health value the kiosk and technicians can show."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Protocol


class Health(enum.Enum):
    """Coarse device health, for dashboards and for disabling the services that need a device."""

    OK = "ok"
    DEGRADED = "degraded"  # works, with a warning (paper near end, slow reconnects)
    DOWN = "down"  # cannot serve residents now
    UNKNOWN = "unknown"  # no answer yet; never treated as OK


@dataclass(frozen=True)
class DeviceHealth:
    """A tagged health value: ``code`` is a stable machine word, ``detail`` the technician's text."""

    state: Health
    code: str
    detail: str = ""

    @property
    def usable(self) -> bool:
        return self.state in (Health.OK, Health.DEGRADED)


class Device(Protocol):
    """The part of every driver the composition root and diagnostics rely on."""

    simulated: bool

    def health(self) -> DeviceHealth:
        """Current health, bounded in time (drivers use their own short timeouts)."""
        ...

    def close(self) -> None:
        """Release the port / camera / socket. Safe to call twice."""
        ...
