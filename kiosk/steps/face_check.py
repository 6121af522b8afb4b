"""The face-check step's rules (人证核验), Kivy-free: liveness first, then a 1:1 face match; nothing
is filed in a person's name unless both pass.

Events in: :meth:`FaceCheckEngine.start` (the step opened), :meth:`~FaceCheckEngine.tick` (the
screen's timer; deadlines are read from the injected clock), the reports and outcomes of the work
run on the injected runner, :meth:`~FaceCheckEngine.retry` ("try again"), :meth:`~FaceCheckEngine.cannot`
(the resident's 我做不了 button) and :meth:`~FaceCheckEngine.leave`. State out: :class:`FaceCheckState`.

1. **Liveness** (:class:`LivenessCheck`, run off the UI thread): an active challenge (blink, turn)
   on the live video, or the verdict of the site's infrared liveness camera. It ends with the live
   frame the match uses, or a reason it failed.
2. **Match**, by ``identity.match`` (:mod:`kiosk.config.model`):

   - ``card``: the live face against the card photo decoded by the site's WLT decoder, on the
     kiosk (:class:`Matcher`). A card whose photo was not decoded falls back to ``register``.
   - ``register``: the live JPEG goes to the backend, which matches it against the register photo
     and answers the holder's data only on a match. Services without a card always do this.
   - ``both``: the card match on the kiosk, then the register match; both must pass.

Outcomes: ``passed`` (the widget moves the flow on); a first failure (not live, another face, no
usable face) is ``retry`` ("one more try"); the second is ``failed``, with 呼叫帮助 and a calm
explanation; a refusal that trying again cannot mend (no record, too many attempts) is ``failed``
at once; a resident who cannot do the challenge (it timed out, or 我做不了) gets ``help``: 呼叫帮助,
never a dead end. A backend that does not answer is ``offline`` (try again, or 呼叫帮助). After any
failure the step never finishes, so nothing is submitted.

Privacy: the live frame, its JPEG, the card photo and the templates are kept only in the visit's
``face`` dict (:class:`kiosk.visit.session.Session`), wiped with the session; none is logged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol

from contract.ids import uuid7
from kiosk.errors import BackendRejected, BackendUnavailable
from kiosk.steps.backend_step import Runner
from kiosk.steps.lookups import IdentityClient, identity_name, identity_number, verification_of

log = logging.getLogger(__name__)

Mode = Literal["card", "register", "both"]
ATTEMPTS = 2  # a first failure gets one more try; the second ends at 呼叫帮助

# phases
READY, LIVENESS, MATCHING = "ready", "liveness", "matching"
PASSED, RETRY, FAILED, HELP, OFFLINE = "passed", "retry", "failed", "help", "offline"

# reasons a failure may be tried again (the resident can do better: look at the camera, hold still)
RETRYABLE = frozenset({"not_live", "photo_mismatch", "photo_unusable"})
# the calm sentence each reason shows (config/messages/face.toml)
REASON_MESSAGES = {
    "not_live": "face.result.not_live",
    "photo_mismatch": "face.result.mismatch",
    "photo_unusable": "face.result.unusable",
    "card_photo_unusable": "face.result.card_photo",
    "no_record": "face.result.no_record",
    "id_number_invalid": "face.result.no_record",
    "photo_missing": "face.result.unusable",
    "too_many_attempts": "face.result.too_many",
    "timeout": "face.result.cannot",
    "cannot": "face.result.cannot",
    "offline": "face.result.offline",
    "refused": "face.result.refused",
}


class Matcher(Protocol):
    """What the engine needs of :class:`contract.faces.FaceMatcher` (templates raise
    ``contract.faces.FaceUnusable``, a ``ValueError``)."""

    threshold: float

    def template(self, rgb: Any) -> Any: ...

    def similarity(self, a: Any, b: Any) -> float: ...


@dataclass(frozen=True)
class LivenessProgress:
    """One report of the running challenge: the instruction shown and spoken, how far it got."""

    instruction_key: str
    progress: float = 0.0  # 0..1


@dataclass(frozen=True)
class LivenessOutcome:
    """How the liveness check ended. ``frame_rgb`` is the live frame the match uses (when live)."""

    live: bool
    reason: str = ""  # not live: the engine's reason; "timeout" when the time ran out
    frame_rgb: Any = None


class LivenessCheck(Protocol):
    """A liveness check, run on a worker thread: reports progress through ``report`` (any thread)
    and returns once live, not live, out of time, or ``stop`` is set (then its outcome is dropped)."""

    def run(self, report: Callable[[LivenessProgress], None], stop: threading.Event) -> LivenessOutcome: ...


@dataclass(frozen=True)
class FaceCheckSettings:
    mode: Mode = "register"
    challenge: str = "blink"
    challenge_timeout_s: float = 20.0
    match_timeout_s: float = 15.0


@dataclass(frozen=True)
class MatchResult:
    ok: bool
    reason: str = ""  # failure: a key of REASON_MESSAGES
    similarity: float | None = None  # card match
    verification: Mapping[str, Any] | None = None  # register match: verification_id, holder, certificate


@dataclass(frozen=True)
class FaceCheckState:
    """What the face-check screen shows."""

    phase: str = READY
    instruction_key: str = "liveness.look"  # kiosk/identity/liveness.py's instruction keys
    progress: float = 0.0
    seconds_left: int = 0  # the challenge's countdown
    reason: str = ""  # why it failed (a REASON_MESSAGES key; logged, never shown raw)
    attempt: int = 1

    @property
    def message_key(self) -> str:
        """The result's calm sentence (empty while running or passed)."""
        return REASON_MESSAGES.get(self.reason, "") if self.phase in (RETRY, FAILED, HELP, OFFLINE) else ""

    @property
    def can_retry(self) -> bool:
        return self.phase in (RETRY, OFFLINE) or (self.phase == HELP and self.attempt < ATTEMPTS)

    @property
    def offers_help(self) -> bool:
        return self.phase in (FAILED, HELP, OFFLINE)

    @property
    def running(self) -> bool:
        return self.phase in (LIVENESS, MATCHING)


class FaceCheckEngine:
    """One face check of a visit (see the module doc)."""

    kind = "face_check"

    def __init__(
        self,
        visit: Any,
        settings: FaceCheckSettings,
        *,
        liveness: LivenessCheck,
        matcher: Callable[[], Matcher] | None,
        clients: Callable[[], Any],
        tasks: Runner,
        post: Callable[[Callable[[], None]], None],
        clock: Callable[[], float],
        decode_image: Callable[[bytes], Any] | None = None,
        encode_jpeg: Callable[[Any], bytes] | None = None,
        on_change: Callable[[FaceCheckState], None] | None = None,
    ) -> None:
        self.visit = visit
        self.settings = settings
        self._liveness = liveness
        self._matcher = matcher
        self._clients = clients
        self._tasks = tasks
        self._post = post
        self._clock = clock
        self._decode = decode_image
        self._encode = encode_jpeg
        self._on_change = on_change
        self.state = FaceCheckState()
        self.left = False
        self._stop = threading.Event()
        self._generation = 0  # answers of an earlier attempt (or a timed-out match) are dropped
        self._deadline = 0.0
        self.mode: Mode = self._mode()
        self.matches_asked = 0  # how many matches ran (tests: none after a liveness failure)

    # -- events ------------------------------------------------------------------------------------
    def start(self) -> None:
        """Begin (or begin again) the liveness challenge."""
        if self.left:
            return
        self._generation += 1
        generation = self._generation
        self._stop = threading.Event()
        stop = self._stop
        self._deadline = self._clock() + self.settings.challenge_timeout_s
        self._set(
            phase=LIVENESS,
            instruction_key="liveness.look",
            progress=0.0,
            seconds_left=round(self.settings.challenge_timeout_s),
            reason="",
        )

        def report(progress: LivenessProgress) -> None:
            self._post(lambda: self._progress(generation, progress))

        self._tasks.run(
            lambda: self._liveness.run(report, stop),
            lambda outcome: self._live_done(generation, outcome),
            lambda exc: self._broken(generation, exc),
            name="face-liveness",
        )

    def tick(self) -> None:
        """The screen's timer: the countdown, and the deadlines of the challenge and the match."""
        if self.left or not self.state.running:
            return
        left = self._deadline - self._clock()
        if self.state.phase == LIVENESS:
            if left <= 0:
                self._stop.set()
                self._end(HELP, "timeout")
            else:
                self._set(seconds_left=max(1, round(left)))
        elif left <= 0:  # the match took longer than match_timeout_s: a calm "try again"
            self._generation += 1
            log.warning("face check: the match did not answer within %.0f s", self.settings.match_timeout_s)
            self._end(OFFLINE, "offline")

    def retry(self) -> None:
        """Try again: one more attempt after a failure, or the match again once the backend is back."""
        if self.left or not self.state.can_retry:
            return
        if self.state.phase == OFFLINE and self.visit.face.get("live_rgb") is not None:
            self._match(self.visit.face["live_rgb"])
            return
        self._set(attempt=min(ATTEMPTS, self.state.attempt + 1))
        self.start()

    def cannot(self) -> None:
        """我做不了: the resident cannot do the challenge: 呼叫帮助 is offered at once."""
        if self.left or self.state.phase in (PASSED, FAILED):
            return
        self._stop.set()
        self._generation += 1
        self._end(HELP, "cannot", attempt=ATTEMPTS)

    def leave(self) -> None:
        """The resident left the step: the challenge stops, late answers are dropped."""
        if self.left:
            return
        self.left = True
        self._stop.set()
        self._generation += 1
        self._tasks.cancel()

    # -- liveness ----------------------------------------------------------------------------------
    def _progress(self, generation: int, progress: LivenessProgress) -> None:
        if generation == self._generation and not self.left and self.state.phase == LIVENESS:
            self._set(instruction_key=progress.instruction_key, progress=progress.progress)

    def _live_done(self, generation: int, outcome: LivenessOutcome) -> None:
        if generation != self._generation or self.left or self.state.phase != LIVENESS:
            return
        if outcome.live and outcome.frame_rgb is not None:
            self.visit.face["live_rgb"] = outcome.frame_rgb
            self._match(outcome.frame_rgb)
        elif outcome.reason == "timeout":
            self._end(HELP, "timeout")
        else:
            log.info("face check: not live (%s)", outcome.reason or "no reason")
            self._failure("not_live")

    # -- the match ---------------------------------------------------------------------------------
    def _match(self, frame_rgb: Any) -> None:
        self._generation += 1
        generation = self._generation
        self._deadline = self._clock() + self.settings.match_timeout_s
        self._set(phase=MATCHING, instruction_key="face.matching", progress=1.0, reason="")
        self.matches_asked += 1
        self._tasks.run(
            lambda: self._compare(frame_rgb),
            lambda result: self._matched(generation, result),
            lambda exc: self._match_failed(generation, exc),
            name="face-match",
        )

    def _compare(self, frame_rgb: Any) -> MatchResult:
        """On the worker thread: the configured match (see the module doc)."""
        if self.mode in ("card", "both"):
            result = self._card_match(frame_rgb)
            if not result.ok or self.mode == "card":
                return result
        return self._register_match(frame_rgb)

    def _card_match(self, frame_rgb: Any) -> MatchResult:
        assert self._matcher is not None and self._decode is not None
        matcher = self._matcher()
        try:
            card = self._decode(self.visit.identity.photo_bmp)
            self.visit.face["card_rgb"] = card
            card_template = matcher.template(card)
        except ValueError as exc:  # contract.faces.FaceUnusable
            log.warning("face check: the card photo cannot be used (%s)", exc)
            return MatchResult(False, "card_photo_unusable")
        try:
            live_template = matcher.template(frame_rgb)
        except ValueError as exc:
            log.info("face check: the live frame cannot be used (%s)", exc)
            return MatchResult(False, "photo_unusable")
        self.visit.face["templates"] = (card_template, live_template)
        similarity = float(matcher.similarity(card_template, live_template))
        ok = similarity >= matcher.threshold
        log.info(
            "face check: card match %s (similarity %.3f, threshold %.3f)", ok, similarity, matcher.threshold
        )
        return MatchResult(ok, "" if ok else "photo_mismatch", similarity=similarity)

    def _register_match(self, frame_rgb: Any) -> MatchResult:
        assert self._encode is not None
        jpeg = self._encode(frame_rgb)
        self.visit.face["live_jpeg"] = jpeg
        client: IdentityClient = self._clients()
        try:
            answer = client.verify_identity(
                identity_number(self.visit),
                identity_name(self.visit),
                jpeg,
                request_id=self._request_id(),
                purpose=str(self.visit.service_id or ""),
            )
        finally:
            client.close()
        verification = verification_of(answer)
        if not verification.verified:
            reason = verification.reason if verification.reason in REASON_MESSAGES else "refused"
            log.info("face check: register match refused (%s)", verification.reason or "no reason")
            return MatchResult(False, reason)
        return MatchResult(
            True,
            verification={
                "verification_id": verification.verification_id,
                "holder": dict(verification.holder),
                "certificate": dict(verification.certificate),
            },
        )

    def _request_id(self) -> str:
        """The visit's request id, reserved now if it has none: the backend signs the certificate's
        claims with it, and the submit step files the request under the same id."""
        reserved = self.visit.artifacts.get("request_id")
        if not reserved:
            reserved = self.visit.artifacts["request_id"] = str(uuid7())
        return str(reserved)

    def _matched(self, generation: int, result: MatchResult) -> None:
        if generation != self._generation or self.left or self.state.phase != MATCHING:
            return
        if not result.ok:
            self._failure(result.reason)
            return
        record: dict[str, Any] = {"mode": self.mode, "attempts": self.state.attempt}
        if result.similarity is not None:
            record["similarity"] = round(result.similarity, 3)
        if result.verification is not None:
            record["verification_id"] = result.verification["verification_id"]
            self.visit.artifacts["verification"] = dict(result.verification)  # the certificate's data
        self.visit.artifacts["face_check"] = record
        self._set(phase=PASSED, instruction_key="face.passed", reason="")

    def _match_failed(self, generation: int, exc: Exception) -> None:
        if generation != self._generation or self.left:
            return
        if isinstance(exc, BackendUnavailable):
            log.warning("face check: backend unavailable: %s", exc)
            self._end(OFFLINE, "offline")
        elif isinstance(exc, BackendRejected):
            log.warning("face check: backend refused: %s", exc)
            self._end(FAILED, "refused")
        else:
            raise exc  # a bug: the runner hands it to the app's calm end of the visit

    # -- outcomes ----------------------------------------------------------------------------------
    def _failure(self, reason: str) -> None:
        if reason in RETRYABLE and self.state.attempt < ATTEMPTS:
            self._end(RETRY, reason)
        else:
            self._end(FAILED, reason)

    def _end(self, phase: str, reason: str, **changes: Any) -> None:
        log.info("face check: %s (%s), attempt %d", phase, reason, self.state.attempt)
        self._set(phase=phase, reason=reason, seconds_left=0, **changes)

    def _broken(self, generation: int, exc: Exception) -> None:
        """The liveness check itself failed (a camera gone): a calm failure with 呼叫帮助."""
        if generation != self._generation or self.left:
            return
        log.warning("face check: liveness check failed: %s", exc)
        self._end(HELP, "cannot")

    def _mode(self) -> Mode:
        """The configured mode, for this visit: ``register`` when there is no decoded card photo."""
        photo = getattr(self.visit.identity, "photo_bmp", None)
        if self.settings.mode in ("card", "both") and not photo:
            if self.visit.identity is not None:
                log.warning("face check: the card photo was not decoded; matching at the backend")
            return "register"
        if self.settings.mode in ("card", "both") and (self._matcher is None or self._decode is None):
            return "register"
        return self.settings.mode

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        if self._on_change is not None:
            self._on_change(self.state)
