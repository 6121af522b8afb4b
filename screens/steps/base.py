"""What the step host may ask of a step widget, and a base class that gives the defaults.

The step host (``screens/resident/step.py``) shows one step widget at a time inside the common
frame (titles, progress, back, cancel, "next"). It calls only what :class:`StepWidget` names, so a
widget never has to be probed with ``hasattr``: every widget in ``screens/steps/`` inherits
:class:`StepBase` and overrides what it does differently.

A step's background work runs through ``self.tasks`` (:class:`kiosk.work.Tasks`): the outcome comes
back on the UI thread, an unexpected exception ends the visit calmly through the app's ``fail``,
and :meth:`StepBase.teardown` drops every answer still on its way when the resident leaves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from kivy.app import App
from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.work import Tasks


class StepWidget(Protocol):
    """The step host's view of a step widget."""

    wants_next: bool  # the host shows its "next" button while this is true (a Kivy property)

    def bind(self, **handlers: Callable[..., Any]) -> Any:
        """Kivy's property binding (the host follows ``wants_next``)."""

    def next(self) -> None:
        """The resident pressed the host's "next" button."""

    def back(self) -> bool:
        """The resident pressed "back": True when the step went back inside itself (the previous
        field, the list above), False to let the flow go to the previous step."""

    def refresh_texts(self) -> None:
        """The language or text size changed: draw every text again."""

    def teardown(self) -> None:
        """The step is left (done, back, cancel, idle wipe): stop its work, drop late answers."""


class StepBase(BoxLayout):
    """Defaults for :class:`StepWidget`: no "next" button, "back" leaves the step, nothing to
    redraw or stop but the background work started through ``self.tasks``."""

    wants_next = BooleanProperty(False)

    def __init__(self, *, flow: Any = None, step: Any = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow = flow
        self.step = step
        app = self.app
        self.tasks = Tasks(app.post, app.fail)

    @property
    def app(self) -> Any:
        return App.get_running_app()

    def next(self) -> None:
        """Nothing to confirm by default (steps without ``wants_next`` finish by themselves)."""

    def back(self) -> bool:
        return False

    def refresh_texts(self) -> None:
        """Nothing but kv-bound texts by default (kv rules follow ``app.lang`` themselves)."""

    def teardown(self) -> None:
        self.tasks.cancel()
