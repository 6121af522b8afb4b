"""Home: the three service areas and the status look-up, as big cards with an icon, the area's
name and its services one to a line (no card mostly empty), four in a row in landscape, two when
the text is large or the screen is portrait, one in portrait with large text."""

from __future__ import annotations

import re
from typing import Any

from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout

import screens.icons  # noqa: F401  (registers Icon for home.kv)
from screens.base import KioskScreen

CATEGORY_ICONS = {
    "household": "home-account",
    "vehicle": "car",
    "photo": "camera-account",
    "status": "clipboard-search-outline",
}


def service_lines(help_text: str) -> list[str]:
    """A card's services (临时身份证明、户籍证明、身份证换领补领) as one a line."""
    return [part.strip() for part in re.split(r"[、，,;；]", help_text) if part.strip()]


def home_columns(landscape: bool, large_text: bool) -> int:
    """Cards per row: fewer as the text grows (长辈模式 reflows, it is never squeezed)."""
    if landscape:
        return 2 if large_text else 4
    return 1 if large_text else 2


class CategoryCard(ButtonBehavior, BoxLayout):
    """One home card (see home.kv): ``category`` names the area, or "status" for the look-up."""

    category = StringProperty("")
    accent = ListProperty([0, 0, 0, 1])
    icon = StringProperty("")
    lines = ListProperty([])
    primary = BooleanProperty(False)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from kivy.app import App
        from kivy.clock import Clock

        self._fit = Clock.create_trigger(self.fit_title)  # after the frame's layout
        App.get_running_app().bind(text_scale=self._fit, lang=self._fit)

    def fit_title_soon(self, *_args: Any) -> None:
        self._fit()

    def fit_title(self, *_args: Any) -> None:
        """长辈模式's title size, or smaller until the name fits the card's height: an English
        name on two lines ran out of the card (the card's height is the grid's share)."""
        title = self.ids.get("title")
        if title is None or self.orientation != "horizontal" or self.height <= 1:
            return
        from kivy.app import App

        app = App.get_running_app()
        base = app.u * 52 * app.text_scale
        room = self.height - 2 * self.padding[1]
        size = base
        title.font_size = size
        title.texture_update()
        while title.texture_size[1] > room and size > base * 0.6:
            size *= 0.92
            title.font_size = size
            title.texture_update()


class HomeScreen(KioskScreen):
    icons = CATEGORY_ICONS


SCREEN_CLASS = HomeScreen
