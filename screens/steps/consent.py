"""Consent before personal data is read or sent."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from kiosk.services.consent import SENSITIVE, consent_items
from screens.steps.base import StepBase


class ConsentStep(StepBase):
    """The consent text (consent.kv): what this service collects, from its steps
    (kiosk/services/consent.py); 我已阅读并同意 is the main button of the host's action bar."""

    body = StringProperty("")

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        self.main_key = "consent.agree"
        self.refresh_texts()

    def refresh_texts(self) -> None:
        tr = self.app.tr
        self.question = tr("consent.title")
        items = consent_items(self.flow.service)
        lines = [tr("consent.body"), *(tr(f"consent.item.{kind}") for kind in items)]
        if any(kind in SENSITIVE for kind in items):
            lines.append(tr("consent.sensitive"))
        self.body = "\n".join(lines)

    def next(self) -> None:
        self.app.step_done()
