"""The attract screen: what the terminal shows while nobody is using it."""

from __future__ import annotations

from typing import Any

from kivy.animation import Animation
from kivy.properties import NumericProperty

from screens.base import KioskScreen

SHORTCUTS = ("temp-id-certificate", "household-certificate", "traffic-fine", "id-photo")
PULSE_LOW = 0.8


class AttractScreen(KioskScreen):
    card_offset = NumericProperty(1.0)  # 1: card above the reader, 0: lying on it
    pulse = NumericProperty(1.0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._corner_taps: list[float] = []

    # Paired on pre-enter / pre-leave, never on enter / leave: Kivy drops on_enter and on_leave when the
    # current screen changes twice before a frame (a card laid on the reader goes attract -> home ->
    # the service at once), which left two repeating animations running on a hidden screen per visit.
    def on_pre_enter(self, *_args: Any) -> None:
        Animation.cancel_all(self)
        self._anim = (
            Animation(card_offset=0.0, duration=1.2, t="out_quad")
            + Animation(card_offset=0.0, duration=0.8)
            + Animation(card_offset=1.0, duration=0.01)
            + Animation(card_offset=1.0, duration=0.4)
        )
        self._anim.repeat = True
        self._anim.start(self)
        # the "touch" line breathes, never below 7:1 against the page (0.55 fell to 4.5:1)
        self._pulse = Animation(pulse=PULSE_LOW, duration=1.0) + Animation(pulse=1.0, duration=1.0)
        self._pulse.repeat = True
        self._pulse.start(self)

    def on_pre_leave(self, *_args: Any) -> None:
        Animation.cancel_all(self)
        self.card_offset = 1.0
        self.pulse = 1.0

    def shortcuts(self) -> tuple[str, ...]:
        return SHORTCUTS

    def on_touch_down(self, touch: Any) -> bool:
        if self._maintenance_gesture(touch):
            return True
        if super().on_touch_down(touch):
            return True
        if self.collide_point(*touch.pos):
            self.app.begin()
            return True
        return False

    def _maintenance_gesture(self, touch: Any) -> bool:
        """Five taps within four seconds in the top-left corner (on the title, away from the
        buttons) open the maintenance PIN pad. Taps there do not start a session."""
        corner = self.app.u * 160
        if not (touch.x < self.x + corner and touch.y > self.top - corner):
            self._corner_taps.clear()
            return False
        now = self.app.runtime.clock()
        self._corner_taps = [t for t in self._corner_taps if now - t < 4.0] + [now]
        if len(self._corner_taps) >= 5:
            self._corner_taps.clear()
            self.app.enter_maintenance()
        return True


SCREEN_CLASS = AttractScreen
