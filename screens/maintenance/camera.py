"""Camera live view: a preview at a modest rate with the measured frame rate, the resolution and
the mean brightness, and a snapshot saved only on an explicit button (someone may be standing in
front of the kiosk: the picture is kept in memory for the preview and written to disk, in the data
folder, only when the technician asks; the save is in the audit log).

A worker waits for each frame, scales it down and measures it (one task of the page's
:class:`kiosk.work.Tasks` per frame); the UI thread only copies the prepared bytes into a texture.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from screens.maintenance.page import MaintenancePage

PREVIEW_FPS = 5.0
PREVIEW_WIDTH = 640


def prepare_preview(image: Any, width: int = PREVIEW_WIDTH) -> tuple[bytes, int, int, float]:
    """The BGR frame scaled to ``width``, as bytes, its size, and the full frame's mean brightness."""
    import cv2

    h, w = image.shape[:2]
    if w > width:
        image = cv2.resize(image, (width, round(h * width / w)), interpolation=cv2.INTER_AREA)
    brightness = float(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).mean())
    ph, pw = image.shape[:2]
    return image[::-1].tobytes(), pw, ph, brightness  # rows bottom-up: Kivy's texture origin


def save_snapshot(image: Any, folder: Path) -> Path:
    """Write the frame as JPEG into ``folder`` (made 0700); the name carries the local time."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    path = folder / time.strftime("snapshot-%Y%m%d-%H%M%S.jpg")
    n = 1
    while path.exists():
        n += 1
        path = folder / time.strftime(f"snapshot-%Y%m%d-%H%M%S-{n}.jpg")
    if not cv2.imwrite(str(path), image):
        raise OSError(f"cannot write {path}")
    return path


@dataclass(frozen=True)
class Grabbed:
    """One frame ready for the screen: the full image (for a snapshot) and the scaled bytes."""

    image: Any
    seq: int
    timestamp: float  # when the camera captured it
    data: bytes
    width: int
    height: int
    brightness: float  # mean grey level 0..255


class CameraPage(MaintenancePage):
    info = StringProperty("")  # frame rate, resolution, brightness; or why there is no picture
    saved = StringProperty("")
    texture = ObjectProperty(None, allownone=True)
    streaming = BooleanProperty(False)

    # The preview is a chain of one-frame tasks (kiosk/work.py): wait for the next frame and scale it
    # on a worker, show it on the UI thread, ask for the next one a moment later. Closing the page
    # cancels the pending task and the timer, so nothing runs or arrives once it is left.
    def open(self) -> None:
        super().open()
        self.saved, self.streaming = "", False
        self._frame: Any = None
        self._seq = 0
        self._seen: list[tuple[float, int]] = []  # (capture time, sequence number) over the last 2 s
        self._next_grab: Any = None
        self._grab()

    def close(self) -> None:
        super().close()
        if self._next_grab is not None:
            self._next_grab.cancel()
            self._next_grab = None
        self._frame = None  # the picture is not kept after the page is left
        self.texture = None

    def _camera(self) -> Any:
        return self.runtime.devices.get("camera")

    def _grab(self) -> None:
        self._next_grab = None
        camera, seq = self._camera(), self._seq
        self.tasks.run(
            lambda: self._wait_frame(camera, seq), self._grabbed, self._grab_failed, name="maintenance-camera"
        )

    def _grab_later(self, delay_s: float) -> None:
        self._next_grab = Clock.schedule_once(lambda _dt: self._grab(), delay_s)

    def _wait_frame(self, camera: Any, seq: int) -> Grabbed | str:
        """The next frame after ``seq``, scaled; or why there is none (worker thread: both block)."""
        frame = camera.wait_frame(seq, 1.0) if camera is not None else None
        if frame is None:
            return self._cause(camera)
        data, w, h, brightness = prepare_preview(frame.image)
        return Grabbed(frame.image, frame.seq, frame.timestamp, data, w, h, brightness)

    def _cause(self, camera: Any) -> str:
        if camera is None:
            health = self.runtime.device_health("camera")
            return f"{health.code}: {health.detail}" if health else self.app.tr("maint.camera.none")
        health = camera.health()
        return f"{health.code}: {health.detail}".rstrip(": ")

    def _grabbed(self, result: Grabbed | str) -> None:
        if isinstance(result, str):
            self._show_cause(result)
            self._grab_later(0.5)
            return
        self._seq, now = result.seq, result.timestamp
        seen = [(t, n) for t, n in [*self._seen, (now, result.seq)] if now - t < 2.0]
        span = seen[-1][0] - seen[0][0]
        fps = (seen[-1][1] - seen[0][1]) / span if span > 0 else 0.0  # the camera's rate, not ours
        self._seen = seen
        self._show_frame(result, fps)
        self._grab_later(1.0 / PREVIEW_FPS)

    def _grab_failed(self, exc: Exception) -> None:
        """A camera yanked mid-frame: say so, keep trying."""
        self._show_cause(f"{type(exc).__name__}: {exc}")
        self._grab_later(0.5)

    def _show_cause(self, cause: str) -> None:
        self.streaming = False
        self.info = self.app.tr("maint.camera.no_picture", cause=cause)

    def _show_frame(self, shot: Grabbed, fps: float) -> None:
        texture = self.texture
        if texture is None or tuple(texture.size) != (shot.width, shot.height):
            texture = Texture.create(size=(shot.width, shot.height), colorfmt="rgb")
        texture.blit_buffer(shot.data, colorfmt="bgr", bufferfmt="ubyte")
        self.texture = texture
        self.ids.preview.canvas.ask_update()
        self._frame = shot.image
        self.streaming = True
        full_h, full_w = shot.image.shape[:2]
        self.info = self.app.tr(
            "maint.camera.info", fps=f"{fps:.1f}", w=full_w, h=full_h, b=f"{shot.brightness:.0f}"
        )

    def snapshot(self) -> None:
        """Save the picture on screen (explicit technician action, audited)."""
        image = self._frame
        if image is None:
            self.saved = self.app.tr("maint.camera.no_snapshot")
            return
        folder = self.runtime.config.data_dir / "snapshots"

        def work() -> Path:
            try:
                path = save_snapshot(image, folder)
            except OSError as exc:
                self.audit("maintenance.camera_snapshot", "failed", detail=str(exc))
                raise
            self.audit("maintenance.camera_snapshot", file=path.name)  # even if the page is left
            return path

        def done(path: Path) -> None:
            self.saved = self.app.tr("maint.camera.saved", path=str(path))

        def failed(exc: BaseException) -> None:
            self.saved = f"{type(exc).__name__}: {exc}"

        self.in_background(work, done, failed, name="camera-snapshot")


PAGE_CLASS = CameraPage
