"""The calm error screen: the session was wiped, the resident can start again. When a request had
already been filed, its acceptance number (受理号) is shown, so the resident knows it is submitted
and does not file it twice."""

from __future__ import annotations

from kivy.properties import StringProperty

from contract.ids import group_number
from screens.base import KioskScreen


class ErrorScreen(KioskScreen):
    number = StringProperty("")  # the 受理号 grouped in fours, or "" when nothing was filed

    def show_number(self, number: str) -> None:
        self.number = group_number(number) if number else ""

    @property
    def spoken_digits(self) -> str:
        """The 受理号 for the voice, read digit by digit after the prompt ("" when none)."""
        return self.number.replace(" ", "")

    def reset(self) -> None:
        self.number = ""


SCREEN_CLASS = ErrorScreen
