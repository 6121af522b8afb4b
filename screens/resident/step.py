"""The step host: shows whichever step the flow says comes now, inside a common frame
(service title, step title, progress, back and cancel). It talks to the step widget only through
:class:`screens.steps.base.StepWidget`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.properties import BooleanProperty, StringProperty

from screens.base import KioskScreen

if TYPE_CHECKING:
    from screens.steps.base import StepWidget


class StepScreen(KioskScreen):
    service_title = StringProperty("")
    step_title = StringProperty("")
    progress = StringProperty("")
    can_go_back = BooleanProperty(True)
    next_visible = BooleanProperty(False)  # the step widget wants a "next" button (wants_next)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._flow: Any = None
        self.widget: StepWidget | None = None

    def load(self, flow: Any) -> None:
        from screens.steps import widget_class

        self._teardown()
        self._flow = flow
        step = flow.step
        widget: StepWidget = widget_class(step.kind)(flow=flow, step=step)
        self.widget = widget
        self.ids.container.add_widget(widget)
        widget.bind(wants_next=self.setter("next_visible"))
        self.next_visible = widget.wants_next
        self.refresh_texts()

    def refresh_texts(self, *_args: Any) -> None:
        if self._flow is None:
            return
        app = self.app
        step = self._flow.step
        self.service_title = self._flow.service.title.get(app.lang)
        self.step_title = step.title.get(app.lang) if step.title else ""
        current, total = self._flow.progress()
        self.progress = app.tr("app.step_progress", current=current, total=total)
        self.can_go_back = True
        if self.widget is not None:
            self.widget.refresh_texts()

    def _teardown(self) -> None:
        if self.widget is not None:
            self.widget.teardown()
            self.ids.container.clear_widgets()
            self.widget = None

    def reset(self) -> None:
        self._teardown()
        self._flow = None
        self.next_visible = False
        self.service_title = self.step_title = self.progress = ""

    def press_next(self) -> None:
        if self.widget is not None and self.next_visible:
            self.widget.next()

    def back(self) -> None:
        if self.widget is not None and self.widget.back():
            return  # the step went back inside itself (e.g. to the previous field)
        self.app.go_back()


SCREEN_CLASS = StepScreen
