"""The simulated camera end to end: capture thread, faults, and a PhotoSession on worker threads.

Results reach the "UI" through a queue-backed ``post`` drained by the test thread, as Kivy's
Clock would run them on the UI thread.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.camera.base import CameraStatus, Frame
from drivers.camera.simulator import Fault, SimulatedCamera
from drivers.errors import DeviceNotFound
from kiosk.devices import DeviceContext
from kiosk.devices.camera import DRIVERS, SimulatedOptions
from kiosk.photo.session import Phase, PhotoSession, PhotoState
from kiosk.photo.specs import get_spec
from tests.conftest import FakeUiThread, wait_until

pytestmark = pytest.mark.integration
pytest.importorskip("skimage", reason="the demo face comes from scikit-image (test extra)")


@pytest.fixture
def camera() -> Iterator[SimulatedCamera]:
    cam = SimulatedCamera(fps=30, reconnect_interval=0.05, frozen_after=0.3, black_after=0.2)
    yield cam
    cam.close()


def wait_status(cam: SimulatedCamera, status: CameraStatus, timeout: float = 5.0) -> None:
    wait_until(lambda: cam.status() is status, timeout, f"the camera {status.value}", detail=cam.status)


def test_faults_and_recovery(camera: SimulatedCamera) -> None:
    camera.start()
    wait_status(camera, CameraStatus.STREAMING)
    camera.inject(Fault.GONE)
    wait_status(camera, CameraStatus.RECONNECTING)
    camera.inject(None)
    wait_status(camera, CameraStatus.STREAMING)
    camera.inject(Fault.BLACK)
    wait_status(camera, CameraStatus.BLACK)
    camera.inject(Fault.FROZEN)
    wait_status(camera, CameraStatus.FROZEN)
    camera.inject(None)
    wait_status(camera, CameraStatus.STREAMING)


def test_folder_playback_in_a_loop(tmp_path: Path) -> None:
    for i in range(3):
        cv2.imwrite(str(tmp_path / f"{i}.png"), np.full((60, 80, 3), 50 * (i + 1), np.uint8))
    (tmp_path / "notes.txt").write_text("ignored")
    cam = SimulatedCamera(tmp_path, width=160, height=120, fps=60)
    cam.start()
    try:
        levels: set[int] = set()
        seq = 0

        def every_level_seen() -> bool:
            nonlocal seq
            frame = cam.wait_frame(seq, 1.0)
            if frame is not None:
                seq = frame.seq
                assert frame.image.shape == (120, 160, 3)
                levels.add(round(float(frame.image.mean()) / 50))
            return len(levels) == 3

        wait_until(every_level_seen, 5, "the three images in turn", detail=lambda: levels)
        assert levels == {1, 2, 3}
    finally:
        cam.close()


def test_empty_or_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(DeviceNotFound, match="no readable images"):
        SimulatedCamera(tmp_path)
    with pytest.raises(DeviceNotFound, match="does not exist"):
        SimulatedCamera(tmp_path / "nope")


def test_driver_table_opens_a_faulty_simulator(tmp_path: Path) -> None:
    entry = DRIVERS["simulated"]
    options = entry.options.model_validate({"faults": ["gone"], "fps": 30})
    assert isinstance(options, SimulatedOptions)
    cam = entry.open(options, DeviceContext(role="camera", data_dir=tmp_path))
    assert isinstance(cam, SimulatedCamera) and cam.simulated
    cam.start()
    try:
        wait_status(cam, CameraStatus.NO_CAMERA)
        assert not cam.health().usable
    finally:
        cam.close()
    with pytest.raises(ValueError):
        entry.options.model_validate({"faults": ["smoke"]})
    assert DRIVERS["opencv"].options.model_validate({"device": "/dev/video0"}).device == "/dev/video0"


def test_session_guides_captures_and_survives_unplug(camera: SimulatedCamera) -> None:
    ui = FakeUiThread()
    frames: list[Frame] = []
    states: list[PhotoState] = []
    session = PhotoSession(
        camera,
        get_spec("resident-id"),
        ui.post,
        on_frame=frames.append,
        on_state=states.append,
        stable_frames=3,
        countdown_s=0.3,
        analysis_fps=30,
    )
    session.start()
    try:
        ui.run_until(lambda: bool(states) and states[-1].phase is Phase.REVIEW)
        assert frames and frames[-1].image.shape == (480, 640, 3)
        phases = [s.phase for s in states]
        assert Phase.COUNTDOWN in phases and phases.index(Phase.COUNTDOWN) < phases.index(Phase.REVIEW)
        photo = session.compose()
        assert 14 * 1024 <= len(photo.jpeg) <= 20 * 1024

        assert session.retake()
        camera.inject(Fault.GONE)
        ui.run_until(lambda: states[-1].hint == "photo.camera.reconnecting")
        assert states[-1].phase is Phase.WAITING
        camera.inject(None)
        ui.run_until(lambda: states[-1].phase is Phase.REVIEW)
        assert len(session.shots()) == 2
    finally:
        session.stop()
    assert session.shots() == []


def test_slow_ui_gets_no_backlog(camera: SimulatedCamera) -> None:
    ui = FakeUiThread()
    frames: list[Frame] = []
    session = PhotoSession(camera, get_spec("resident-id"), ui.post, on_frame=frames.append, display_fps=60)
    session.start()
    try:
        time.sleep(0.5)  # the "UI" is busy and runs no callbacks for a while
        latest = camera.latest()
        assert latest is not None and latest.seq >= 3  # frames kept coming meanwhile
        pending = ui.posted.qsize()
        assert 1 <= pending <= 2  # at most one frame and one state callback waiting, never a backlog
        ui.run_until(lambda: len(frames) >= 3)
        assert [f.seq for f in frames] == sorted({f.seq for f in frames})  # newest first, never older
    finally:
        session.stop()
