"""The photo step's state machine, driven frame by frame with a fake clock (no threads)."""

from __future__ import annotations

import numpy as np
import pytest

from drivers.base import DeviceHealth
from drivers.camera.base import CameraStatus, Frame, Image, status_health
from drivers.camera.samples import portrait
from kiosk.errors import FlowError
from kiosk.photo.detect import FaceDetector
from kiosk.photo.session import Latest, Phase, PhotoSession, PhotoState
from kiosk.photo.specs import get_spec
from kiosk.visit.idle import FakeClock

pytest.importorskip("skimage", reason="real face samples come from scikit-image (test extra)")


class StillCamera:
    """A camera double whose status the test sets; frames are fed to ``process`` directly."""

    simulated = True

    def __init__(self) -> None:
        self.current = CameraStatus.STREAMING

    def start(self) -> None:
        pass

    def status(self) -> CameraStatus:
        return self.current

    def latest(self) -> Frame | None:
        return None

    def wait_frame(self, after_seq: int, timeout: float) -> Frame | None:
        return None

    def health(self) -> DeviceHealth:
        return status_health(self.current)

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def good() -> Image:
    return portrait()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(100.0)


@pytest.fixture
def states() -> list[PhotoState]:
    return []


@pytest.fixture
def session(detector: FaceDetector, clock: FakeClock, states: list[PhotoState]) -> PhotoSession:
    return PhotoSession(
        StillCamera(),
        get_spec("resident-id"),
        post=lambda fn: fn(),
        on_state=states.append,
        detector=detector,
        stable_frames=3,
        countdown_s=2.0,
        max_attempts=2,
        keep_shots=2,
        give_up_after=30.0,
        clock=clock,
    )


def frame(image: Image, seq: int = 1) -> Frame:
    return Frame(image, 0.0, seq)


def feed_until_review(session: PhotoSession, clock: FakeClock, image: Image) -> None:
    for _ in range(3):
        session.process(frame(image), CameraStatus.STREAMING)
    assert session.state().phase is Phase.COUNTDOWN
    clock.now += 2.0
    assert session.process(frame(image), CameraStatus.STREAMING).phase is Phase.REVIEW


def test_stable_frames_start_a_countdown_then_capture(
    session: PhotoSession, clock: FakeClock, good: Image, states: list[PhotoState]
) -> None:
    s = session.process(frame(good), CameraStatus.STREAMING)
    assert s.phase is Phase.GUIDING and s.hint == "photo.hint.hold_still"
    session.process(frame(good), CameraStatus.STREAMING)
    s = session.process(frame(good), CameraStatus.STREAMING)
    assert s.phase is Phase.COUNTDOWN and s.countdown == 2
    clock.now += 1.2
    assert session.process(frame(good), CameraStatus.STREAMING).countdown == 1
    clock.now += 0.8
    s = session.process(frame(good), CameraStatus.STREAMING)
    assert s.phase is Phase.REVIEW and s.shots == 1 and s.selected == 0 and s.attempts_left == 1
    assert [st.countdown for st in states if st.phase is Phase.COUNTDOWN] == [2, 1]
    photo = session.compose()
    assert photo.width == 358 and photo.jpeg[:2] == b"\xff\xd8"


def test_a_failing_frame_cancels_the_countdown(session: PhotoSession, clock: FakeClock, good: Image) -> None:
    for _ in range(3):
        session.process(frame(good), CameraStatus.STREAMING)
    dark = (good * 0.3).astype(np.uint8)
    s = session.process(frame(dark), CameraStatus.STREAMING)
    assert s.phase is Phase.GUIDING and s.hint == "photo.hint.too_dark" and s.countdown is None
    clock.now += 5
    assert session.process(frame(good), CameraStatus.STREAMING).phase is Phase.GUIDING  # needs 3 again


def test_retakes_are_limited_and_shots_kept(session: PhotoSession, clock: FakeClock, good: Image) -> None:
    feed_until_review(session, clock, good)
    assert session.retake()
    assert session.state().phase is Phase.GUIDING
    shifted = portrait(shift=(20, 0))
    feed_until_review(session, clock, shifted)
    s = session.state()
    assert s.attempts_left == 0 and s.hint == "photo.staff_help"
    assert not session.retake()  # no attempts left: accept one of the shots or get help
    assert len(session.shots()) == 2
    session.select(0)
    first = session.compose()
    session.select(1)
    assert session.compose().jpeg != first.jpeg
    with pytest.raises(FlowError):
        session.select(2)


def test_never_compliant_leads_to_staff_help(session: PhotoSession, clock: FakeClock) -> None:
    blank = np.full((480, 640, 3), 236, np.uint8)
    assert session.process(frame(blank), CameraStatus.STREAMING).hint == "photo.hint.no_face"
    clock.now += 31
    s = session.process(frame(blank), CameraStatus.STREAMING)
    assert s.phase is Phase.HELP and s.hint == "photo.staff_help" and s.attempts_left == 1
    with pytest.raises(FlowError):
        session.compose()
    assert session.retake()  # one attempt remains: the resident may try again


def test_camera_trouble_pauses_guidance(session: PhotoSession, clock: FakeClock, good: Image) -> None:
    for _ in range(3):
        session.process(frame(good), CameraStatus.STREAMING)
    s = session.process(None, CameraStatus.RECONNECTING)
    assert s.phase is Phase.WAITING and s.hint == "photo.camera.reconnecting" and s.countdown is None
    assert session.process(frame(good), CameraStatus.FROZEN).hint == "photo.camera.frozen"
    assert session.process(frame(good), CameraStatus.STREAMING).phase is Phase.GUIDING


def test_stop_forgets_the_shots(session: PhotoSession, clock: FakeClock, good: Image) -> None:
    feed_until_review(session, clock, good)
    session.stop()
    assert session.shots() == [] and session.state().phase is Phase.STOPPED
    with pytest.raises(FlowError):
        session.compose()
    with pytest.raises(FlowError):
        session.start()  # one session per resident


def test_latest_coalesces_deliveries() -> None:
    queued: list = []
    seen: list[int] = []
    latest: Latest[int] = Latest(queued.append, seen.append)
    for value in range(10):
        latest.submit(value)
    assert len(queued) == 1  # one pending callback, however many values arrived
    queued.pop()()
    assert seen == [9]
    latest.submit(10)
    queued.pop()()
    assert seen == [9, 10] and latest.posted == 2


def test_every_hint_has_texts_in_both_languages(detector: FaceDetector) -> None:
    import re
    from pathlib import Path

    from kiosk.config.messages import Messages

    messages = Messages.load()
    root = Path(__file__).resolve().parents[2] / "kiosk" / "photo"
    used = set()
    for module in root.glob("*.py"):
        used |= set(re.findall(r'"(photo\.[a-z_.]+)"', module.read_text(encoding="utf-8")))
    assert len(used) >= 15
    for key in sorted(used):
        assert key in messages, key
        assert messages.get(key, "zh") != messages.get(key, "en")
