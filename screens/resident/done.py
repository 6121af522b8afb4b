"""Done: thanks, the acceptance number (受理号, grouped in fours), a reminder to take the ID card
while the reader still holds one, and a countdown back to the attract screen."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from contract.ids import group_number
from screens.base import KioskScreen


class DoneScreen(KioskScreen):
    request_number = StringProperty("")
    thanks = ObjectProperty(None, allownone=True)  # the done step's own title {zh, en}, if it has one
    card_on_reader = BooleanProperty(False)  # "please take your ID card" while it lies there

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._unsubscribe: Any = None

    def load(self, flow: Any) -> None:
        submitted = flow.session.artifacts.get("submitted")
        number = str(getattr(submitted, "number", "") or "")  # the 受理号; the UUID stays internal
        self.request_number = group_number(number) if number else ""
        self.thanks = flow.step.title
        self._watch_card()

    @property
    def spoken_digits(self) -> str:
        """The 受理号 for the voice (screens/assist: read digit by digit after the prompt)."""
        return self.request_number.replace(" ", "")

    def _watch_card(self) -> None:
        """Follow the reader's card presence (events come on the UI thread) until the screen resets."""
        self._stop_watching()
        device = self.app.runtime.devices.get("card_reader")
        worker = getattr(device, "worker", None)
        if worker is None:
            self.card_on_reader = False
            return
        self.card_on_reader = bool(worker.card_present)
        self._unsubscribe = worker.subscribe(lambda event: self._card_event(event))

    def _card_event(self, event: Any) -> None:
        from kiosk.steps.card_worker import CardPlaced, CardRemoved

        if isinstance(event, CardPlaced | CardRemoved):
            self.card_on_reader = isinstance(event, CardPlaced)

    def _stop_watching(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def reset(self) -> None:
        self._stop_watching()
        self.request_number = ""
        self.thanks = None
        self.card_on_reader = False


SCREEN_CLASS = DoneScreen
