"""Screens set up and tear down in pairs even when the screen changes twice before a frame.

Kivy's ScreenManager drops ``on_enter``/``on_leave`` when ``current`` changes again before the
transition's first frame (a card laid on the attract screen goes attract -> home -> a service at
once). Work started on enter and stopped on leave then never stops: the attract screen's repeating
animations kept running on a hidden screen, two more per visit, found by the soak bench.
"""

from __future__ import annotations

from typing import Any

import pytest
from kivy.animation import Animation

pytestmark = pytest.mark.ui


def _animations_on(widget: Any) -> int:
    return sum(1 for anim in Animation._instances if widget.uid in anim._widgets)


def test_attract_animations_stop_when_the_screen_changes_twice_in_one_frame(kiosk: Any) -> None:
    app = kiosk.app
    attract = app.screen("attract")
    kiosk.frames(2)
    assert _animations_on(attract) > 0  # the card and the pulse are animated while the attract screen shows
    for _visit in range(5):
        app.show("home")
        app.show("services")  # the second change comes before any frame
        kiosk.frames(2)
        assert kiosk.screen == "services"
        assert _animations_on(attract) == 0, "the hidden attract screen is still animating"
        app.show_attract()
        kiosk.frames(2)
        # no pile-up: the card's chain (at most 3 nested sequences + 1 step) and the pulse (1 + 1)
        assert 0 < _animations_on(attract) <= 6


def test_maintenance_refresh_stops_when_left_before_a_frame(kiosk: Any) -> None:
    app = kiosk.app
    maintenance = app.screen("maintenance")
    app.show("maintenance")
    app.show_attract()  # left before its first frame
    kiosk.frames(2)
    event = getattr(maintenance, "_event", None)
    assert event is not None and not event.is_triggered  # the 1 s refresh was cancelled
