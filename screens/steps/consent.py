"""Consent before personal data is read or sent."""

from __future__ import annotations

from typing import Any

from screens.steps.base import StepBase


class ConsentStep(StepBase):
    """The consent text and one button (consent.kv); everything else is the base's default."""

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
