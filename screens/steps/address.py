"""Address step: where a document is mailed, without typing Chinese.

A resident whose ID card was read sees the card's address in full, readable, and may mail to it
with one touch. Otherwise (or instead) they pick province -> city -> county -> town/street ->
village/community from big paged tiles (``kiosk/services/regions.py``; the lists open at the
terminal's own area when the site sets ``kiosk.region_code``; a level with no shipped list is
skipped, and "not in the list" goes straight on) and type only the house number on a keypad of
digits, every capital letter and words like 号 楼 单元 室. The address goes to the request as
``mail_address`` (the schemas' field) with the county code as ``mail_region``.
"""

from __future__ import annotations

from typing import Any

from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.services.regions import (
    DETAIL_LETTERS,
    DETAIL_MAX,
    DETAIL_WORDS,
    Region,
    compose_address,
    detail_problem,
    load_regions,
    page_of,
    streets,
    villages,
    written_local,
)
from screens.steps.base import StepBase
from screens.widgets import KButton, fit_font

COLS = {True: 5, False: 4}  # tiles per row: landscape, portrait
KEY_COLS = {True: 13, False: 7}  # house-number keys per row (portrait with large text: one less)
LARGE_LANDSCAPE_EXTRA_COLS = 5  # 长辈模式 landscape: three rows of keys, not four (they must fit)
TILE_LINE = 6  # characters a tile line holds; longer names are split into two balanced lines
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
    local = BooleanProperty(False)  # the tiles are the streets or villages under the chosen county

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        self.regions = load_regions()
        self.parent_code = ""  # whose children are on the tiles ("" = provinces)
        self.region_code = ""  # the county chosen
        self.trail: list[Region] = []  # the town/street and village/community chosen under it
        identity = flow.session.identity
        self.card_address = str(getattr(identity, "address", "") or "").strip()
        self._start = self.regions.start_code(self.app.runtime.config.kiosk.region_code)
        self._body: Any = None
        self.bind(mode=lambda *_: self._show(), page=lambda *_: self._show())
        self._rows = 0  # rows of tiles on the page shown
        self.ids.body.bind(height=self._body_resized)
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

    def local_level(self) -> bool:
        """Whether the tiles are the towns/streets or villages under the chosen county."""
        return self.mode == "pick" and bool(self.region_code)

    def choices(self) -> tuple[Region, ...]:
        if not self.local_level():
            return self.regions.children(self.parent_code)
        return villages(self.trail[-1].code) if self.trail else streets(self.region_code)

    def choose(self, code: str) -> None:
        if self.local_level():
            region = next((r for r in self.choices() if r.code == code), None)
            if region is not None:
                self.trail.append(region)
                self._descend()
            return
        region = self.regions.get(code)
        if region is None:
            return
        if region.children:
            self.parent_code = code
            self.page = 0
            self._show()
            return
        self.region_code = code
        self.trail = []
        self._descend()

    def skip_level(self) -> None:
        """'Not in the list': the rest is typed as the house number (村 and 组 are on the keypad)."""
        self.error = ""
        self.mode = "detail"
        self._show()

    def _descend(self) -> None:
        """The next list under the county, or the house number once there is none."""
        self.page = 0
        self.region_text = self._written_so_far()
        self.error = ""
        if len(self.trail) < 2 and self.choices():
            self.mode = "pick"
            self._show()
            return
        self.mode = "detail"
        self._show()

    def _written_so_far(self) -> str:
        return self.regions.written_name(self.region_code) + "".join(
            written_local(r.name) for r in self.trail
        )

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
        if self.mode == "choose":
            self.use_card()
            return
        if self.mode != "detail":
            return
        problem = detail_problem(self.detail)
        if problem:
            self.error = self.app.tr(problem)
            return
        address = compose_address(self.regions, self.region_code, self.detail, self.trail)
        self.app.step_done(results={"mail_address": address, "mail_region": self.region_code})

    def back(self) -> bool:
        """Up one level inside the step; False when the resident leaves it."""
        if self.mode == "detail":
            if self.trail and not villages(self.trail[-1].code) and len(self.trail) < 2:
                self.trail.pop()  # the street had no village list: back to the streets
            self.mode = "pick"
            self._show_local()
            return True
        if self.local_level():
            if self.trail:
                self.trail.pop()
                self._show_local()
            else:
                self.region_code = ""
                self.page = 0
                self._show()
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

    def _show_local(self) -> None:
        """After going back: the list the resident chose from last (the county list if none)."""
        if self.region_code and not self.choices():
            self.region_code = ""
            self.trail = []
        self.page = 0
        self.region_text = self._written_so_far() if self.region_code else ""
        self._show()

    def go_up(self) -> None:
        """'Change the area' button: from the start area back up to the provinces."""
        self._start = ""
        self.parent_code = ""
        self.region_code = ""
        self.trail = []
        self.page = 0
        self.mode = "pick"
        self._show()

    # -- drawing -----------------------------------------------------------------------------------
    def refresh_texts(self) -> None:
        self._show()

    def detail_keys(self) -> list[str]:
        return [*"1234567890", *DETAIL_LETTERS, *DETAIL_WORDS]

    def _show(self) -> None:
        app = self.app
        self.local = self.local_level()
        # the main action sits in the action bar's right slot: 使用身份证地址 on the card address
        # (choosing from the lists is the body's other button), 下一步 after the house number
        self.wants_next = self.mode in ("choose", "detail")
        self.main_key = "address.use_card" if self.mode == "choose" else ""
        if not isinstance(self._body, BODIES[self.mode]):
            self.ids.body.clear_widgets()
            self._body = BODIES[self.mode](step=self)
            self.ids.body.add_widget(self._body)
        if self.mode == "choose":
            self.prompt = app.tr("address.title")
        elif self.mode == "detail":
            self.prompt = app.tr("address.detail")
            self._fill_keys()
        elif self.local_level():
            self.prompt = app.tr("address.pick.village" if self.trail else "address.pick.street")
            self.region_text = self._written_so_far()
            self._fill_tiles()
        else:
            level = len(self.parent_code)
            key = {0: "province", 2: "city"}.get(level, "county")
            self.prompt = app.tr(f"address.pick.{key}")
            self.region_text = self.regions.written_name(self.parent_code) if self.parent_code else ""
            self._fill_tiles()
        self.question = self.prompt  # what to choose now is the title row's headline

    def _fill_tiles(self) -> None:
        grid = self._body.ids.tiles
        app = self.app
        landscape = bool(app.landscape)
        rows = self._rows = self.tile_rows()
        per_page = rows * COLS[landscape]
        items, self.pages = page_of(self.choices(), self.page, per_page)
        grid.clear_widgets()
        grid.cols = COLS[landscape]
        for region in items:
            grid.add_widget(self._tile(region))

    def tile_rows(self) -> int:
        """Rows of tiles a page holds: the design's rows, fewer when they do not fit under the title
        row (an English question on two lines in 长辈模式 pushed the tiles over it)."""
        app = self.app
        landscape = bool(app.landscape)
        rows = ROWS[landscape] - (1 if landscape and app.text_scale > 1 else 0)
        body = self.ids.body.height
        if body <= 1:
            return rows  # not laid out yet: the rows are counted again once it is
        tile, gap = self._tile_height(), app.u * 14
        room = body - app.u * (90 if app.text_scale == 1 else 110) - app.u * 18  # the page buttons
        return max(1, min(rows, int((room + gap) // (tile + gap))))

    def _tile_height(self) -> float:
        # 84 design px are 21 mm on the 21.5-inch panel (>= 15 mm)
        return float(self.app.u * (84 if self.app.text_scale == 1 else 120))

    def _body_resized(self, *_args: Any) -> None:
        if self.mode == "pick" and self.tile_rows() != self._rows:
            self.page = 0
            self._show()
        elif self.mode == "detail":
            self._fit_keys()

    def _tile(self, region: Region) -> KButton:
        app = self.app
        button = KButton(text=self.tile_text(region), role="secondary")
        button.height = self._tile_height()  # after the kv rule's height
        button.font_size = app.u * (34 if "\n" not in button.text else 28) * app.text_scale
        button.region_code = region.code
        button.bind(on_release=lambda b: self.choose(b.region_code))
        return button

    def tile_text(self, region: Region) -> str:
        """What a tile shows for ``region`` (tests and the tour tap it by this)."""
        name = written_local(region.name) if len(region.code) > 6 else region.name
        return name if len(name) <= TILE_LINE else balanced(name)

    def _fill_keys(self) -> None:
        grid = self._body.ids.keypad
        app = self.app
        grid.clear_widgets()
        landscape = bool(app.landscape)
        grid.cols = KEY_COLS[landscape] + (
            (LARGE_LANDSCAPE_EXTRA_COLS if landscape else -1) if app.text_scale > 1 else 0
        )
        for key in self.detail_keys():
            button = KButton(text=key, role="secondary")
            button.bind(on_release=lambda b: self.press(b.text))
            grid.add_widget(button)
        if not getattr(grid, "_fitted", False):
            grid._fitted = True
            grid.bind(width=lambda *_: self._fit_keys())
        self._fit_keys()

    def _fit_keys(self) -> None:
        """House-number keys as tall as the design asks, or as the rows fit under the number."""
        if self._body is None or "keypad" not in self._body.ids:
            return
        grid, app = self._body.ids.keypad, self.app
        body = self.ids.body.height
        rows = max(1, -(-len(grid.children) // max(1, grid.cols)))
        height = app.u * (84 if app.text_scale == 1 else 96)
        if body > 1:
            room = body - app.u * 110 * (1 + (app.text_scale - 1) * 0.5) - app.u * 18  # the number row
            height = max(app.u * 60, min(height, (room - (rows - 1) * app.u * 12) / rows))
        for button in grid.children:
            button.height = height
            # words (号楼, 单元) a little smaller than single keys, so they never wrap; a squeezed
            # key's letter shrinks with it rather than being cut
            size = app.u * (40 if len(button.text) == 1 else 30) * app.text_scale
            width = (grid.width - (grid.cols - 1) * grid.spacing[0]) / max(1, grid.cols)
            button.font_size = fit_font(button.text, min(size, height * 0.62), width - app.u * 28)


def balanced(name: str) -> str:
    """A long name on two lines of nearly equal length, so no character is left alone on a line
    (石家庄高新技术产业开发区 -> 石家庄高新技\n术产业开发区)."""
    half = -(-len(name) // 2)
    return name[:half] + "\n" + name[half:]
