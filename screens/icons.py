"""Icons by name: Material Design Icons (Pictogrammers) drawn from their font, never hand-drawn.

The font is the one shipped inside the PyPI package ``fonticon-materialdesignicons7`` (the
``materialdesignicons-webfont.ttf`` of MDI 7.2.96; the fonts and icons are under the Apache
License 2.0, the package's code under MIT; see the README). The package also holds the name →
code point table, so an icon is asked for by its MDI name (``"check-bold"`` or ``"check_bold"``)
and an unknown name fails loudly instead of drawing an empty box.

Use in kv: ``#:import icons screens.icons`` at the top, then an ``Icon:`` widget with
``icon: "wallet"``, or ``icons.markup("check-bold")`` inside a label with ``markup: True`` to set
an icon in a line of text. Generic pictures only (a wallet, a phone): no trademark logos.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from kivy.core.text import LabelBase
from kivy.properties import StringProperty
from kivy.uix.label import Label

ICON_FONT = "KioskIcons"
"""The name the icon font is registered under (``font_name`` / markup ``[font=…]``)."""

PACKAGE = "fonticon-materialdesignicons7"


class UnknownIcon(ValueError):
    """An icon name that the icon font does not have (a typo would otherwise draw nothing)."""


@cache
def _table() -> tuple[Path, dict[str, str]]:
    try:
        from fonticon_mdi7 import MDI7
    except ImportError as exc:
        raise ImportError(f"the icon font is missing: pip install {PACKAGE}") from exc
    table = {}
    for name in dir(MDI7):
        if name.startswith("_"):
            continue
        value = getattr(MDI7, name)
        if isinstance(value, str) and "." in value:  # the package spells each as "mdi7.<char>"
            table[name] = value.rsplit(".", 1)[1]
    return Path(MDI7.__font_file__), table


def font_path() -> Path:
    """The icon font file (the TTF inside the installed package)."""
    return _table()[0]


def glyph(name: str) -> str:
    """The character of the icon called ``name`` (MDI spelling, ``-`` or ``_``)."""
    key = name.replace("-", "_")
    try:
        return _table()[1][key]
    except KeyError:
        raise UnknownIcon(f"no icon named {name!r} in {PACKAGE}") from None


def register() -> str:
    """Register the icon font with Kivy (once; idempotent) and answer its registered name."""
    if ICON_FONT not in LabelBase._fonts:
        LabelBase.register(ICON_FONT, str(font_path()))
    return ICON_FONT


def markup(name: str, colour: str = "") -> str:
    """The icon as Kivy markup for a label with ``markup: True`` (colour as ``#rrggbb`` or "")."""
    text = f"[font={register()}]{glyph(name)}[/font]"
    return f"[color={colour}]{text}[/color]" if colour else text


def hex_colour(colour: list[float]) -> str:
    """``#rrggbb`` of a Kivy colour (for :func:`markup`)."""
    r, g, b = (max(0, min(255, round(c * 255))) for c in colour[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


class Icon(Label):
    """A label that draws one icon of the icon font, by name."""

    icon = StringProperty("")

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("font_name", register())
        super().__init__(**kwargs)
        self.bind(icon=self._show)
        self._show()

    def _show(self, *_args: Any) -> None:
        self.text = glyph(self.icon) if self.icon else ""
