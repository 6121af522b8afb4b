"""Address step: where a document is mailed, without typing Chinese.

A resident whose ID card was read may mail to the card's address with one touch. Otherwise (or
instead) they pick province -> city -> county from big paged tiles (``kiosk/services/regions.py``; the lists
open at the terminal's own area when the site sets ``kiosk.region_code``) and type only the house
number on a keypad of digits, a few letters and words like 号 楼 单元 室. The address goes to the
request as ``mail_address`` (the schemas' field) with the county code as ``mail_region``.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.services.regions import (
    DETAIL_LETTERS,
    DETAIL_MAX,
    DETAIL_WORDS,
    Region,
    compose_address,
    detail_problem,
    load_regions,
    mask_address,
    page_of,
)
from screens.steps.base import StepBase
from screens.widgets import KButton

COLS = {True: 5, False: 4}  # tiles per row: landscape, portrait
ROWS = {True: 4, False: 10}  # rows per page with normal text (large text: one row less in landscape)


class AddressChoose(BoxLayout):
    """The card's address or the lists (see address.kv)."""

    step = ObjectProperty(None)


class AddressPick(BoxLayout):
    """A page of region tiles with page buttons (see address.kv)."""

    step = ObjectProperty(None)


class AddressDetail(BoxLayout):
    """The chosen area, the house number typed so far and its keypad (see address.kv)."""

    step = ObjectProperty(None)


BODIES = {"choose": AddressChoose, "pick": AddressPick, "detail": AddressDetail}


class AddressStep(StepBase):
    mode = StringProperty("choose")  # choose | pick | detail
    prompt = StringProperty("")
    region_text = StringProperty("")
    detail = StringProperty("")
    error = StringProperty("")
    page = NumericProperty(0)
    pages = NumericProperty(1)
    card_address = StringProperty("")

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        self.regions = load_regions()
        self.parent_code = ""  # whose children are on the tiles ("" = provinces)
        self.region_code = ""  # the county chosen
        identity = flow.session.identity
        self.card_address = str(getattr(identity, "address", "") or "").strip()
        self._start = self.regions.start_code(self.app.runtime.config.kiosk.region_code)
        self._body: Any = None
        self.bind(mode=lambda *_: self._show(), page=lambda *_: self._show())
        if self.card_address:
            self._show()
        else:
            self.open_lists()

    # -- what the resident does ------------------------------------------------------------------
    def use_card(self) -> None:
        """Mail to the address printed on the card that was read in this session."""
        self.app.step_done(results={"mail_address": self.card_address[:200], "mail_region": ""})

    def open_lists(self) -> None:
        self.parent_code = self._start
        self.page = 0
        self.mode = "pick"
        self._show()

    def choose(self, code: str) -> None:
        region = self.regions.get(code)
        if region is None:
            return
        if region.children:
            self.parent_code = code
            self.page = 0
            self._show()
            return
        self.region_code = code
        self.region_text = self.regions.written_name(code)
        self.error = ""
        self.mode = "detail"

    def turn(self, delta: int) -> None:
        self.page = max(0, min(self.pages - 1, self.page + delta))

    def press(self, key: str) -> None:
        self.error = ""
        if key == "⌫":
            self.detail = self.detail[:-1]
        elif key == "clear":
            self.detail = ""
        elif len(self.detail) + len(key) <= DETAIL_MAX:
            self.detail += key

    def next(self) -> None:
        if self.mode != "detail":
            return
        problem = detail_problem(self.detail)
        if problem:
            self.error = self.app.tr(problem)
            return
        address = compose_address(self.regions, self.region_code, self.detail)
        self.app.step_done(results={"mail_address": address, "mail_region": self.region_code})

    def back(self) -> bool:
        """Up one level inside the step; False when the resident leaves it."""
        if self.mode == "detail":
            self.mode = "pick"
            return True
        if self.mode == "pick" and self.parent_code and self.parent_code != self._start:
            path = self.regions.path(self.parent_code)
            self.parent_code = path[-2].code if len(path) > 1 else ""
            self.page = 0
            self._show()
            return True
        if self.mode == "pick" and self.card_address:
            self.mode = "choose"
            return True
        return False

    def go_up(self) -> None:
        """'Change the area' button: from the start area back up to the provinces."""
        self._start = ""
        self.parent_code = ""
        self.page = 0
        self.mode = "pick"
        self._show()

    # -- drawing -----------------------------------------------------------------------------------
    def refresh_texts(self) -> None:
        self._show()

    def masked_card_address(self) -> str:
        return mask_address(self.card_address)

    def detail_keys(self) -> list[str]:
        return [*"1234567890", *DETAIL_LETTERS, *DETAIL_WORDS]

    def _show(self) -> None:
        app = self.app
        self.wants_next = self.mode == "detail"
        if not isinstance(self._body, BODIES[self.mode]):
            self.ids.body.clear_widgets()
            self._body = BODIES[self.mode](step=self)
            self.ids.body.add_widget(self._body)
        if self.mode == "choose":
            self.prompt = app.tr("address.title")
        elif self.mode == "detail":
            self.prompt = app.tr("address.detail")
            self._fill_keys()
        else:
            level = len(self.parent_code)
            key = {0: "province", 2: "city"}.get(level, "county")
            self.prompt = app.tr(f"address.pick.{key}")
            self.region_text = self.regions.written_name(self.parent_code) if self.parent_code else ""
            self._fill_tiles()

    def _fill_tiles(self) -> None:
        grid = self._body.ids.tiles
        app = self.app
        landscape = bool(app.landscape)
        rows = ROWS[landscape] - (1 if landscape and app.text_scale > 1 else 0)
        per_page = rows * COLS[landscape]
        items, self.pages = page_of(self.regions.children(self.parent_code), self.page, per_page)
        grid.clear_widgets()
        grid.cols = COLS[landscape]
        for region in items:
            grid.add_widget(self._tile(region))

    def _tile(self, region: Region) -> KButton:
        app = self.app
        button = KButton(text=region.name, role="secondary")
        button.height = app.u * (100 if app.text_scale == 1 else 110)  # after the kv rule's height
        button.font_size = app.u * (34 if len(region.name) <= 6 else 28) * app.text_scale
        button.region_code = region.code
        button.bind(on_release=lambda b: self.choose(b.region_code))
        return button

    def _fill_keys(self) -> None:
        grid = self._body.ids.keypad
        app = self.app
        grid.clear_widgets()
        grid.cols = 11 if app.landscape else 8
        for key in self.detail_keys():
            button = KButton(text=key, role="secondary")
            button.height = app.u * (84 if app.text_scale == 1 else 96)
            button.font_size = app.u * 40 * app.text_scale
            button.bind(on_release=lambda b: self.press(b.text))
            grid.add_widget(button)
