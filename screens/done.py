"""Done: thanks, the request number, and a countdown back to the attract screen."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from screens.base import KioskScreen


class DoneScreen(KioskScreen):
    request_number = StringProperty("")

    def load(self, flow: Any) -> None:
        submitted = flow.session.artifacts.get("submitted")
        self.request_number = str(getattr(submitted, "request_id", "") or "")

    def reset(self) -> None:
        self.request_number = ""


SCREEN_CLASS = DoneScreen
