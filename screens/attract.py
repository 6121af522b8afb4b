"""The attract screen: what the terminal shows while nobody is using it."""

from __future__ import annotations

from typing import Any

from kivy.animation import Animation
from kivy.properties import NumericProperty

from screens.base import KioskScreen

SHORTCUTS = ("temp-id-certificate", "household-certificate", "traffic-fine", "id-photo")


class AttractScreen(KioskScreen):
    card_offset = NumericProperty(1.0)  # 1: card above the reader, 0: lying on it
    pulse = NumericProperty(1.0)

    def on_enter(self, *_args: Any) -> None:
        self._anim = (
            Animation(card_offset=0.0, duration=1.2, t="out_quad")
            + Animation(card_offset=0.0, duration=0.8)
            + Animation(card_offset=1.0, duration=0.01)
            + Animation(card_offset=1.0, duration=0.4)
        )
        self._anim.repeat = True
        self._anim.start(self)
        self._pulse = Animation(pulse=0.55, duration=1.0) + Animation(pulse=1.0, duration=1.0)
        self._pulse.repeat = True
        self._pulse.start(self)

    def on_leave(self, *_args: Any) -> None:
        Animation.cancel_all(self)
        self.card_offset = 1.0
        self.pulse = 1.0

    def shortcuts(self) -> tuple[str, ...]:
        return SHORTCUTS

    def on_touch_down(self, touch: Any) -> bool:
        if super().on_touch_down(touch):
            return True
        if self.collide_point(*touch.pos):
            self.app.begin()
            return True
        return False


SCREEN_CLASS = AttractScreen
