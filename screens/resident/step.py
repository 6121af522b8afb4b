"""The step host: shows whichever step the flow says comes now, inside a common frame (the title
row with the service name, the question and the named stages; the three-slot action bar; the
result template when the step stops). It talks to the step widget only through
:class:`screens.steps.base.StepWidget`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty

from screens.base import KioskScreen
from screens.steps.base import service_stages

if TYPE_CHECKING:
    from screens.steps.base import StepWidget

# steps after which going back cannot undo anything: back is hidden (UX.md "Action bar")
NO_BACK = frozenset({"submit", "payment", "print"})
# steps after the request is safe in the outbox: the leave slot reads 完成, not a cancel word
SUBMITTED = frozenset({"print"})


class StepScreen(KioskScreen):
    service_title = StringProperty("")
    step_title = StringProperty("")
    question = StringProperty("")  # the headline: the widget's question, else the step's title
    stages = ListProperty([])  # named stages shown (translated)
    stage = NumericProperty(-1)  # index of the current one
    progress = StringProperty("")  # the stages as one line of text (tests, voice)
    back_text = StringProperty("")
    leave_text = StringProperty("")
    main_text = StringProperty("")
    busy = BooleanProperty(False)
    can_go_back = BooleanProperty(True)
    next_visible = BooleanProperty(False)  # the step widget wants a "next" button (wants_next)
    result = ObjectProperty(None, allownone=True)  # the StepResult shown instead of the step

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
        widget.bind(
            wants_next=self._follow, busy=self._follow, question=self._follow, main_key=self._follow,
            result=self._show_result,
        )  # fmt: skip
        self.refresh_texts()
        self._show_result()

    def _follow(self, *_args: Any) -> None:
        widget = self.widget
        if widget is None or self._flow is None:
            return
        app = self.app
        kind = self._flow.step.kind
        self.next_visible = bool(widget.wants_next)
        self.busy = bool(widget.busy)
        default = f"question.{kind}"
        self.question = (
            widget.question
            or self.step_title
            or (app.tr(default) if default in app.messages else self.service_title)
        )
        self.can_go_back = kind not in NO_BACK
        self.back_text = app.tr("app.back") if self.can_go_back else ""
        self.leave_text = app.tr("app.finish" if kind in SUBMITTED else "app.cancel")
        main_key = widget.main_key or ("app.next" if widget.wants_next else "")
        self.main_text = app.tr(main_key) if main_key else ""

    def refresh_texts(self, *_args: Any) -> None:
        if self._flow is None:
            return
        app = self.app
        step = self._flow.step
        self.service_title = self._flow.service.title.get(app.lang)
        self.step_title = step.title.get(app.lang) if step.title else ""
        stages, current = service_stages([s.kind for s in self._flow.service.steps], step.kind)
        self.stages = [app.tr(f"stage.{name}") for name in stages]
        self.stage = current
        self.progress = " → ".join(self.stages)
        if self.widget is not None:
            self.widget.refresh_texts()
        self._follow()
        self._show_result()

    def _show_result(self, *_args: Any) -> None:
        """The widget stopped (or goes on again): the result template replaces it, or it returns."""
        widget = self.widget
        result = widget.result if widget is not None else None
        self.result = result
        panel = self.ids.result
        if result is None:
            return
        app = self.app
        panel.kind = result.kind
        panel.title = app.tr(result.title_key)
        panel.body = app.tr(result.body_key)
        panel.note = app.tr(result.note_key) if result.note_key else ""
        panel.detail = result.detail
        panel.home_text = app.tr(result.home_key)
        panel.retry_text = app.tr(result.retry_key) if result.retry_key else ""
        panel.help_shown = result.help
        panel.retry_main = result.retry_main
        panel.qr_texture = result.qr

    def result_action(self, action: str) -> None:
        if self.widget is not None and self.result is not None:
            self.widget.result_action(action)

    def _teardown(self) -> None:
        if self.widget is not None:
            self.widget.teardown()
            self.ids.container.clear_widgets()
            self.widget = None
        self.result = None

    def reset(self) -> None:
        self._teardown()
        self._flow = None
        self.next_visible = self.busy = False
        self.service_title = self.step_title = self.progress = self.question = ""
        self.back_text = self.leave_text = self.main_text = ""
        self.stages = []

    def press_next(self) -> None:
        if self.widget is not None and self.main_text and not self.result:
            self.widget.next()

    def back(self) -> None:
        if self.busy or not self.can_go_back:
            return
        if self.widget is not None and self.widget.back():
            return  # the step went back inside itself (e.g. to the previous field)
        self.app.go_back()

    def leave(self) -> None:
        if self.busy:
            return
        if self._flow is not None and self._flow.step.kind in SUBMITTED:
            if self.widget is not None:
                self.widget.result_action("home")  # the request is safe: finish, not cancel
            return
        self.app.cancel()


SCREEN_CLASS = StepScreen
