"""Reusable widgets: buttons, tiles, bars and the idle warning. Their look is in widgets.kv."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.label import Label
from kivy.uix.modalview import ModalView
from kivy.uix.widget import Widget


def text_width(text: str, font_size: float) -> float:
    """The width a one-line text needs, estimated from its characters (CJK one em, Latin about
    0.6 em): buttons sized by it never feed their own texture back into their width."""
    return sum(1.0 if ord(c) >= 0x2E80 else 0.62 for c in text) * font_size


def fit_font(text: str, font_size: float, width: float) -> float:
    """``font_size``, or smaller so that a one-word label (a key's "Delete") stays on one line in
    ``width`` instead of breaking inside the word."""
    need = text_width(text, font_size)
    return font_size if need <= width or need <= 0 else max(1.0, font_size * width / need)


class KButton(ButtonBehavior, Label):
    """A large rounded touch button (at least 15 mm high on the designed screen)."""

    role = StringProperty("primary")  # primary | secondary | danger | quiet


class Tile(ButtonBehavior, BoxLayout):
    """A big card-like button with a title, a help line and a note (fee, or why it is disabled)."""

    title = StringProperty("")
    help = StringProperty("")
    note = StringProperty("")
    available = BooleanProperty(True)
    accent = ListProperty([0.08, 0.25, 0.55, 1])


class ServiceTile(Tile):
    """A tile in a scrolling list: as tall as its text needs (large text never overflows)."""


class BusyIndicator(Widget):
    """A turning arc that shows work is in progress (runs only while on screen)."""

    angle = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._event: Any = None
        self.bind(parent=self._attached)

    def _attached(self, *_args: Any) -> None:
        if self.parent is not None and self._event is None:
            self._event = Clock.schedule_interval(self._turn, 1 / 30)
        elif self.parent is None and self._event is not None:
            self._event.cancel()
            self._event = None

    def _turn(self, dt: float) -> None:
        self.angle = (self.angle + 300 * dt) % 360


class IdleWarning(ModalView):
    """'Are you still there?' with a countdown; touching 'continue' gives the resident more time."""


# -- text that wraps well in Chinese -------------------------------------------------------------

PUNCTUATION = set("，。、；：？！…）》」』”’,.;:?!)·-— ")
# closing marks that must not begin a wrapped line (Chinese line-breaking rule, 避头点)
NO_LINE_START = set("，。、；：？！…）》」』”’,.;:?!)")


def lone_last_line(label: Label) -> bool:
    """True when a wrapped label breaks badly: one character alone on its last line (punctuation
    does not count: "动。" is lone too), or a line beginning with a closing mark ("，用来...").
    Reads the lines Kivy laid out last."""
    lines = [line for line in getattr(label._label, "_cached_lines", []) if line.words]
    if len(lines) < 2:
        return False
    texts = ["".join(word.text for word in line.words).strip() for line in lines]
    if any(text[:1] in NO_LINE_START for text in texts[1:]):
        return True
    return len([c for c in texts[-1] if c not in PUNCTUATION]) == 1


class KLabel(Label):
    """The kiosk's body text: wraps to its width and grows to its height. A wrapped line never
    leaves one character alone on the last line (UX.md) nor starts with a closing mark: the wrap
    width is narrowed by one character at a time (at most three) until it breaks well."""

    narrow = NumericProperty(0)

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bind(width=self._rewrap, text=self._rewrap, font_size=self._rewrap)
        self.bind(texture_size=self._check_lone)

    def _rewrap(self, *_args: Any) -> None:
        self.narrow = 0

    def _check_lone(self, *_args: Any) -> None:
        if self.narrow == 0 and self._break_at_punctuation():
            return
        if self.narrow < self.font_size * 3 and lone_last_line(self):
            self.narrow += self.font_size

    def _break_at_punctuation(self) -> bool:
        """Two lines whose second is a short tail ("...付款成功后自" / "动继续"): break after the
        first line's last comma or full stop instead, so the sentence's clause stays whole."""
        lines = [line for line in getattr(self._label, "_cached_lines", []) if line.words]
        if len(lines) != 2:
            return False
        first, last = ("".join(word.text for word in line.words) for line in lines)
        if len([c for c in last if c not in PUNCTUATION]) > 6:
            return False
        cut = max(first.rfind(mark) for mark in "，。；：！？")
        if cut < len(first) // 2 or cut >= len(first) - 1:
            return False
        width = self._label.get_extents(first[: cut + 1])[0] + 2
        if width >= self.width:
            return False
        self.narrow = self.width - width
        return True


# -- the three-slot action bar and the result template (docs/ux.md) ------------------------------


class KActionBar(BoxLayout):
    """The bottom bar of every resident step: three fixed slots (left back, middle leave, right
    the main action). An empty text leaves its slot empty (the slot keeps its place); ``busy``
    shows back and leave disabled while the kiosk works (submitting, verifying, paying, printing).
    Events: ``on_back``, ``on_leave``, ``on_main``."""

    back_text = StringProperty("")
    leave_text = StringProperty("")
    main_text = StringProperty("")
    main_enabled = BooleanProperty(True)
    busy = BooleanProperty(False)

    __events__ = ("on_back", "on_leave", "on_main")

    def on_back(self) -> None:
        """Back was pressed (bind to it)."""

    def on_leave(self) -> None:
        """Leave was pressed (bind to it)."""

    def on_main(self) -> None:
        """The main action was pressed (bind to it)."""


class ResultIcon(Widget):
    """The large icon of a result: ``ok`` (green tick), ``wait`` (blue clock), ``problem`` (amber
    exclamation) or ``ok_problem`` (a green tick with an amber mark: done, with one thing wrong).
    Drawn shapes, so no glyph can be missing from the font."""

    kind = StringProperty("ok")


class ResultPanel(BoxLayout):
    """One template for every outcome (UX.md "Results and failures"): icon, a title that says what
    happened, one sentence that says what to do next, an optional detail (a number), and at most
    three buttons in a fixed order: 呼叫帮助 (``help_shown``), 返回首页 (``home_text``), and a
    retry (``retry_text``, only where trying again can work). The main button is the retry when
    there is one, else 返回首页. Events: ``on_home``, ``on_retry``; 呼叫帮助 calls the assistance."""

    kind = StringProperty("problem")  # ok | wait | problem | ok_problem
    title = StringProperty("")
    body = StringProperty("")
    note = StringProperty("")  # a second sentence under the body
    detail = StringProperty("")
    home_text = StringProperty("")
    retry_text = StringProperty("")
    retry_main = BooleanProperty(True)
    help_shown = BooleanProperty(True)
    qr_texture = ObjectProperty(None, allownone=True)

    __events__ = ("on_home", "on_retry")

    def on_home(self) -> None:
        """返回首页 (or 完成) was pressed."""

    def on_retry(self) -> None:
        """The retry button was pressed."""


class StageBar(BoxLayout):
    """One progress indicator: the service's named stages (填写 → 拍照 → 核对 → 缴费 → 完成), the
    current one filled. ``stages`` are the shown names, ``current`` the index of this step's."""

    stages = ListProperty([])
    current = NumericProperty(-1)

    def on_stages(self, *_args: Any) -> None:
        self._build()

    def on_current(self, *_args: Any) -> None:
        self._build()

    def _build(self) -> None:
        from kivy.factory import Factory

        self.clear_widgets()
        for index, name in enumerate(self.stages):
            chip = Factory.StageChip(text=name)
            chip.current = index == self.current
            chip.passed = index < self.current
            self.add_widget(chip)
