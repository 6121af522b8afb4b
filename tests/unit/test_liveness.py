"""The liveness engine (kiosk/identity/liveness.py) and the landmark geometry it relies on.

Negative paths run on recorded camera sequences made from real photos (face_data.held_photo): a
photo held still, moved, turned in the image plane or tilted in front of the camera, and frozen
frames, all must fail. The positive paths run on landmark streams, not on pixels: no honest
"live" video can be made from still photos (compositing closed eyes onto a photo was tried and
dlib's 68-point model does not close the eyes it finds), so a blink is the real landmarks of a
photo with the lids moved together, and a turn is the real landmarks lifted onto an assumed head
depth and rotated. The geometry's invariances are tested on their own.
"""

from __future__ import annotations

import math
import random
import tomllib
from functools import cache
from pathlib import Path

import numpy as np
import pytest

from contract.faces import FaceBox
from kiosk.identity import liveness as lv
from kiosk.identity.landmarks import FaceLandmarker, FaceObservation, eye_openness, head_pose
from tests import face_data as fd

ROOT = Path(__file__).resolve().parents[2]
FPS = 15.0


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def portrait() -> np.ndarray:
    """A head-and-shoulders crop of obama.jpg (face ~150 px wide in a 640x480 camera frame)."""
    return fd.crop(fd.fixture_rgb("obama.jpg", 800), 0.25, 0.05, 0.75, 0.6)


def run_frames(challenge: str, frames: list[np.ndarray], timeout_s: float = 4.0) -> lv.LivenessState:
    clock = Clock()
    engine = lv.LivenessEngine(
        challenge, clock=clock, observer=FaceLandmarker(), direction=lv.EITHER, timeout_s=timeout_s
    )
    engine.start()
    start = clock.now
    for i, frame in enumerate(frames):
        clock.now = start + i / FPS
        state = engine.feed_frame(frame)
        if state.done:
            return state
    clock.now = start + len(frames) / FPS
    return engine.tick()


# -- a photo in front of the camera: recorded sequences that must fail -------------------------


def biden_portrait() -> np.ndarray:
    return fd.crop(fd.fixture_rgb("biden.jpg", 800), 0.0, 0.05, 1.0, 0.6)


@pytest.mark.parametrize("photo", ["obama", "biden"])
@pytest.mark.parametrize("kind", ["still", "translated", "rotated", "tilted"])
@pytest.mark.parametrize("challenge", ["blink", "turn"])
def test_a_photo_held_up_moved_turned_or_tilted_fails(photo: str, kind: str, challenge: str) -> None:
    image = portrait() if photo == "obama" else biden_portrait()
    state = run_frames(challenge, fd.held_photo(image, kind, 46), timeout_s=3.0)
    assert state.failed, state
    assert state.reason == ("no_blink" if challenge == "blink" else "no_turn")
    assert state.instruction == f"liveness.failed.{state.reason}"


@pytest.mark.parametrize("challenge", ["blink", "turn"])
def test_frozen_frames_fail_at_once(challenge: str) -> None:
    state = run_frames(challenge, fd.held_photo(portrait(), "frozen", 61))
    assert state.failed and state.reason == "frozen"
    assert state.remaining_s > 3.0  # long before the deadline


def test_no_face_fails_at_the_deadline_with_no_face() -> None:
    rng = np.random.default_rng(1)
    frames = [rng.integers(100, 140, (480, 640, 3), dtype=np.uint8) for _ in range(31)]
    state = run_frames("blink", frames, timeout_s=2.0)
    assert state.failed and state.reason == "no_face"


def test_two_faces_fail_with_several_faces() -> None:
    two = fd.side_by_side(portrait(), biden_portrait())
    frames = fd.held_photo(two, "still", 40)
    state = run_frames("blink", frames, timeout_s=2.0)
    assert state.failed and state.reason == "several_faces"


# -- landmark streams: the positive paths and the rules --------------------------------------


@cache
def real_points() -> tuple[tuple[float, float], ...]:
    observation = FaceLandmarker().observe(fd.camera_frame(portrait()))
    assert observation.single
    return observation.points


def box_of(points: tuple[tuple[float, float], ...]) -> FaceBox:
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    return FaceBox(int(min(xs)), int(min(ys)), int(max(xs)) + 1, int(max(ys)) + 1, 1.5)


def observe(points: tuple[tuple[float, float], ...], faces: int = 1) -> FaceObservation:
    return FaceObservation(faces, box_of(points), points)


def closed_eyes(points: tuple[tuple[float, float], ...], closure: float) -> tuple[tuple[float, float], ...]:
    """The lids moved together: ``closure`` 0 = as photographed, 1 = shut."""
    p = [list(q) for q in points]
    for corner_a, corner_b, lids in ((36, 39, (37, 38, 40, 41)), (42, 45, (43, 44, 46, 47))):
        (ax, ay), (bx, by) = points[corner_a], points[corner_b]
        for i in lids:
            x, y = points[i]
            t = ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / ((bx - ax) ** 2 + (by - ay) ** 2)
            line_y = ay + t * (by - ay)
            p[i][1] = y + (line_y - y) * closure
    return tuple((x, y) for x, y in p)


def turned(points: tuple[tuple[float, float], ...], degrees: float) -> tuple[tuple[float, float], ...]:
    """The head turned ``degrees`` (> 0: the nose to the image's right, the resident's left):
    the frontal landmarks lifted onto an ellipsoid head with a protruding nose, rotated about the
    vertical axis and projected orthographically."""
    pts = np.array(points)
    cx = (pts[0, 0] + pts[16, 0]) / 2
    a = abs(pts[16, 0] - pts[0, 0]) / 2
    z = -0.8 * a * np.sqrt(np.clip(1 - ((pts[:, 0] - cx) / a) ** 2, 0, 1))
    for i, w in {
        27: 0.1,
        28: 0.25,
        29: 0.4,
        30: 0.55,
        31: 0.3,
        32: 0.38,
        33: 0.45,
        34: 0.38,
        35: 0.3,
    }.items():
        z[i] -= w * a
    t = math.radians(-degrees)
    x = cx + (pts[:, 0] - cx) * math.cos(t) + z * math.sin(t)
    return tuple((float(u), float(v)) for u, v in zip(x, pts[:, 1], strict=True))


def engine(
    challenge: str, direction: str | None = None, timeout_s: float = 10.0
) -> tuple[lv.LivenessEngine, Clock]:
    clock = Clock()
    e = lv.LivenessEngine(challenge, clock=clock, direction=direction, timeout_s=timeout_s)
    e.start()
    return e, clock


def feed(e: lv.LivenessEngine, clock: Clock, stream: list[FaceObservation]) -> lv.LivenessState:
    state = e.state
    for observation in stream:
        clock.now += 1 / FPS
        state = e.feed(observation, change=1.5)
        if state.done:
            break
    return state


def blink_stream(closures: list[float]) -> list[FaceObservation]:
    return [observe(closed_eyes(real_points(), c)) for c in closures]


def test_a_blink_passes() -> None:
    e, clock = engine("blink")
    state = feed(e, clock, blink_stream([0.0] * 4))
    assert state.phase == lv.ACTING and state.instruction == "liveness.blink" and state.progress == 0.3
    state = feed(e, clock, blink_stream([0.4, 0.9, 1.0, 0.9]))
    assert state.phase == lv.ACTING and state.progress == 0.6  # shut: not passed until they open
    state = feed(e, clock, blink_stream([0.3, 0.0]))
    assert state.passed and state.instruction == "liveness.passed" and state.progress == 1.0


def test_eyes_half_closed_or_shut_too_long_are_no_blink() -> None:
    e, clock = engine("blink", timeout_s=5.0)
    assert not feed(e, clock, blink_stream([0.0] * 4 + [0.3, 0.0] * 10)).done  # squinting is not a blink
    state = feed(e, clock, blink_stream([1.0] * 35 + [0.0] * 60))  # shut for 2.3 s, then open
    assert state.failed and state.reason == "no_blink"


def turn_stream(degrees: list[float]) -> list[FaceObservation]:
    return [observe(turned(real_points(), d)) for d in degrees]


@pytest.mark.parametrize(("direction", "sign"), [(lv.LEFT, 1.0), (lv.RIGHT, -1.0)])
def test_a_turn_to_the_asked_side_and_back_passes(direction: str, sign: float) -> None:
    e, clock = engine("turn", direction)
    state = feed(e, clock, turn_stream([0.0] * 4))
    assert state.instruction == f"liveness.turn_{direction}"
    state = feed(e, clock, turn_stream([sign * d for d in (5, 10, 15, 20, 25)]))
    assert state.phase == lv.RETURNING and state.instruction == "liveness.turn_back"
    state = feed(e, clock, turn_stream([sign * d for d in (15, 8, 2)]))
    assert state.passed


def test_a_turn_to_the_other_side_a_jump_or_no_return_does_not_pass() -> None:
    e, clock = engine("turn", lv.LEFT, timeout_s=5.0)
    state = feed(e, clock, turn_stream([0.0] * 4 + [-5, -10, -15, -20, -25, -15, -5, 0]))
    assert state.phase == lv.ACTING  # turned right when asked left
    state = feed(e, clock, turn_stream([0, 25, 25, 0, 0]))  # two photos swapped: no intermediate
    assert state.phase == lv.ACTING
    state = feed(e, clock, turn_stream([5, 10, 15, 20, 25] + [25] * 80))  # turned, never back
    assert state.failed and state.reason == "no_turn"


def test_the_engine_chooses_the_side_and_records_it() -> None:
    sides = {
        lv.LivenessEngine("turn", clock=Clock(), rng=random.Random(s)).state.direction for s in range(20)
    }
    assert sides == {lv.LEFT, lv.RIGHT}


def test_a_face_lost_mid_challenge_starts_it_again() -> None:
    e, clock = engine("blink")
    feed(e, clock, blink_stream([0.0] * 4 + [1.0]))
    state = feed(e, clock, [FaceObservation(0)] * 25)  # 1.7 s without a face
    assert state.phase == lv.WAITING and state.instruction == "liveness.look"
    state = feed(e, clock, blink_stream([0.0]))  # eyes open again: not a completed blink
    assert not state.passed


def test_several_faces_during_the_challenge_fail() -> None:
    e, clock = engine("blink")
    feed(e, clock, blink_stream([0.0] * 4))
    state = feed(e, clock, [observe(real_points(), faces=2)] * 2)
    assert state.instruction == "liveness.one_person" and not state.done
    state = feed(e, clock, [observe(real_points(), faces=2)])
    assert state.failed and state.reason == "several_faces"


def test_a_face_that_is_too_small_is_asked_closer() -> None:
    small = tuple((300 + x * 0.2, 200 + y * 0.2) for x, y in real_points())
    e, clock = engine("blink")
    assert feed(e, clock, [observe(small)] * 3).instruction == "liveness.closer"


def test_the_deadline_passes_without_frames() -> None:
    e, clock = engine("blink", timeout_s=3.0)
    clock.now += 2.0
    assert e.tick().remaining_s == pytest.approx(1.0)
    clock.now += 1.0
    state = e.tick()
    assert state.failed and state.reason == "no_face"


def test_the_match_frame_is_kept_only_after_a_pass_and_cleared() -> None:
    clock = Clock()
    e = lv.LivenessEngine("blink", clock=clock, observer=FaceLandmarker(), timeout_s=2.0)
    e.start()
    for frame in fd.held_photo(portrait(), "still", 8):
        clock.now += 1 / FPS
        e.feed_frame(frame)
    assert e.frame_for_match() is None  # not passed
    e.state = lv.LivenessState("blink", phase=lv.PASSED)
    kept = e.frame_for_match()
    assert kept is not None and kept.shape == (480, 640, 3)
    e.clear()
    assert e.frame_for_match() is None


def test_every_instruction_and_reason_has_zh_and_en_texts() -> None:
    table = tomllib.loads((ROOT / "config/messages/liveness.toml").read_text(encoding="utf-8"))["liveness"]
    keys = {"look", "one_person", "closer", "blink", "turn", "turn_left", "turn_right", "turn_back", "passed"}
    for key in keys:
        assert set(table[key]) == {"zh", "en"}, key
    assert set(table["failed"]) == set(lv.FAIL_REASONS)
    assert all(set(v) == {"zh", "en"} for v in table["failed"].values())


# -- the geometry ------------------------------------------------------------------------------


def affine(
    points: tuple[tuple[float, float], ...], m: np.ndarray, t: np.ndarray
) -> tuple[tuple[float, float], ...]:
    return tuple((float(x), float(y)) for x, y in (np.array(points) @ m.T + t))


def test_eye_openness_and_yaw_do_not_move_under_any_affine_map_of_a_flat_face() -> None:
    rng = np.random.default_rng(7)
    base = real_points()
    open0, pose0 = eye_openness(base), head_pose(base)
    for _ in range(50):
        angle = rng.uniform(-math.pi, math.pi)
        rot = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
        squash = np.diag(rng.uniform(0.4, 1.0, 2))
        m = rng.uniform(0.3, 3.0) * rot @ squash @ rot.T @ rot  # rotate, tilt, scale: det > 0
        moved = affine(base, m, rng.uniform(-500, 500, 2))
        assert eye_openness(moved) == pytest.approx(open0, rel=1e-6)
        pose = head_pose(moved)
        assert (pose.yaw, pose.pitch) == pytest.approx((pose0.yaw, pose0.pitch), abs=1e-6)


def test_yaw_follows_a_3d_turn_and_blinks_close_the_eyes() -> None:
    base = real_points()
    yaws = [head_pose(turned(base, d)).yaw - head_pose(base).yaw for d in (-30, -15, 0, 15, 30)]
    assert yaws == sorted(yaws) and yaws[0] < -25 and yaws[-1] > 25 and abs(yaws[2]) < 1e-9
    assert eye_openness(closed_eyes(base, 1.0)) < 0.05 * eye_openness(base)
