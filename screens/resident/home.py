"""Home: the three service areas."""

from __future__ import annotations

from screens.base import KioskScreen


class HomeScreen(KioskScreen):
    pass


SCREEN_CLASS = HomeScreen
