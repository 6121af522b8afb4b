"""The step host: shows whichever step the flow says comes now, inside a common frame
(service title, step title, progress, back and cancel)."""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, StringProperty

from screens.base import KioskScreen


class StepScreen(KioskScreen):
    service_title = StringProperty("")
    step_title = StringProperty("")
    progress = StringProperty("")
    can_go_back = BooleanProperty(True)
    next_visible = BooleanProperty(False)  # the step widget wants a "next" button (wants_next)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._flow: Any = None
        self.widget: Any = None

    def load(self, flow: Any) -> None:
        from screens.steps import widget_class

        self._teardown()
        self._flow = flow
        step = flow.step
        self.widget = widget_class(step.kind)(flow=flow, step=step)
        self.ids.container.add_widget(self.widget)
        if "wants_next" in self.widget.properties():
            self.widget.bind(wants_next=self.setter("next_visible"))
            self.next_visible = self.widget.wants_next
        else:
            self.next_visible = False
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
        if self.widget is not None and hasattr(self.widget, "refresh_texts"):
            self.widget.refresh_texts()

    def _teardown(self) -> None:
        if self.widget is not None:
            teardown = getattr(self.widget, "teardown", None)
            if teardown is not None:
                teardown()
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
        if self.widget is not None and hasattr(self.widget, "back") and self.widget.back():
            return  # the step went back inside itself (e.g. to the previous field)
        self.app.go_back()


SCREEN_CLASS = StepScreen
