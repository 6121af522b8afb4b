"""Which screens the kiosk has, and building them: on first use, or one per frame after start-up.

A screen is a module under ``screens/`` with a kv file beside it and a ``SCREEN_CLASS``. The first
frames need only the attract and home screens; the others are built frame by frame afterwards, then
what a screen would build at its first showing (its ``prebuild()`` steps, one per frame), so
start-up is quick and no resident waits for a screen to be built later.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator
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
        self._prebuilding: list[Iterator[None]] = []
        self.built = False  # every screen built and prebuilt (start-up's screen work is over)

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
            self._prebuilding = [_prebuild(screen) for screen in self.manager.screens]
            Clock.schedule_once(self._prebuild_next, 0)

    def _prebuild_next(self, _dt: float) -> None:
        """One step of a screen's ``prebuild()`` per frame (what its first showing would build)."""
        while self._prebuilding:
            if next(self._prebuilding[0], StopIteration) is StopIteration:
                self._prebuilding.pop(0)
            else:
                break
        if self._prebuilding:
            Clock.schedule_once(self._prebuild_next, 0)
        else:
            self.built = True
            self._then()

    def reset_all(self) -> None:
        """Every screen forgets what it showed of the last resident (at each session wipe)."""
        for screen in self.manager.screens:
            reset = getattr(screen, "reset", None)
            if reset is not None:
                reset()


def _prebuild(screen: Any) -> Iterator[None]:
    """A screen's own ``prebuild()`` steps, if it has any, then its text rendered (next frame)."""
    if hasattr(screen, "prebuild"):
        yield from screen.prebuild()
    yield  # the labels' texture updates run before the next frame
    render_textures(screen)


def render_textures(widget: Any) -> None:
    """Fill every texture under ``widget`` now. Kivy renders a label's text only when its texture
    is first drawn, so the first frame showing a screen rendered all of its text (tens of ms for a
    screen of Chinese text under llvmpipe); binding the texture runs that rendering ahead, off screen."""
    for child in widget.walk(restrict=True):
        texture = getattr(child, "texture", None)
        if texture is not None and hasattr(texture, "bind"):
            texture.bind()
