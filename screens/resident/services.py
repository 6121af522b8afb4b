"""The services of one area, each available or disabled with the reason."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from kivy.properties import StringProperty

from screens.base import KioskScreen
from screens.registry import render_textures
from screens.widgets import ServiceTile, Tile


class ServicesScreen(KioskScreen):
    category = StringProperty("household")

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._tiles: dict[str, Tile] = {}

    def on_pre_enter(self, *_args: Any) -> None:
        self.refresh()
        self.ids.scroll.scroll_y = 1  # every resident sees the list from its first service

    def on_category(self, *_args: Any) -> None:
        if self._shown():
            self.refresh()

    def refresh(self, *_args: Any) -> None:
        """Show the category's tiles with current availability (a device may have gone down).

        Tiles are made once per service and then only updated, so switching areas re-renders no
        text that did not change (keeps every frame short while residents move around)."""
        self._show_tiles(self.category)

    def _show_tiles(self, category: str) -> None:
        grid = self.ids.grid
        tiles = [self._tile(service) for service in self.app.catalogue.in_category(category)]
        if list(reversed(grid.children)) != tiles:
            grid.clear_widgets()
            for tile in tiles:
                grid.add_widget(tile)
        self._equalise()
        self._fill(tiles)

    def prebuild(self) -> Iterator[None]:
        """Make every area's tiles and render their text ahead, one area per step (the registry runs
        one step per frame after start-up), so no resident's first switch to an area renders them.
        Stops as soon as the screen is shown: it then shows what the resident chose (and its area's
        tiles are made then); its area (``category``) is never changed here."""
        if self.manager is not None:
            self.size = self.manager.size  # laid out as when shown: wrapped text renders once
        for category in dict.fromkeys(s.category for s in self.app.catalogue.services):
            if self._shown():
                return
            self._show_tiles(category)  # in the grid, as when shown; texts update before the next frame
            yield
            if self._shown():
                return
            render_textures(self)
            yield

    def _shown(self) -> bool:
        return self.manager is not None and self.manager.current == self.name

    def _fill(self, tiles: list[Tile]) -> None:
        app = self.app
        for tile in tiles:
            service = app.catalogue[tile.service_id]
            availability = app.availability(service.id)
            tile.title = service.title.get(app.lang)
            tile.help = service.help.get(app.lang)
            tile.available = availability.ok
            tile.note = (
                app.fee_text(service.fee_fen)
                if availability.ok
                else app.tr("service.unavailable.note", reason=app.tr(availability.reason_key))
            )
            if availability.degraded:  # e.g. by plate only while the card reader is down
                tile.note = f"{tile.note}  ·  {app.tr('service.degraded.note')}".strip(" ·")

    def _equalise(self, *_args: Any) -> None:
        """All tiles as tall as the tallest one's text, so the rows line up."""
        tiles = list(self.ids.grid.children)
        if tiles:
            height = max(max(t.minimum_height for t in tiles), self.app.u * 250)
            for tile in tiles:
                tile.height = height

    def _tile(self, service: Any) -> Tile:
        tile = self._tiles.get(service.id)
        if tile is None:
            tile = ServiceTile()
            tile.service_id = service.id
            tile.bind(minimum_height=self._equalise)
            tile.bind(on_release=lambda t: self.app.start_service(t.service_id))
            self._tiles[service.id] = tile
        return tile


SCREEN_CLASS = ServicesScreen
