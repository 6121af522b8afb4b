"""The services of one area, each available or disabled with the reason."""

from __future__ import annotations

from typing import Any

from kivy.properties import StringProperty

from screens.base import KioskScreen
from screens.widgets import Tile


class ServicesScreen(KioskScreen):
    category = StringProperty("household")

    def on_pre_enter(self, *_args: Any) -> None:
        self.refresh()

    def on_category(self, *_args: Any) -> None:
        if self.manager is not None and self.manager.current == self.name:
            self.refresh()

    def refresh(self, *_args: Any) -> None:
        """Rebuild the tiles: availability may have changed since last shown (a device went down)."""
        app = self.app
        grid = self.ids.grid
        grid.clear_widgets()
        for service in app.catalogue.in_category(self.category):
            availability = app.availability(service.id)
            tile = Tile(
                title=service.title.get(app.lang),
                help=service.help.get(app.lang),
                available=availability.ok,
                note=app.fee_text(service.fee_fen)
                if availability.ok
                else f"{app.tr('service.unavailable.title')}: {app.tr(availability.reason_key)}",
            )
            tile.service_id = service.id
            tile.bind(on_release=lambda t: app.start_service(t.service_id))
            grid.add_widget(tile)


SCREEN_CLASS = ServicesScreen
