"""Screen switches draw without rendering text: what a screen shows is built and rendered ahead,
one step per frame after start-up (issue #22: a first switch to a services area rendered some
twenty Chinese labels in one frame, the longest frames of a visit's start)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from kivy.core.text import LabelBase

pytestmark = pytest.mark.ui


@pytest.fixture
def rendered(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """The texts Kivy renders into textures while the test runs (a spy: the rendering still runs)."""
    texts: list[str] = []
    real = LabelBase._render_real

    def spy(self: Any, *args: Any, **kwargs: Any) -> Any:
        texts.append(self.text)
        return real(self, *args, **kwargs)

    monkeypatch.setattr(LabelBase, "_render_real", spy)
    yield texts


def _run_prebuild(kiosk: Any, screen: Any) -> None:
    """What the registry does after start-up for ``screen``: its prebuild steps, one per frame."""
    from screens.registry import _prebuild

    for _step in _prebuild(screen):
        kiosk.frames(1)
    kiosk.frames(1)


def test_start_up_builds_every_screen_ahead(kiosk: Any) -> None:
    app = kiosk.app
    kiosk.wait_until(lambda: app.registry.built, timeout_s=30, what="the screens to be built")
    from screens.registry import SCREEN_MODULES

    assert {s.name for s in app.manager.screens} >= set(SCREEN_MODULES)


def test_switching_services_areas_renders_no_tile_text(kiosk: Any, rendered: list[str]) -> None:
    app = kiosk.app
    services = app.screen("services")
    _run_prebuild(kiosk, services)
    app.begin()
    kiosk.frames(2)
    rendered.clear()
    titles = set()
    for category in ("household", "vehicle", "photo"):
        app.choose_category(category)
        kiosk.frames(1)
        assert kiosk.screen == "services"
        titles |= {s.title.get(app.lang) for s in app.catalogue.in_category(category)}
        app.go_home()
        kiosk.frames(1)
    assert titles and not titles & set(rendered), f"tile titles rendered while switching: {rendered}"


def test_prebuild_leaves_the_area_shown_as_it_was(kiosk: Any) -> None:
    app = kiosk.app
    services = app.screen("services")
    services.category = "vehicle"
    _run_prebuild(kiosk, services)
    assert services.category == "vehicle"


def test_prebuild_never_changes_the_tiles_a_resident_sees(kiosk: Any) -> None:
    """Start-up's prebuild runs over many frames; a resident may reach the services screen before
    it ends. From then on it must not touch what the screen shows."""
    from screens.registry import _prebuild

    app = kiosk.app
    app.begin()
    kiosk.frames(1)
    steps = _prebuild(app.screen("services"))
    next(steps)  # start-up's prebuild has begun (first area laid out) when the resident arrives
    app.choose_category("photo")
    kiosk.frames(1)
    for _step in steps:
        kiosk.frames(1)
    ids = [tile.service_id for tile in reversed(app.screen("services").ids.grid.children)]
    assert ids == [s.id for s in app.catalogue.in_category("photo")]
