"""Read-ID-card step: where to place the card (animated), progress while reading, the identity
shown masked (王*, 4114**********0315), and a clear message with a way forward for every failure.
The reader belongs to its worker thread (kiosk/steps/card_worker.py); this widget only reacts to events
delivered on the UI thread."""

from __future__ import annotations

import logging
from typing import Any

from kivy.animation import Animation
from kivy.clock import Clock
from kivy.properties import BooleanProperty, NumericProperty, StringProperty

from kiosk.visit.privacy import MASKING_FILTER, mask_id_number, mask_name
from screens.steps.base import StepBase

log = logging.getLogger(__name__)

SHOW_IDENTITY_S = 1.5  # the masked identity stays on screen this long before moving on


class ReadCardStep(StepBase):
    state = StringProperty("waiting")  # waiting | reading | read | problem | no_reader
    message = StringProperty("")
    identity = StringProperty("")
    card_offset = NumericProperty(1.0)
    simulated = BooleanProperty(False)  # demo mode: a button lays a synthetic card on the reader

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        self._key = "readcard.place"
        self._unsubscribe: Any = None
        self._worker: Any = None
        # a card left on the reader by an earlier visit is not this visit's (kiosk/steps/card_worker.py)
        self._owner = str(flow.session.id)
        self._demo_pending = False  # demo mode: a card is laid once the reader saw the old one go
        self._moving_on: Any = None  # the clock event that leaves the step after the identity showed
        device = self.app.runtime.devices.get("card_reader")
        if device is None or not hasattr(device, "start_worker"):
            self.state, self._key = "no_reader", "readcard.reader_down"
        else:
            self.simulated = getattr(device, "simulator", None) is not None
            self._worker = device.start_worker(self.app.post)
            self._unsubscribe = self._worker.subscribe(self._event)
            self._worker.request_read(self._owner)
        self._anim = Animation(card_offset=0.0, duration=1.0, t="out_quad") + Animation(
            card_offset=1.0, duration=0.01
        )
        self._anim += Animation(duration=0.6)
        self._anim.repeat = True
        self._anim.start(self)
        self.refresh_texts()

    def refresh_texts(self) -> None:
        self.message = self.app.tr(self._key)
        # demo builds: laying a sample card is the simulation dock's, never a button of the step
        if self.simulated and self.state == "waiting" and self._worker is not None:
            self.app.offer_demo("readcard.demo_card", self.place_demo_card)
        else:
            self.app.offer_demo("")
        self.busy = self.state == "reading"

    def _say(self, state: str, key: str) -> None:
        self.state, self._key = state, key
        self.refresh_texts()

    def _event(self, event: Any) -> None:
        from kiosk.steps.card_worker import CardPlaced, CardRead, CardRemoved, ReaderStatus, ReadFailed

        if isinstance(event, CardPlaced) and self.state in ("waiting", "problem"):
            self._say("reading", "readcard.reading")
        elif isinstance(event, CardRead):
            self._card(event)
        elif isinstance(event, ReadFailed):
            log.info("card read failed: %s (%s)", event.reason, event.detail)
            self._say("problem", event.message_key)
        elif isinstance(event, CardRemoved) and self._demo_pending:
            self._demo_pending = False
            self._worker.request_read(self._owner)
            self._say("waiting", "readcard.place")
            self.place_demo_card()
        elif isinstance(event, CardRemoved) and self.state == "problem":
            self._worker.request_read(self._owner)  # the resident took the card away: ready for another try
            self._say("waiting", "readcard.place")
        elif isinstance(event, ReaderStatus) and event.status in ("disconnected", "fault"):
            self._say("no_reader", "readcard.reader_down")
        elif isinstance(event, ReaderStatus) and event.status == "ready" and self.state == "no_reader":
            self._worker.request_read(self._owner)
            self._say("waiting", "readcard.place")

    def _card(self, event: Any) -> None:
        card = event.card
        if not event.accepted:
            log.info("card refused: %s", ", ".join(r.code for r in event.refusals))
            self._say("problem", event.refusals[0].message_key)
            return
        MASKING_FILTER.remember(card.name, card.name_en)
        if getattr(self.step, "role", "applicant") == "guardian":  # kiosk/steps/guardian.py
            from kiosk.steps.household_rules import guardian_outcome
            from screens.steps.household import rule_result, today

            outcome = guardian_outcome(
                dict(self.flow.service.rules), self.flow.session, card, today(self.app)
            )
            if not outcome.ok:
                log.info("guardian's card refused: %s", outcome.cause)
                self._say("problem", f"{outcome.stop}.body")
                self.result = rule_result(outcome, "household.another_card")
                return
            self.flow.session.guardian = card
        else:
            self.flow.session.identity = card
        self.identity = f"{mask_name(card.name or card.name_en)}    {mask_id_number(card.id_number)}"
        self._say("read", "readcard.read_ok")
        if self._moving_on is not None:
            self._moving_on.cancel()
        self._moving_on = Clock.schedule_once(lambda _dt: self._finish(), SHOW_IDENTITY_S)

    def place_demo_card(self) -> None:
        """Demo mode only: lay the synthetic resident card on the simulated reader (a card still
        lying there from an earlier visit is taken away first, and the new one laid once the reader
        has seen it go: otherwise it would still count as the earlier visit's card)."""
        device = self.app.runtime.devices.get("card_reader")
        simulator = getattr(device, "simulator", None)
        if simulator is None:
            return
        if self._worker is not None and self._worker.card_present:
            simulator.remove()
            self._demo_pending = True  # laid on CardRemoved
        else:
            simulator.place("resident")

    def result_action(self, action: str) -> None:
        """A guardian's card refused: 换一张证件 shows the step again (take it away, lay another)."""
        if action == "retry" and self.result is not None and getattr(self.step, "role", "") == "guardian":
            self.result = None
            return
        super().result_action(action)

    def _finish(self) -> None:
        if self.state == "read":
            self.teardown()
            self.app.step_done()

    def teardown(self) -> None:
        super().teardown()
        self.app.offer_demo("")
        if self._moving_on is not None:
            self._moving_on.cancel()  # the resident left (back, cancel, idle) before it fired
            self._moving_on = None
        Animation.cancel_all(self)
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        if self._worker is not None:
            self._worker.cancel_read()
            self._worker = None
