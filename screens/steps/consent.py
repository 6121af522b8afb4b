"""Consent before personal data is read or sent."""

from __future__ import annotations

from typing import Any

from screens.steps.base import StepBase


class ConsentStep(StepBase):
    """The consent text (consent.kv); 我已阅读并同意 is the main button of the host's action bar."""

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        self.main_key = "consent.agree"
        self.refresh_texts()

    def refresh_texts(self) -> None:
        self.question = self.app.tr("consent.title")

    def next(self) -> None:
        self.app.step_done()
