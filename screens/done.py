"""Done: thanks, the request number, and a countdown back to the attract screen."""

from __future__ import annotations

from typing import Any

from kivy.properties import ObjectProperty, StringProperty

from screens.base import KioskScreen


class DoneScreen(KioskScreen):
    request_number = StringProperty("")
    thanks = ObjectProperty(None, allownone=True)  # the done step's own title {zh, en}, if it has one

    def load(self, flow: Any) -> None:
        submitted = flow.session.artifacts.get("submitted")
        self.request_number = str(getattr(submitted, "request_id", "") or "")
        self.thanks = flow.step.title

    def reset(self) -> None:
        self.request_number = ""
        self.thanks = None


SCREEN_CLASS = DoneScreen
