"""Take-photo step: live preview (mirrored, as a mirror moves) with a thick two-tone head outline
that shows on a white wall as on a dark one, one hint at a time with an arrow for the way to move
("请向左移一点"), automatic capture after a countdown once every check passes, then review of the
final cropped ID photo (not the live frame): accept, retake (limited), or choose an earlier shot.
Capture and checks run on the photo session's threads (kiosk/photo/session.py); this widget only
draws the newest frame and state handed to it through the app's clock (via ``self.tasks``, so
a frame still on its way when the resident left is dropped)."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, NumericProperty, ObjectProperty, StringProperty

from kiosk.photo.checks import Assessment, Limits
from kiosk.photo.session import Phase, PhotoSession, PhotoState
from kiosk.photo.specs import get_spec
from screens.steps.base import StepBase

log = logging.getLogger(__name__)


def photo_code(jpeg: bytes) -> str:
    """The 数码照片回执 code printed on the receipt: a digest of the exact JPEG, in groups of four."""
    digest = hashlib.sha256(jpeg).hexdigest()[:16].upper()
    return "-".join(digest[i : i + 4] for i in range(0, 16, 4))


def direction(assessment: Assessment | None, limits: Limits | None = None) -> tuple[str, str] | None:
    """The way the resident should move now, as (icon name, message key), or None.

    For the first failed check that a move mends: off centre (left/right/up/down, as seen in the
    mirrored preview: moving to one's own left moves the picture left), too small (closer) or too
    big (farther)."""
    if assessment is None or not assessment.failures or assessment.face is None:
        return None
    first = assessment.failures[0]
    if first.name == "face_size":
        return ("arrow-expand-all", "photo.hint.closer") if first.message == "photo.hint.closer" else (
            "arrow-collapse-all", "photo.hint.farther")  # fmt: skip
    if first.name != "centring":
        return None
    limits = limits or Limits()
    width, height = assessment.frame_size
    cx, cy = assessment.face.centre
    screen_dx = 0.5 - cx / width  # mirrored: the face's offset from the middle as the resident sees it
    dy = cy / height - limits.centre_y  # > 0: the face is too low in the picture
    if abs(screen_dx) / limits.max_centre_offset_x >= abs(dy) / limits.max_centre_offset_y:
        return (
            ("arrow-right-bold", "photo.move.right")
            if screen_dx < 0
            else ("arrow-left-bold", "photo.move.left")
        )
    return ("arrow-up-bold", "photo.move.up") if dy > 0 else ("arrow-down-bold", "photo.move.down")


class TakePhotoStep(StepBase):
    texture = ObjectProperty(None, allownone=True)
    arrow = StringProperty("")  # the icon of the way to move ("" = none)
    reviewing = BooleanProperty(False)  # the final crop is shown: no outline over it
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
        import numpy as np

        self._show_image(np.ascontiguousarray(frame.image[:, ::-1]))  # a mirror: left is left

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
        way = direction(state.assessment) if state.phase in (Phase.GUIDING,) else None
        self.arrow = way[0] if way else ""
        self.hint = app.tr(way[1] if way else state.hint)
        self.countdown = str(state.countdown) if state.countdown else ""
        self.attempts = app.tr("photo.retakes_left", count=state.attempts_left) if state.shots else ""
        self.shots = state.shots
        self.selected = -1 if state.selected is None else state.selected
        self.can_accept = state.phase in (Phase.REVIEW, Phase.HELP) and state.shots > 0
        self.can_retake = state.phase is Phase.REVIEW and state.attempts_left > 0
        self.reviewing = bool(self.can_accept and self.session is not None and state.selected is not None)
        # 使用这张照片 is the main action: the action bar's right slot, never a button in the body
        self.main_key = "photo.accept" if self.can_accept else ""
        self.wants_next = self.can_accept
        if self.reviewing and self.session is not None:
            self._show_final_crop()

    def _show_final_crop(self) -> None:
        """The chosen shot as it will be filed: the spec's crop, scaled (a few ms, bench/photo.py)."""
        import cv2
        import numpy as np

        assert self.session is not None
        composed = self.session.compose()
        image = cv2.imdecode(np.frombuffer(composed.jpeg, dtype=np.uint8), cv2.IMREAD_COLOR)
        if image is not None:
            self._show_image(image)

    # -- the resident's choices ----------------------------------------------------------------------
    def next(self) -> None:
        """The action bar's main button: 使用这张照片."""
        self.accept()

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
