"""Take-photo step: live preview with a head outline, one hint at a time, automatic capture after
a countdown once every check passes, then review: accept, retake (limited), or choose an earlier
shot. Capture and checks run on the photo session's threads (kiosk/photo/session.py); this widget
only draws the newest frame and state handed to it through the app's clock (via ``self.tasks``, so
a frame still on its way when the resident left is dropped)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.photo.session import Phase, PhotoSession, PhotoState
from kiosk.photo.specs import get_spec
from screens.steps.base import StepBase

log = logging.getLogger(__name__)


def photo_code(jpeg: bytes) -> str:
    """The 数码照片回执 code printed on the receipt: a digest of the exact JPEG, in groups of four."""
    digest = hashlib.sha256(jpeg).hexdigest()[:16].upper()
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


class TakePhotoStep(StepBase):
    texture = ObjectProperty(None, allownone=True)
    hint = StringProperty("")
    countdown = StringProperty("")
    phase = StringProperty("waiting")
    attempts = StringProperty("")
    aspect = NumericProperty(358 / 441)  # the spec's width / height, for the outline
    can_accept = BooleanProperty(False)
    can_retake = BooleanProperty(False)
    shots = NumericProperty(0)
    selected = NumericProperty(-1)

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)
        spec_name = step.spec or str(flow.session.values.get(step.spec_field or "", "resident-id"))
        self.spec = get_spec(spec_name)
        self.aspect = self.spec.width / self.spec.height
        self._state: PhotoState | None = None
        camera = self.app.runtime.devices.get("camera")
        self.session: PhotoSession | None = None
        if camera is None:
            self.hint = self.app.tr("photo.camera.no_camera")
            return
        self.session = PhotoSession(
            camera, self.spec, self.tasks.post, on_frame=self._frame, on_state=self._on_state
        )
        self.session.start()

    # -- frames and state, on the UI thread --------------------------------------------------------
    def _frame(self, frame: Any) -> None:
        if self.phase in ("review", "help") and self.shots:
            return  # the resident is looking at a shot, not at the live picture
        self._show_image(frame.image)

    def _show_image(self, image: Any) -> None:
        height, width = image.shape[:2]
        texture = self.texture
        if texture is None or texture.size != (width, height):
            texture = Texture.create(size=(width, height), colorfmt="bgr")
            texture.flip_vertical()
        texture.blit_buffer(image.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.texture = texture
        self.canvas.ask_update()

    def _on_state(self, state: PhotoState) -> None:
        self._state = state
        self.refresh_texts()

    def refresh_texts(self) -> None:
        state = self._state
        if state is None:
            return
        app = self.app
        self.phase = state.phase.value
        self.hint = app.tr(state.hint)
        self.countdown = str(state.countdown) if state.countdown else ""
        self.attempts = app.tr("photo.retakes_left", count=state.attempts_left) if state.shots else ""
        self.shots = state.shots
        self.selected = -1 if state.selected is None else state.selected
        self.can_accept = state.phase in (Phase.REVIEW, Phase.HELP) and state.shots > 0
        self.can_retake = state.phase is Phase.REVIEW and state.attempts_left > 0
        if self.can_accept and self.session is not None and state.selected is not None:
            self._show_image(self.session.shots()[state.selected].image)

    # -- the resident's choices ----------------------------------------------------------------------
    def retake(self) -> None:
        if self.session is not None:
            self.session.retake()

    def choose(self, index: int) -> None:
        if self.session is not None and 0 <= index < self.shots:
            self.session.select(index)

    def accept(self) -> None:
        if self.session is None or not self.can_accept:
            return
        composed = self.session.compose()  # crop, scale and encode: a few ms (bench/photo.py)
        session = self.flow.session
        session.photo_jpeg = composed.jpeg
        session.artifacts["photo"] = {"photo_code": photo_code(composed.jpeg), "spec": self.spec.name}
        log.info("session %s: photo accepted (%d bytes, %s)", session.id, len(composed.jpeg), self.spec.name)
        self.teardown()
        self.app.step_done()

    def teardown(self) -> None:
        super().teardown()
        if self.session is not None:
            self.session.stop()
            self.session = None
