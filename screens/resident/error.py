"""The calm error screen: the session was wiped, the resident can start again."""

from __future__ import annotations

from screens.base import KioskScreen


class ErrorScreen(KioskScreen):
    pass


SCREEN_CLASS = ErrorScreen
