"""What a visit leaves in memory is freed when the kiosk returns to the attract screen, not at some
automatic full collection in the middle of the next resident's visit (kiosk/visit/memory.py)."""

from __future__ import annotations

import gc
import weakref
from typing import Any

import pytest

pytestmark = pytest.mark.ui


class _Cycle:
    """Stands for a visit's widget: refers to itself (as Kivy widgets do through their bindings)."""

    def __init__(self, name: str) -> None:
        self.me = self
        self.name = name


def test_start_up_objects_are_frozen_out_of_collections(kiosk: Any) -> None:
    kiosk.wait_until(lambda: gc.get_freeze_count() > 50_000, timeout_s=20, what="start-up objects frozen")


def test_the_visit_is_freed_at_the_attract_screen_and_only_when_nobody_is_there(kiosk: Any) -> None:
    app = kiosk.app
    automatic = gc.isenabled()
    gc.disable()  # only the kiosk's own collection may free the cycle
    try:
        app.begin()
        left = _Cycle("张三丰 synthetic")
        app.session.artifacts["widget"] = left
        ref = weakref.ref(left)
        del left
        before = app.visit_releases
        app.cancel()  # the wipe drops the reference; the cycle keeps itself alive
        assert ref() is not None and kiosk.screen == "attract"
        kiosk.wait_until(lambda: app.visit_releases == before + 1, timeout_s=5, what="the release")
        assert ref() is None

        app.begin()
        again = _Cycle("李四 synthetic")
        app.session.artifacts["widget"] = again
        ref = weakref.ref(again)
        del again
        app.cancel()
        app.begin()  # the next resident is already there: no collection in their visit
        kiosk.frames(60)
        assert app.visit_releases == before + 1 and ref() is not None
        app.cancel()
        kiosk.wait_until(lambda: app.visit_releases == before + 2, timeout_s=5, what="the next release")
        assert ref() is None
    finally:
        if automatic:
            gc.enable()


def test_start_up_objects_are_not_frozen_while_a_resident_is_there(kiosk: Any) -> None:
    """A resident who touches the screen in the first second after start must not have their
    session frozen out of collection with the start-up objects (frozen objects are never collected:
    a cycle holding the card or the photo would then outlive the visit)."""
    app = kiosk.app
    app.begin()
    frozen = gc.get_freeze_count()
    app._freeze_startup()  # what the app schedules once every screen is built
    assert gc.get_freeze_count() == frozen, "froze while a visit was in progress"
    app.cancel()
    kiosk.wait_until(lambda: gc.get_freeze_count() > frozen, timeout_s=5, what="the freeze after the visit")
    assert app.session is None and kiosk.screen == "attract"
