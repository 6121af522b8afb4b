"""Which screens the kiosk has, and building them: on first use, or one per frame after start-up.

A screen is a module under ``screens/`` with a kv file beside it and a ``SCREEN_CLASS``. The first
frames need only the attract and home screens; the others are built frame by frame afterwards, so
start-up is quick and no resident waits for a screen to be built later.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

from kivy.clock import Clock
from kivy.lang import Builder
from kivy.uix.screenmanager import NoTransition, ScreenManager

from kiosk.paths import screens_dir

# screen name -> its module and kv file under screens/ (package/module)
SCREEN_MODULES: dict[str, str] = {
    "attract": "resident/attract",
    "home": "resident/home",
    "services": "resident/services",
    "step": "resident/step",
    "review": "resident/review",
    "done": "resident/done",
    "error": "resident/error",
    "maintenance_pin": "maintenance/pin",
    "maintenance": "maintenance/main",
}
FIRST_SCREENS = ("attract", "home")  # what the first frames show


class ScreenRegistry:
    """The screen manager and the screens in it, each built (kv loaded, widgets made) once."""

    def __init__(self) -> None:
        self.manager = ScreenManager(transition=NoTransition())
        self._unbuilt: list[str] = []

    def get(self, name: str) -> Any:
        """The screen called ``name``, built on first use."""
        if not self.manager.has_screen(name):
            if name == "step":
                from screens import steps

                for kv in steps.KV_FILES:
                    Builder.load_file(str(screens_dir() / "steps" / kv))
            where = SCREEN_MODULES[name]
            Builder.load_file(str(screens_dir() / f"{where}.kv"))
            module = importlib.import_module("screens." + where.replace("/", "."))
            self.manager.add_widget(module.SCREEN_CLASS(name=name))
        return self.manager.get_screen(name)

    def build_first(self, then: Callable[[], None]) -> None:
        """Build the first screens now and the rest one per frame; ``then()`` once all exist."""
        for name in FIRST_SCREENS:
            self.get(name)
        self._unbuilt = [n for n in SCREEN_MODULES if not self.manager.has_screen(n)]
        self._then = then
        Clock.schedule_once(self._build_next, 0.05)

    def _build_next(self, _dt: float) -> None:
        while self._unbuilt:
            name = self._unbuilt.pop(0)
            if not self.manager.has_screen(name):
                self.get(name)
                break
        if self._unbuilt:
            Clock.schedule_once(self._build_next, 0)
        else:
            self._then()

    def reset_all(self) -> None:
        """Every screen forgets what it showed of the last resident (at each session wipe)."""
        for screen in self.manager.screens:
            reset = getattr(screen, "reset", None)
            if reset is not None:
                reset()
