"""The capture thread: latest frame wins, reconnects, black and frozen detection, OpenCV sources."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.base import Health
from drivers.camera.base import CameraStatus, FrameSlot, Image
from drivers.camera.opencv import CvSource, OpenCvCamera
from drivers.camera.threaded import ThreadedCamera
from drivers.errors import DeviceNotFound
from tests.conftest import wait_until


class FakeSource:
    """A frame source tests drive: plug/unplug, and what each frame looks like."""

    name = "fake"

    def __init__(self) -> None:
        self.present = True
        self.opens = 0
        self.level = 128
        self.vary = True
        self._n = 0
        self._lock = threading.Lock()

    def open(self) -> None:
        with self._lock:
            if not self.present:
                raise DeviceNotFound("fake camera absent", device="camera", port="fake")
            self.opens += 1

    def read(self) -> Image | None:
        with self._lock:
            if not self.present:
                return None
            self._n += 1
            image = np.full((48, 64, 3), self.level, np.uint8)
            if self.vary:
                image[0:8, 0:8] = (self._n * 37) % 256  # changes enough to not look frozen
            return image

    def release(self) -> None:
        pass


@pytest.fixture
def source() -> FakeSource:
    return FakeSource()


@pytest.fixture
def camera(source: FakeSource) -> Iterator[ThreadedCamera]:
    cam = ThreadedCamera(source, fps=100, reconnect_interval=0.02, black_after=0.1, frozen_after=0.1)
    cam.start()
    yield cam
    cam.close()


def test_slot_keeps_only_the_newest() -> None:
    slot = FrameSlot()
    assert slot.latest() is None
    for level in range(5):
        slot.put(np.full((2, 2, 3), level, np.uint8))
    frame = slot.latest()
    assert frame is not None and frame.seq == 5 and frame.image[0, 0, 0] == 4
    assert slot.wait_newer(5, timeout=0.01) is None
    newer = slot.wait_newer(4, timeout=0.01)
    assert newer is not None and newer.seq == 5


def test_streams_and_waits_for_newer_frames(camera: ThreadedCamera) -> None:
    wait_until(lambda: camera.status() is CameraStatus.STREAMING)
    first = camera.wait_frame(0, timeout=2)
    assert first is not None
    later = camera.wait_frame(first.seq, timeout=2)
    assert later is not None and later.seq > first.seq and later.timestamp >= first.timestamp
    assert camera.health().state is Health.OK


def test_reconnects_when_the_camera_returns(camera: ThreadedCamera, source: FakeSource) -> None:
    wait_until(lambda: camera.status() is CameraStatus.STREAMING)
    source.present = False
    wait_until(lambda: camera.status() is CameraStatus.RECONNECTING)
    assert camera.health().state is Health.DOWN
    source.present = True
    wait_until(lambda: camera.status() is CameraStatus.STREAMING)
    assert source.opens >= 2


def test_absent_at_start_then_plugged_in(source: FakeSource) -> None:
    source.present = False
    cam = ThreadedCamera(source, fps=100, reconnect_interval=0.02)
    cam.start()
    try:
        wait_until(lambda: cam.status() is CameraStatus.NO_CAMERA)
        assert "absent" in cam.health().detail
        source.present = True
        wait_until(lambda: cam.status() is CameraStatus.STREAMING)
    finally:
        cam.close()
    assert cam.status() is CameraStatus.STOPPED


def test_black_and_frozen_frames(camera: ThreadedCamera, source: FakeSource) -> None:
    wait_until(lambda: camera.status() is CameraStatus.STREAMING)
    source.level, source.vary = 0, False
    wait_until(lambda: camera.status() is CameraStatus.BLACK)
    assert camera.health().state is Health.DEGRADED
    source.level = 128
    wait_until(lambda: camera.status() is CameraStatus.FROZEN)
    source.vary = True
    wait_until(lambda: camera.status() is CameraStatus.STREAMING)


def test_close_is_idempotent_and_wakes_nothing_forever(camera: ThreadedCamera) -> None:
    camera.close()
    camera.close()
    assert camera.wait_frame(10**9, timeout=0.05) is None


def test_opencv_missing_device_path(tmp_path: Path) -> None:
    source = CvSource(str(tmp_path / "video9"))
    with pytest.raises(DeviceNotFound, match="no camera"):
        source.open()
    cam = OpenCvCamera(str(tmp_path / "video9"), reconnect_interval=0.05)
    cam.start()
    try:
        wait_until(lambda: cam.status() is CameraStatus.NO_CAMERA)
    finally:
        cam.close()


def test_opencv_plays_a_video_file_in_a_loop(tmp_path: Path) -> None:
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 30, (320, 240))
    assert writer.isOpened()
    for i in range(6):
        writer.write(np.full((240, 320, 3), 40 * i + 20, np.uint8))
    writer.release()
    cam = OpenCvCamera(str(path), width=160, height=120, fps=200, reconnect_interval=0.01)
    cam.start()
    try:
        frame = cam.wait_frame(0, timeout=5)
        assert frame is not None and frame.image.shape == (120, 160, 3)
        # Six frames in the file: seeing more than twelve means the file was reopened at its end.
        wait_until(lambda: (f := cam.latest()) is not None and f.seq > 12)
    finally:
        cam.close()


def test_demo_face_names_the_missing_package(monkeypatch: pytest.MonkeyPatch) -> None:
    from drivers.camera import samples

    monkeypatch.setitem(sys.modules, "skimage", None)  # as if scikit-image were not installed
    with pytest.raises(DeviceNotFound, match="scikit-image"):
        samples.astronaut_bgr()
