"""Consent before personal data is read or sent."""

from __future__ import annotations

from typing import Any

from kivy.uix.boxlayout import BoxLayout


class ConsentStep(BoxLayout):
    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow = flow
        self.step = step
