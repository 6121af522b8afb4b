"""The staff console's settings (``kiosk-backend serve --console-idle-min``, ``--silent-after``)."""

from __future__ import annotations

from dataclasses import dataclass

from backend.staff_sessions import DEFAULT_IDLE_S, DEFAULT_MAX_AGE_S


@dataclass(frozen=True)
class ConsoleSettings:
    idle_s: float = DEFAULT_IDLE_S  # a session without a request this long ends (15 min)
    max_age_s: float = DEFAULT_MAX_AGE_S  # and any session after this long (12 h)
    silent_after_s: float = 300.0  # a kiosk without a heartbeat this long is flagged silent
