"""Form step: one question at a time, answered with big buttons, a number pad or date steppers.

Elderly residents do better with one question per page: a choice is answered by touching it (and
the next question follows), numbers are typed on a large pad (with X for ID numbers), dates are set
with +/- steppers. No Chinese typing anywhere.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.gridlayout import GridLayout
from kivy.uix.widget import Widget

from kiosk.services.fields import validate_field
from screens.steps.base import StepBase, StepResult
from screens.widgets import KButton

MAX_LENGTH = {"phone": 13, "id_number": 18, "number": 4, "digits": 32}


class KeypadEntry(BoxLayout):
    """The entered digits, big, above a 3x4 number pad (see form.kv)."""

    form = ObjectProperty(None)


class DateSteppers(BoxLayout):
    """Year / month / day, each with + and - buttons (see form.kv)."""

    form = ObjectProperty(None)


class FormStep(StepBase):
    error = StringProperty("")
    entry = StringProperty("")
    position = StringProperty("")
    year = NumericProperty(1990)
    month = NumericProperty(1)
    day = NumericProperty(1)

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        self.fields = list(step.fields)
        self.values: dict[str, Any] = {
            f.id: flow.session.values[f.id] for f in self.fields if f.id in flow.session.values
        }
        self.index = 0
        self._show()

    @property
    def field(self) -> Any:
        return self.fields[self.index]

    # -- drawing the current question --------------------------------------------------------------
    def refresh_texts(self) -> None:
        self._show(keep_entry=True)

    def _show(self, keep_entry: bool = False) -> None:
        app = self.app
        field = self.field
        self.question = field.label.get(app.lang)
        self.position = f"{self.index + 1} / {len(self.fields)}" if len(self.fields) > 1 else ""
        current = self.values.get(field.id)
        if not keep_entry:
            self.entry = "" if current is None else str(current)
        area = self.ids.input_area
        area.clear_widgets()
        self.wants_next = True  # a choice is selected by touch, then confirmed with 下一步 (UX.md)
        if field.type == "choice":
            area.add_widget(self._choice_grid(field, current))
            area.add_widget(Widget())
            self._fit_choices()
        elif field.type == "date":
            self._init_date(current)
            area.add_widget(DateSteppers(form=self))
        else:
            area.add_widget(KeypadEntry(form=self))

    def _choice_grid(self, field: Any, current: Any) -> GridLayout:
        app = self.app
        cols = 2 if len(field.options) > 3 or not app.landscape else len(field.options)
        grid = GridLayout(cols=cols, spacing=app.u * 28, size_hint_y=None)
        grid.bind(minimum_height=grid.setter("height"))
        for option in field.options:
            button = KButton(
                text=option.label(app.lang), role="primary" if option.value == current else "secondary"
            )
            button.option_value = option.value
            blocked = self.flow.blocked_reason(field.id, option.value)
            if blocked:  # a device this answer needs is down: offered disabled, with the reason
                button.disabled = True
                button.text = f"{option.label(app.lang)}\n{app.tr(blocked)}"
                button.font_size = app.u * 28 * app.text_scale
                button.disabled_color = app.c_danger  # readable, like a disabled service's reason
                # two lines (the answer and why it cannot be chosen): as tall as they need
                base = button.height
                button.bind(
                    texture_size=lambda b, size, base=base: setattr(
                        b, "height", max(base, size[1] + app.u * 24)
                    )
                )
            button.bind(on_release=lambda b: self.choose(b.option_value))
            grid.add_widget(button)
        self._grid = grid
        self.ids.input_area.bind(height=self._fit_choices)
        self._fit_choices()
        return grid

    def _fit_choices(self, *_args: Any) -> None:
        """Answer buttons as tall as the design asks, or as their rows fit the input area (six
        English answers in 长辈模式 rode over the title row); a two-line answer keeps its lines."""
        grid = getattr(self, "_grid", None)
        area = self.ids.input_area
        if grid is None or area.height <= 1:
            return
        app = self.app
        rows = max(1, -(-len(grid.children) // grid.cols))
        room = (area.height - (rows - 1) * grid.spacing[1]) / rows
        for button in grid.children:
            base = app.u * (124 if app.text_scale == 1 else 150)
            button.height = max(app.u * 64, min(max(base, button.texture_size[1] + app.u * 24), room))

    def choose(self, value: Any) -> None:
        """A choice was touched: it shows selected (filled); 下一步 confirms it."""
        self.entry = str(value)
        self.error = ""
        for button in getattr(self, "_grid", GridLayout()).children:
            if not button.disabled:
                button.role = "primary" if button.option_value == value else "secondary"

    def keys(self) -> list[str]:
        """The number pad's keys for the current field (X only for ID numbers)."""
        x_key = "X" if self.field.type == "id_number" else ""
        return ["1", "2", "3", "4", "5", "6", "7", "8", "9", x_key, "0", "⌫"]

    def press(self, key: str) -> None:
        if key == "⌫":
            self.entry = self.entry[:-1]
        elif key == "clear":
            self.entry = ""
        elif key and len(self.entry) < (
            self.field.max or 32 if self.field.type == "digits" else MAX_LENGTH.get(self.field.type, 18)
        ):
            self.entry += key
        self.error = ""

    def shown_entry(self, entry: str) -> str:
        """Digits grouped for reading back (phone 3-4-4, ID number 6-8-4)."""
        if self.field.type == "phone" and len(entry) > 3 and entry.startswith("1"):
            return " ".join(p for p in (entry[:3], entry[3:7], entry[7:]) if p)
        if self.field.type == "id_number":
            return " ".join(p for p in (entry[:6], entry[6:14], entry[14:]) if p)
        if self.field.type == "digits":  # a reference number, read back in fours
            return " ".join(entry[i : i + 4] for i in range(0, len(entry), 4))
        return entry

    # -- dates -------------------------------------------------------------------------------------
    def _init_date(self, current: Any) -> None:
        date = dt.date.fromisoformat(current) if current else dt.date(1990, 1, 1)
        self.year, self.month, self.day = date.year, date.month, date.day

    def step_date(self, part: str, delta: int) -> None:
        if part == "year":
            self.year = max(1900, min(dt.date.today().year + 20, self.year + delta))
        elif part == "month":
            self.month = (self.month - 1 + delta) % 12 + 1
        else:
            self.day = (self.day - 1 + delta) % 31 + 1
        self.error = ""

    def date_text(self) -> str:
        return f"{int(self.year):04d}-{int(self.month):02d}-{int(self.day):02d}"

    # -- answering ---------------------------------------------------------------------------------
    def next(self) -> None:
        self.answer(self.date_text() if self.field.type == "date" else self.entry)

    def _selected(self) -> Any:
        """The chosen option's value (options may be typed values, the entry is its text)."""
        for option in self.field.options:
            if str(option.value) == self.entry:
                return option.value
        return self.entry

    def answer(self, raw: Any) -> None:
        if self.field.type == "choice" and raw == self.entry:
            raw = self._selected()
        value, problem = validate_field(self.field, raw)
        if problem and self._stops(raw):  # an answer that rules the service out: a result screen
            self.result = StepResult(
                "problem", "result.service_stops.title", problem, retry_key="result.change_answer"
            )
            return
        if problem:
            self.error = self.app.tr(problem)
            return
        self.values[self.field.id] = value
        self.error = ""
        if self.index + 1 < len(self.fields):
            self.index += 1
            self._show()
            return
        errors = self.app.step_done(dict(self.values))
        if errors:  # the engine disagreed (cannot normally happen: same validation)
            ids = [f.id for f in self.fields]
            self.index = ids.index(errors[0].field)
            self._show()
            self.error = self.app.tr(errors[0].key)

    def _stops(self, raw: Any) -> bool:
        return any(o.value == raw and o.stops for o in getattr(self.field, "options", None) or ())

    def result_action(self, action: str) -> None:
        """A stop's retry ("返回修改") lets a mistaken touch be corrected: the question again."""
        if action == "retry":
            self.result = None
            self._show()
        else:
            super().result_action(action)

    def back(self) -> bool:
        if self.index == 0:
            return False
        self.index -= 1
        self._show()
        return True
