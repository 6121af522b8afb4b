"""The acceptance number read aloud: the prompt keys (intro, then digit by digit), every one of them
in the messages in both languages, and the player chaining them (a fake sound stands in for Kivy's:
``on_stop`` when a prompt has played out), a new screen ending the chain at once."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from kiosk.config.messages import Messages
from kiosk.visit.voice import NUMBER_INTRO, VoiceLibrary, build_voice, number_prompt_keys
from screens.assist.voice import VoicePlayer


def test_the_number_is_read_digit_by_digit_after_an_intro() -> None:
    assert number_prompt_keys("6335 0010") == [NUMBER_INTRO] + [f"voice.digit.{d}" for d in "63350010"]
    messages = Messages.load()
    for key in number_prompt_keys("0123456789"):
        assert key in messages and messages.get(key, "en") != key, key
    assert messages.get("voice.digit.1", "zh") == "幺"  # never mistaken for 七 on a poor speaker


class FakeSound:
    """Kivy's Sound as the player uses it: play/stop/seek/state and the on_stop event."""

    def __init__(self, name: str, log: list[str]) -> None:
        self.name, self.log = name, log
        self.state, self.volume, self.length = "stop", 1.0, 1.0
        self._listeners: list[Callable[..., None]] = []

    def bind(self, on_stop: Callable[..., None]) -> None:
        self._listeners.append(on_stop)

    def unbind(self, on_stop: Callable[..., None]) -> None:
        self._listeners.remove(on_stop)

    def seek(self, _pos: float) -> None:
        pass

    def play(self) -> None:
        self.state = "play"
        self.log.append(self.name)

    def stop(self) -> None:
        if self.state == "play":
            self.state = "stop"
            for listener in list(self._listeners):
                listener(self)

    def end(self) -> None:  # played out
        self.stop()


def _player(tmp_path: Path) -> tuple[VoicePlayer, dict[str, FakeSound], list[str], list[Callable[[], None]]]:
    messages = Messages.load()

    def synth(text: str, lang: str, out: Path) -> None:
        out.write_bytes(b"RIFF")

    keys = ["voice.screen.done", *number_prompt_keys("0123456789")]
    build_voice(
        Messages({k: {"zh": messages.get(k, "zh"), "en": messages.get(k, "en")} for k in keys}),
        tmp_path,
        synth,
    )
    library = VoiceLibrary(messages, tmp_path)
    played: list[str] = []
    sounds: dict[str, FakeSound] = {}
    posted: list[Callable[[], None]] = []

    def loader(path: str) -> Any:
        return sounds.setdefault(path, FakeSound(Path(path).stem, played))

    def post(fn: Callable[[], None]) -> None:
        posted.append(fn)

    return VoicePlayer(library, post, loader=loader), sounds, played, posted


def _run(posted: list[Callable[[], None]]) -> None:
    while posted:
        posted.pop(0)()


def test_the_player_chains_the_digits_and_a_new_screen_stops_the_chain(tmp_path: Path) -> None:
    player, sounds, played, posted = _player(tmp_path)
    player.play("voice.screen.done", "zh", then=number_prompt_keys("101"))
    _run(posted)  # the load came back
    for _ in range(5):  # the intro of the screen, the number's intro, three digits
        current = player._sound
        assert current is not None and current.state == "play"
        current.end()
        _run(posted)
    assert [key for key, _lang in player.played] == ["voice.screen.done", *number_prompt_keys("101")]
    assert len(played) == 5 and not player.playing
    # a new screen while the number is being read: the rest is not read
    player.play("voice.screen.done", "zh", then=number_prompt_keys("999"))
    _run(posted)
    player._sound.end()  # type: ignore[union-attr]
    _run(posted)
    assert player.current_key == NUMBER_INTRO
    player.play(None, "zh")  # the resident moved on
    _run(posted)
    assert not player.playing and player.current_key is None
    assert all(sound.state == "stop" for sound in sounds.values())
