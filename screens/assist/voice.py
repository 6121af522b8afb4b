"""Speaking the voice prompts: one prompt at a time, never blocking the UI.

Files are found by :class:`kiosk.visit.voice.VoiceLibrary` and loaded on a worker thread (SDL_mixer
decodes the whole file) through :class:`kiosk.work.Tasks`; playing is asynchronous in SDL_mixer, so
the UI thread only starts and stops sounds. A new prompt or screen cancels the loads still on their
way (a prompt that finishes loading after the resident has moved on is dropped) and stops the old
prompt at once. A prompt may be followed by others (``then``: the acceptance number read digit by
digit after the done screen's words); each starts when the one before it ends. A kiosk without a
working audio output (no sound card, SDL cannot open the mixer) stays silent and says so once in
the log.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from kiosk.visit.voice import VoiceLibrary
from kiosk.work import OnUnexpected, Tasks

log = logging.getLogger(__name__)

PLAYED_KEPT = 64


def kivy_sound_loader(path: str) -> Any:
    from kivy.core.audio import SoundLoader

    return SoundLoader.load(path)


class VoicePlayer:
    """Plays prompts by message key in the current language, at the resident's volume."""

    def __init__(
        self,
        library: VoiceLibrary,
        post: Callable[[Callable[[], None]], None],
        *,
        volume: float = 0.8,
        loader: Callable[[str], Any] = kivy_sound_loader,
        on_unexpected: OnUnexpected | None = None,
    ) -> None:
        self.library = library
        self.post = post
        self.loader = loader
        self.volume = volume
        self.muted = False
        self.slow = False  # 长辈模式: the slower variant of each prompt where one was made
        self.output_ok: bool | None = None  # None until the first sound was loaded
        self.current_key: str | None = None
        # (key, lang) of the last prompts started, newest last; bounded: the kiosk runs for months
        self.played: deque[tuple[str, str]] = deque(maxlen=PLAYED_KEPT)
        self._tasks = Tasks(post, on_unexpected)  # the loads; cancelled when the resident moves on
        self._sound: Any = None
        self._then: list[str] = []  # prompts still to play after the current one
        self._turn = 0  # bumped by every play and stop: an ending of an older prompt chains nothing
        self._cache: dict[Path, Any] = {}
        self._lock = threading.Lock()

    # -- UI thread -------------------------------------------------------------------------------

    def play(self, key: str | None, lang: str, then: Sequence[str] = ()) -> None:
        """Stop what is playing and speak ``key`` (None: just fall silent), then each of ``then``
        in turn (a prompt without audio is skipped)."""
        self.stop()
        self.current_key = key
        if key is None or self.output_ok is False:
            return
        self._then = list(then)
        path = self.library.audio_for(key, lang, slow=self.slow)
        if path is None:
            if self._then:
                self.play(self._then[0], lang, self._then[1:])
            return
        with self._lock:
            cached = self._cache.get(path)
        if cached is not None:
            self._start(cached, key, lang)
            return
        self._tasks.run(
            lambda: self._load(path),
            lambda sound: self._start(sound, key, lang) if sound is not None else None,
            lambda exc: log.error("voice prompt %s cannot be loaded from %s: %s", key, path, exc),
            name="voice-load",
        )

    def stop(self) -> None:
        self._then = []
        self._turn += 1
        self._tasks.cancel()  # a prompt still loading is not played
        if self._sound is not None:
            self._sound.stop()
            self._sound = None

    def set_volume(self, volume: float) -> None:
        self.volume = min(1.0, max(0.0, volume))
        if self._sound is not None:
            self._sound.volume = 0.0 if self.muted else self.volume

    def set_muted(self, muted: bool) -> None:
        self.muted = muted
        if muted:
            self.stop()

    @property
    def playing(self) -> bool:
        return self._sound is not None and self._sound.state == "play"

    def _start(self, sound: Any, key: str, lang: str) -> None:
        if self.muted:
            return  # muted while the file was loading
        sound.volume = self.volume
        if self._then:
            self._chain(sound, lang)
        sound.seek(0)
        sound.play()
        self._sound = sound
        self.played.append((key, lang))
        log.debug("voice prompt %s (%s) playing", key, lang)

    def _chain(self, sound: Any, lang: str) -> None:
        """When ``sound`` ends (Kivy's ``on_stop``: played out, or stopped), the next prompt of
        this turn starts; a stop or a new prompt in between ends the chain."""
        turn, rest = self._turn, list(self._then)

        def ended(*_args: Any) -> None:
            sound.unbind(on_stop=ended)
            if turn == self._turn and rest:
                self.post(lambda: self.play(rest[0], lang, rest[1:]) if turn == self._turn else None)

        sound.bind(on_stop=ended)

    # -- worker thread ---------------------------------------------------------------------------

    def _load(self, path: Path) -> Any:
        """The loaded sound, cached; None when no audio output can play it. A damaged file or codec
        raises: logged by the task's error handler, it never reaches the UI's exception handler."""
        sound = self.loader(str(path))
        # SDL answers a missing audio device with a sound of length 0 that never plays
        ok = sound is not None and (sound.length or 0) > 0
        if not ok:
            if self.output_ok is not False:
                log.warning("voice prompts off: no audio output could play %s (no sound card?)", path)
            self.output_ok = False
            return None
        self.output_ok = True
        with self._lock:
            self._cache[path] = sound
        return sound
