"""The face-check step's rules without Kivy (kiosk/steps/face_check.py): liveness first, then the
card or register match; one retry, then 呼叫帮助; nothing finishes after a failure."""

from __future__ import annotations

import base64
import threading
from collections.abc import Callable
from types import SimpleNamespace
from typing import Any

import pytest

from kiosk.errors import BackendRejected, BackendUnavailable
from kiosk.steps.face_check import (
    FAILED,
    HELP,
    LIVENESS,
    MATCHING,
    OFFLINE,
    PASSED,
    RETRY,
    FaceCheckEngine,
    FaceCheckSettings,
    FaceCheckState,
    LivenessOutcome,
    LivenessProgress,
)
from kiosk.steps.face_liveness import ChallengeLiveness, DeviceLiveness
from kiosk.visit.session import Session
from tests.unit.engine_fakes import FakeClock, InlineRunner

ID_NUMBER = "99010119800315031X"  # the simulator's synthetic resident
LIVE = "face:resident"  # the fakes' "images" are labels: the same label is the same person


class FakeLiveness:
    """Outcomes in order (the last repeated); counts the runs; reports one instruction."""

    def __init__(self, *outcomes: LivenessOutcome) -> None:
        self.outcomes = list(outcomes)
        self.runs = 0

    def run(self, report: Callable[[LivenessProgress], None], stop: threading.Event) -> LivenessOutcome:
        self.runs += 1
        report(LivenessProgress("face.instruction.blink", 0.5))
        return self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]


class LabelMatcher:
    threshold = 0.6

    def __init__(self) -> None:
        self.templates: list[Any] = []

    def template(self, rgb: Any) -> Any:
        if rgb == "no face":
            raise ValueError("no face was found in the image")
        self.templates.append(rgb)
        return rgb

    def similarity(self, a: Any, b: Any) -> float:
        return 0.9 if a == b else 0.2


class FakeIdentityBackend:
    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.asked: list[dict[str, Any]] = []
        self.closed = 0

    def new_client(self) -> FakeIdentityBackend:
        return self

    def close(self) -> None:
        self.closed += 1

    def verify_identity(
        self, id_number: str, name: str, photo_jpeg: bytes, *, request_id: str = "", purpose: str = ""
    ) -> dict[str, Any]:
        self.asked.append(
            {"id_number": id_number, "name": name, "photo_jpeg_b64": base64.b64encode(photo_jpeg).decode(),
             "request_id": request_id, "purpose": purpose}
        )  # fmt: skip
        answer = self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]
        if isinstance(answer, Exception):
            raise answer
        return dict(answer)


VERIFIED = {"verified": True, "verification_id": "ver-1", "reason": "",
            "holder": {"name": "张三丰", "nation": "汉", "address": "虚构省示例市测试区演示路1号"}}  # fmt: skip


def _refused(reason: str) -> dict[str, Any]:
    return {"verified": False, "verification_id": "ver-x", "reason": reason}


def _session(card_photo: str | None = "face:resident", typed: bool = False) -> Session:
    session = Session()
    session.service_id = "household-certificate"
    if typed:
        session.values["id_number"] = ID_NUMBER
    else:
        photo = card_photo.encode() if card_photo is not None else None
        session.identity = SimpleNamespace(id_number=ID_NUMBER, name="张三丰", photo_bmp=photo)
    return session


def _engine(
    session: Session,
    liveness: FakeLiveness,
    *,
    mode: str = "card",
    backend: FakeIdentityBackend | None = None,
    runner: InlineRunner | None = None,
    clock: FakeClock | None = None,
) -> tuple[FaceCheckEngine, list[FaceCheckState], LabelMatcher, FakeIdentityBackend]:
    seen: list[FaceCheckState] = []
    matcher = LabelMatcher()
    backend = backend or FakeIdentityBackend(VERIFIED)
    engine = FaceCheckEngine(
        session,
        FaceCheckSettings(mode=mode, challenge_timeout_s=20, match_timeout_s=15),  # type: ignore[arg-type]
        liveness=liveness,
        matcher=lambda: matcher,
        clients=backend.new_client,
        tasks=runner or InlineRunner(),
        post=lambda fn: fn(),
        clock=clock or FakeClock(),
        decode_image=lambda data: data.decode(),
        encode_jpeg=lambda rgb: b"\xff\xd8" + str(rgb).encode() + b"\xff\xd9",
        on_change=seen.append,
    )
    return engine, seen, matcher, backend


def live(frame: Any = LIVE) -> LivenessOutcome:
    return LivenessOutcome(True, frame_rgb=frame)


def test_card_match_passes_on_the_kiosk_without_asking_the_backend() -> None:
    session = _session()
    engine, seen, matcher, backend = _engine(session, FakeLiveness(live()))
    engine.start()
    assert [s.phase for s in seen][:3] == [LIVENESS, LIVENESS, MATCHING]
    assert seen[1].instruction_key == "face.instruction.blink" and seen[1].progress == 0.5
    assert engine.state.phase == PASSED and engine.mode == "card"
    assert session.artifacts["face_check"] == {"mode": "card", "attempts": 1, "similarity": 0.9}
    assert backend.asked == [] and matcher.templates == ["face:resident", LIVE]
    assert session.face["card_rgb"] == "face:resident" and session.face["live_rgb"] == LIVE


def test_first_mismatch_gets_one_more_try_and_the_second_ends_with_help() -> None:
    session = _session(card_photo="face:someone-else")
    liveness = FakeLiveness(live())
    engine, _seen, _m, _b = _engine(session, liveness)
    engine.start()
    assert engine.state.phase == RETRY and engine.state.reason == "photo_mismatch"
    assert engine.state.can_retry and not engine.state.offers_help
    assert engine.state.message_key == "face.result.mismatch"
    engine.retry()
    assert liveness.runs == 2 and engine.state.attempt == 2
    assert engine.state.phase == FAILED and engine.state.offers_help and not engine.state.can_retry
    engine.retry()  # nothing more to try
    assert liveness.runs == 2 and "face_check" not in session.artifacts


def test_a_retry_that_matches_passes() -> None:
    session = _session()
    engine, _seen, _m, _b = _engine(session, FakeLiveness(live("face:blurred-other"), live()))
    engine.start()
    assert engine.state.phase == RETRY
    engine.retry()
    assert engine.state.phase == PASSED and session.artifacts["face_check"]["attempts"] == 2


def test_liveness_failure_attempts_no_match() -> None:
    session = _session()
    engine, _seen, matcher, backend = _engine(
        session, FakeLiveness(LivenessOutcome(False, "static")), mode="both"
    )
    engine.start()
    assert engine.state.phase == RETRY and engine.state.reason == "not_live"
    engine.retry()
    assert engine.state.phase == FAILED and engine.state.message_key == "face.result.not_live"
    assert engine.matches_asked == 0 and matcher.templates == [] and backend.asked == []
    assert "live_rgb" not in session.face


def test_challenge_timeout_offers_help_and_one_more_try() -> None:
    clock = FakeClock()
    runner = InlineRunner(hold=True)
    session = _session()
    engine, _seen, _m, _b = _engine(session, FakeLiveness(live()), runner=runner, clock=clock)
    engine.start()
    clock.advance(12)
    engine.tick()
    assert engine.state.phase == LIVENESS and engine.state.seconds_left == 8
    clock.advance(8)
    engine.tick()
    assert engine.state.phase == HELP and engine.state.reason == "timeout"
    assert engine.state.offers_help and engine.state.can_retry
    runner.finish()  # the check's late answer (live after all) is dropped
    assert engine.state.phase == HELP and engine.matches_asked == 0


def test_i_cannot_do_this_offers_help_at_once_never_a_dead_end() -> None:
    runner = InlineRunner(hold=True)
    engine, _seen, _m, _b = _engine(_session(), FakeLiveness(live()), runner=runner)
    engine.start()
    engine.cannot()
    assert engine.state.phase == HELP and engine.state.reason == "cannot"
    assert engine.state.offers_help and engine.state.message_key == "face.result.cannot"
    runner.finish_all()
    assert engine.state.phase == HELP and engine.matches_asked == 0


def test_register_match_sends_the_live_jpeg_and_keeps_the_holder() -> None:
    session = _session(typed=True)
    session.service_id = "temp-id-certificate"
    engine, _seen, matcher, backend = _engine(session, FakeLiveness(live()), mode="card")
    assert engine.mode == "register"  # no card: the register photo at the backend
    engine.start()
    assert engine.state.phase == PASSED and matcher.templates == []
    (asked,) = backend.asked
    assert asked["id_number"] == ID_NUMBER and asked["purpose"] == "temp-id-certificate"
    # the visit's request id, reserved now: the backend signs it, the submit step files under it
    assert asked["request_id"] == session.artifacts["request_id"] and len(asked["request_id"]) == 36
    assert base64.b64decode(asked["photo_jpeg_b64"]) == b"\xff\xd8face:resident\xff\xd9"
    assert session.artifacts["verification"]["holder"]["name"] == "张三丰"
    assert session.artifacts["face_check"]["verification_id"] == "ver-1" and backend.closed == 1


@pytest.mark.parametrize(
    ("reason", "retried", "message"),
    [
        ("photo_mismatch", True, "face.result.mismatch"),
        ("photo_unusable", True, "face.result.unusable"),
        ("id_number_invalid", False, "face.result.no_record"),
        ("photo_missing", False, "face.result.unusable"),
        ("no_record", False, "face.result.no_record"),
        ("too_many_attempts", False, "face.result.too_many"),
        ("something_new", False, "face.result.refused"),
    ],
)
def test_register_answers_each_reason(reason: str, retried: bool, message: str) -> None:
    session = _session(typed=True)
    engine, _seen, _m, backend = _engine(
        session, FakeLiveness(live()), backend=FakeIdentityBackend(_refused(reason))
    )
    engine.start()
    assert engine.state.phase == (RETRY if retried else FAILED)
    assert engine.state.message_key == message
    assert "verification" not in session.artifacts and "face_check" not in session.artifacts
    if retried:
        engine.retry()
        assert engine.state.phase == FAILED and len(backend.asked) == 2


def test_both_needs_the_card_and_the_register() -> None:
    session = _session()
    backend = FakeIdentityBackend(_refused("photo_mismatch"))
    engine, _seen, matcher, _b = _engine(session, FakeLiveness(live()), mode="both", backend=backend)
    engine.start()
    assert matcher.templates == ["face:resident", LIVE] and len(backend.asked) == 1
    assert engine.state.phase == RETRY  # the card matched, the register did not
    session2 = _session(card_photo="face:other")
    engine2, _s, _m2, backend2 = _engine(session2, FakeLiveness(live()), mode="both")
    engine2.start()
    assert engine2.state.phase == RETRY and backend2.asked == []  # no register call after a card mismatch


def test_card_without_a_decoded_photo_falls_back_to_the_register() -> None:
    engine, _seen, _m, backend = _engine(_session(card_photo=None), FakeLiveness(live()), mode="card")
    assert engine.mode == "register"
    engine.start()
    assert engine.state.phase == PASSED and len(backend.asked) == 1
    assert backend.asked[0]["name"] == "张三丰"


def test_card_photo_without_a_face_fails_calmly_with_help() -> None:
    engine, _seen, _m, _b = _engine(_session(card_photo="no face"), FakeLiveness(live()))
    engine.start()
    assert engine.state.phase == FAILED and engine.state.message_key == "face.result.card_photo"


def test_backend_unreachable_is_a_calm_offline_with_retry_of_the_same_frame() -> None:
    session = _session(typed=True)
    backend = FakeIdentityBackend(BackendUnavailable("backend timed out"), VERIFIED)
    liveness = FakeLiveness(live())
    engine, _seen, _m, _b = _engine(session, liveness, backend=backend)
    engine.start()
    assert engine.state.phase == OFFLINE and engine.state.offers_help and engine.state.can_retry
    assert engine.state.message_key == "face.result.offline"
    engine.retry()
    assert engine.state.phase == PASSED and liveness.runs == 1 and len(backend.asked) == 2


def test_backend_that_never_answers_times_out_calmly() -> None:
    clock = FakeClock()
    runner = InlineRunner(hold=True)
    session = _session(typed=True)
    liveness = FakeLiveness(live())
    engine, _seen, _m, _backend = _engine(session, liveness, runner=runner, clock=clock)
    engine.start()
    runner.finish("face-liveness")
    assert engine.state.phase == MATCHING
    clock.advance(16)
    engine.tick()
    assert engine.state.phase == OFFLINE
    runner.finish("face-match")  # the answer arrives after all: dropped
    assert engine.state.phase == OFFLINE and "verification" not in session.artifacts


def test_backend_refusal_is_final() -> None:
    backend = FakeIdentityBackend(BackendRejected("HTTP 400 hash-only"))
    engine, _seen, _m, _b = _engine(_session(typed=True), FakeLiveness(live()), backend=backend)
    engine.start()
    assert engine.state.phase == FAILED and engine.state.message_key == "face.result.refused"


def test_leaving_drops_late_answers() -> None:
    runner = InlineRunner(hold=True)
    session = _session()
    engine, seen, _m, _b = _engine(session, FakeLiveness(live()), runner=runner)
    engine.start()
    engine.leave()
    count = len(seen)
    runner.finish_all()
    assert len(seen) == count and "face_check" not in session.artifacts


def test_session_wipe_forgets_frames_photo_and_templates() -> None:
    session = _session()
    engine, _seen, _m, _b = _engine(session, FakeLiveness(live()))
    engine.start()
    assert {"live_rgb", "card_rgb", "templates"} <= set(session.face)
    session.wipe()
    assert session.face == {}


# -- the liveness checks --------------------------------------------------------------------------


class FakeCamera:
    def __init__(self, count: int = 100) -> None:
        self.seq = 0
        self.count = count

    def latest(self) -> Any:
        return SimpleNamespace(image=_image(), timestamp=0.0, seq=self.seq)

    def wait_frame(self, after_seq: int, timeout: float) -> Any:
        if self.seq >= self.count:
            return None
        self.seq += 1
        return SimpleNamespace(image=_image(), timestamp=self.seq / 15, seq=self.seq)


def _image() -> Any:
    import numpy as np

    image = np.zeros((4, 4, 3), np.uint8)
    image[..., 0] = 255  # blue in BGR
    return image


class ScriptedEngine:
    """kiosk.identity.liveness.LivenessEngine's interface: passes (or fails) on frame ``at``."""

    def __init__(self, at: int, reason: str = "") -> None:
        self.at, self.reason, self.frames, self.cleared = at, reason, 0, False
        self.state = self._state(False)

    def _state(self, done: bool) -> Any:
        return SimpleNamespace(
            instruction="liveness.blink", progress=min(1.0, self.frames / self.at),
            passed=done and not self.reason, failed=done and bool(self.reason), reason=self.reason,
        )  # fmt: skip

    def start(self) -> Any:
        return self.state

    def tick(self) -> Any:
        return self.state

    def feed_frame(self, frame: Any) -> Any:
        self.frames += 1
        self.state = self._state(self.frames >= self.at)
        return self.state

    def frame_for_match(self) -> Any:
        return _image() if self.state.passed else None

    def clear(self) -> None:
        self.cleared = True


def test_challenge_liveness_passes_with_the_frame_in_rgb() -> None:
    reports: list[LivenessProgress] = []
    engine = ScriptedEngine(5)
    outcome = ChallengeLiveness(FakeCamera(), lambda: engine).run(reports.append, threading.Event())
    assert outcome.live and outcome.frame_rgb[0, 0].tolist() == [0, 0, 255]
    assert reports[-1] == LivenessProgress("liveness.blink", 1.0) and len(reports) == 5
    assert engine.cleared  # the engine forgets the frame it kept


@pytest.mark.parametrize(
    ("reason", "expected"),
    [
        ("frozen", "frozen"),
        ("several_faces", "several_faces"),
        ("no_blink", "timeout"),
        ("no_face", "timeout"),
    ],
)
def test_challenge_liveness_failures(reason: str, expected: str) -> None:
    outcome = ChallengeLiveness(FakeCamera(), lambda: ScriptedEngine(3, reason)).run(
        lambda _p: None, threading.Event()
    )
    assert not outcome.live and outcome.reason == expected and outcome.frame_rgb is None


def test_challenge_liveness_stops_when_asked() -> None:
    stop = threading.Event()
    stop.set()
    outcome = ChallengeLiveness(FakeCamera(), lambda: ScriptedEngine(3)).run(lambda _p: None, stop)
    assert not outcome.live and outcome.reason == "stopped"


def test_the_real_engine_refuses_a_still_photo() -> None:
    """The face model's engine on the simulated camera's still demo face (with sensor noise):
    never live, so the match is never reached."""
    pytest.importorskip("dlib")
    from drivers.camera.samples import portrait
    from kiosk.identity.landmarks import FaceLandmarker
    from kiosk.identity.liveness import LivenessEngine

    clock = FakeClock()
    frame = portrait(640, 480)

    class StillCamera(FakeCamera):
        def wait_frame(self, after_seq: int, timeout: float) -> Any:
            clock.advance(1 / 15)
            self.seq += 1
            noisy = frame.copy()
            noisy[self.seq % 480, :, :] ^= 8  # a little change: not a frozen stream
            return SimpleNamespace(image=noisy, timestamp=clock(), seq=self.seq)

    engine = LivenessEngine("blink", clock=clock, observer=FaceLandmarker(), timeout_s=3)
    outcome = ChallengeLiveness(StillCamera(), lambda: engine).run(lambda _p: None, threading.Event())
    assert not outcome.live and outcome.reason in ("timeout", "frozen")


def test_device_liveness_uses_the_verdict_and_the_colour_frame() -> None:
    class Device:
        def __init__(self, live: bool, reason: str = "") -> None:
            self.verdict = SimpleNamespace(live=live, verdict=SimpleNamespace(value=reason or None))

        def check(self, timeout_s: float) -> Any:
            return self.verdict

    ok = DeviceLiveness(Device(True), FakeCamera(), timeout_s=5).run(lambda _p: None, threading.Event())
    assert ok.live and ok.frame_rgb.shape == (4, 4, 3)
    spoof = DeviceLiveness(Device(False, "spoof"), FakeCamera(), timeout_s=5).run(
        lambda _p: None, threading.Event()
    )
    assert not spoof.live and spoof.reason == "spoof"


def test_device_liveness_with_the_simulated_liveness_camera() -> None:
    """drivers/liveness (the face helper's seam): live, spoof and a device that fails."""
    from drivers.errors import DeviceError
    from drivers.liveness.simulator import Fault, SimulatedLivenessCamera

    camera = SimulatedLivenessCamera()
    check = DeviceLiveness(camera, FakeCamera(), timeout_s=0.2)
    assert check.run(lambda _p: None, threading.Event()).live
    camera.inject(Fault.SPOOF)
    spoof = check.run(lambda _p: None, threading.Event())
    assert not spoof.live and spoof.reason == "spoof" and spoof.frame_rgb is None
    camera.clear()
    camera.inject(Fault.UNPLUGGED)
    with pytest.raises(DeviceError):
        check.run(lambda _p: None, threading.Event())


def test_a_spoof_verdict_attempts_no_match_and_a_failing_device_offers_help() -> None:
    from drivers.liveness.simulator import Fault, SimulatedLivenessCamera

    camera = SimulatedLivenessCamera()
    camera.inject(Fault.SPOOF)
    session = _session()
    engine, _seen, matcher, _b = _engine(session, FakeLiveness(live()))
    engine._liveness = DeviceLiveness(camera, FakeCamera(), timeout_s=0.2)
    engine.start()
    assert engine.state.phase == RETRY and engine.state.reason == "not_live" and matcher.templates == []
    camera.clear()
    camera.inject(Fault.UNPLUGGED)
    engine.retry()
    assert engine.state.phase == HELP and engine.state.offers_help and engine.matches_asked == 0
