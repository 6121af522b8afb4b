"""Plate step: a province-character picker, then letters and digits, with the format checked.

The keyboard only offers characters that may come next (provinces first, then the office letter,
then letters and digits, 挂/学 in the last place), so an elderly resident cannot type an impossible
plate; the whole plate is checked when they press "next", with the reason if it is wrong.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from kiosk.services.plates import next_keys, plate_problem
from screens.steps.base import StepBase
from screens.widgets import KButton


class PlateStep(StepBase):
    plate = StringProperty("")
    error = StringProperty("")
    hint = StringProperty("")
    wants_next = BooleanProperty(True)

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        self.plate = str(flow.session.values.get("plate", ""))
        self.bind(plate=lambda *_: self._build_keys())
        self._build_keys()
        self.ids.keys_box.bind(height=lambda *_: self._fit_keys())

    def refresh_texts(self) -> None:
        self._build_keys()

    def _build_keys(self) -> None:
        keys = next_keys(self.plate)
        self.hint = self.app.tr("plate.pick_province") if not self.plate else ""
        grid = self.ids.keyboard
        grid.clear_widgets()
        grid.cols = 8 if not self.plate else 10
        for key in keys:
            button = KButton(text=key, role="secondary")
            button.bind(on_release=lambda b: self.press(b.text))
            grid.add_widget(button)
        self._fit_keys()

    def _fit_keys(self) -> None:
        """Keys as tall as the text size asks, or as the rows fit in the space the keyboard has."""
        grid, box = self.ids.keyboard, self.ids.keys_box
        rows = max(1, -(-len(grid.children) // grid.cols))
        room = (box.height - (rows - 1) * grid.spacing[1]) / rows if box.height > 1 else 1e9
        height = max(self.app.u * 64, min(self.app.u * 96 * self.app.text_scale, room))
        for button in grid.children:
            button.height = height
            button.font_size = min(self.app.u * 44 * self.app.text_scale, height * 0.62)

    def press(self, key: str) -> None:
        self.error = ""
        if key == "⌫":
            self.plate = self.plate[:-1]
        elif key == "clear":
            self.plate = ""
        elif key in next_keys(self.plate):
            self.plate += key

    def next(self) -> None:
        problem = plate_problem(self.plate)
        if problem:
            self.error = self.app.tr(problem)
            return
        self.app.step_done(results={"plate": self.plate})
