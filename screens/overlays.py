"""What shows above the screens: the idle warning, and the technicians' delivery strip."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from kivy.uix.floatlayout import FloatLayout

from screens.widgets import KButton


class KioskRoot(FloatLayout):
    """The window's root: the screen manager plus overlays (simulation dock, idle warning)."""


class SimDock(KButton):
    """Demo builds only: the simulation's own controls (lay a sample card...), orange and marked
    模拟, at the window's edge and out of the resident's layout (look in widgets.kv). Hidden on a
    production terminal: ``app.offer_demo`` shows nothing unless the kiosk is simulated."""


class IdleOverlay:
    """The "are you still there?" warning, opened and closed to match the visit controller."""

    def __init__(self) -> None:
        self.view: Any = None  # the open screens.widgets.IdleWarning, or None

    def show(self, wanted: bool) -> None:
        if wanted and self.view is None:
            from screens.widgets import IdleWarning

            self.view = IdleWarning()
            self.view.open(animation=False)
        elif not wanted and self.view is not None:
            self.view.dismiss(animation=False)
            self.view = None


def queue_banner(tr: Callable[..., str], queue: Any, status: Any) -> str:
    """A discreet strip for technicians when requests are stuck or dead-lettered; never an error
    for residents. Empty when delivery is fine."""
    if queue is not None and queue.stuck(status):
        minutes = int((status.oldest_pending_age_s or 0) // 60)
        return tr(
            "queue.banner_stuck", pending=status.pending, minutes=minutes, reason=status.last_error or "-"
        )
    if getattr(status, "dead", 0):
        return tr("queue.banner_dead", dead=status.dead)
    return ""
