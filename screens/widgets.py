"""Reusable widgets: buttons, tiles, bars and the idle warning. Their look is in widgets.kv."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.widget import Widget


class KButton(ButtonBehavior, Label):
    """A large rounded touch button (at least 15 mm high on the designed screen)."""

    role = StringProperty("primary")  # primary | secondary | danger | quiet


class Tile(ButtonBehavior, BoxLayout):
    """A big card-like button with a title, a help line and a note (fee, or why it is disabled)."""

    title = StringProperty("")
    help = StringProperty("")
    note = StringProperty("")
    available = BooleanProperty(True)
    accent = ListProperty([0.08, 0.25, 0.55, 1])


class ServiceTile(Tile):
    """A tile in a scrolling list: as tall as its text needs (large text never overflows)."""


class BusyIndicator(Widget):
    """A turning arc that shows work is in progress (runs only while on screen)."""

    angle = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._event: Any = None
        self.bind(parent=self._attached)

    def _attached(self, *_args: Any) -> None:
        if self.parent is not None and self._event is None:
            self._event = Clock.schedule_interval(self._turn, 1 / 30)
        elif self.parent is None and self._event is not None:
            self._event.cancel()
            self._event = None

    def _turn(self, dt: float) -> None:
        self.angle = (self.angle + 300 * dt) % 360


class IdleWarning(ModalView):
    """'Are you still there?' with a countdown; touching 'continue' gives the resident more time."""
