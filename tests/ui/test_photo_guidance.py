"""The photo step guides (screens/steps/photo.py; issue 18 finding 7): an arrow and words for the
way to move, as seen in the mirrored preview, and the review shows the final cropped photo, not
the live frame."""

from __future__ import annotations

from typing import Any

import pytest

from kiosk.photo.checks import Assessment, Check
from kiosk.photo.detect import Face
from screens.steps.photo import direction

pytestmark = pytest.mark.ui

SIZE = (640, 480)


def _off(cx: float, cy: float, check: Check | None = None) -> Assessment:
    face = Face((cx - 60, cy - 80, 120, 160), None)
    return Assessment((check or Check("centring", False, 2.0, "photo.hint.centre"),), face, SIZE)


@pytest.mark.parametrize(
    ("cx", "cy", "way"),
    [
        (500, 200, ("arrow-right-bold", "photo.move.right")),  # right in the image: left in the mirror
        (140, 200, ("arrow-left-bold", "photo.move.left")),
        (320, 420, ("arrow-up-bold", "photo.move.up")),  # too low in the picture
        (320, 60, ("arrow-down-bold", "photo.move.down")),
    ],
)
def test_the_arrow_points_the_way_to_move(cx: float, cy: float, way: tuple[str, str]) -> None:
    assert direction(_off(cx, cy)) == way


def test_closer_and_farther_and_nothing_to_move() -> None:
    closer = Check("face_size", False, 0.1, "photo.hint.closer")
    farther = Check("face_size", False, 0.9, "photo.hint.farther")
    assert direction(_off(320, 200, closer)) == ("arrow-expand-all", "photo.hint.closer")
    assert direction(_off(320, 200, farther)) == ("arrow-collapse-all", "photo.hint.farther")
    assert direction(_off(320, 200, Check("sharpness", False, 1.0, "photo.hint.blurred"))) is None
    assert direction(None) is None


def test_review_shows_the_final_crop(kiosk: Any) -> None:
    from kiosk.photo.specs import get_spec

    kiosk.wait_until(lambda: "camera" in kiosk.app.runtime.devices, timeout_s=30, what="the simulated camera")
    kiosk.tap_at(300, 300)
    kiosk.tap("证件照")
    kiosk.tap("拍照测试业务")
    step = kiosk.app.screen("step").widget
    kiosk.wait_until(lambda: step.texture is not None, timeout_s=10, what="the live preview")
    live = tuple(step.texture.size)
    kiosk.wait_until(lambda: step.can_accept, timeout_s=30, what="an automatic capture")
    kiosk.frames(2)
    spec = get_spec(step.spec.name)
    assert step.reviewing and tuple(step.texture.size) == (spec.width, spec.height) != live
    kiosk.app.end_session("test")
