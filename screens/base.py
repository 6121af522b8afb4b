"""The base of every screen: access to the app, and hooks the app calls."""

from __future__ import annotations

from typing import Any

from kivy.app import App
from kivy.uix.screenmanager import Screen


class KioskScreen(Screen):
    """Screens are thin: they show what the app/flow hands them and report touches back."""

    @property
    def app(self) -> Any:
        return App.get_running_app()

    def load(self, flow: Any) -> None:
        """Show the flow's current state (screens that host flow steps override this)."""

    def reset(self) -> None:
        """Forget everything shown about the last resident (called at every session wipe)."""
