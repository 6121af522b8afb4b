"""Reusable widgets: buttons, tiles, bars and the idle warning. Their look is in widgets.kv."""

from __future__ import annotations

from kivy.properties import BooleanProperty, ListProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView


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


class IdleWarning(ModalView):
    """'Are you still there?' with a countdown; touching 'continue' gives the resident more time."""
