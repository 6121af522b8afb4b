"""Playing prompts through Kivy's SoundLoader (SDL2 mixer) the way the kiosk does: loaded on a
worker thread, started by the UI thread, stopped when the screen changes. Each case runs in its own
process because SDL picks its audio driver once: ``disk`` (the samples land in a file we can read
back), ``dummy`` (no output at all, as on a test machine), and a machine with no sound card (ALSA
finds nothing), where the kiosk must stay silent and keep running."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import wave
from pathlib import Path

import pytest

# Kivy (SoundLoader) in child processes: a Kivy test, so it lives here and not in tests/unit
pytestmark = pytest.mark.ui
ROOT = Path(__file__).resolve().parents[2]

PLAYER = r"""
import json, os, sys, threading, time
os.environ["KIVY_NO_ARGS"] = "1"
os.environ["KIVY_LOG_MODE"] = "PYTHON"
from pathlib import Path
from kiosk.config.messages import Messages
from kiosk.visit.voice import VoiceLibrary
from screens.assist.voice import VoicePlayer

folder = Path(sys.argv[1])
messages = Messages({"voice.screen.home": {"zh": "请选择业务", "en": "Choose"},
                     "voice.screen.done": {"zh": "谢谢", "en": "Thanks"}})
ui_thread = threading.get_ident()
queue = []
player = VoicePlayer(VoiceLibrary(messages, folder), queue.append, volume=0.6)
result = {}
started = time.monotonic()
player.play("voice.screen.home", "zh")
result["play_call_s"] = time.monotonic() - started   # the UI thread's share: no file loading
deadline = time.monotonic() + 10
while not queue and time.monotonic() < deadline and player.output_ok is not False:
    time.sleep(0.01)
for fn in queue:
    fn()   # what Clock.schedule_once would run on the UI thread
queue.clear()
result["output_ok"] = player.output_ok
result["playing"] = player.playing
time.sleep(0.6)
result["state_after"] = player._sound.state if player._sound is not None else None
player.play("voice.screen.done", "zh")   # a new screen: the first prompt stops at once
result["first_stopped"] = all(s.state == "stop" for p, s in player._cache.items() if "home" in p.name)
player.stop()
result["played"] = list(player.played)
print("RESULT " + json.dumps(result))
"""


def make_prompts(folder: Path) -> None:
    from kiosk.config.messages import Messages
    from kiosk.visit.voice import build_voice

    def tone(text: str, lang: str, out: Path) -> None:
        import math

        with wave.open(str(out), "wb") as w:  # 1.5 s of a 440 Hz tone, loud enough to find again
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)
            frames = bytearray()
            for i in range(int(22050 * 1.5)):
                frames += int(12000 * math.sin(2 * math.pi * 440 * i / 22050)).to_bytes(
                    2, "little", signed=True
                )
            w.writeframes(bytes(frames))

    messages = Messages({"voice.screen.home": {"zh": "请选择业务", "en": "Choose"},
                         "voice.screen.done": {"zh": "谢谢", "en": "Thanks"}})  # fmt: skip
    build_voice(messages, folder, tone)


def run_player(folder: Path, env_extra: dict[str, str], tmp_path: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SDL_", "KIOSK"))}
    env.pop("DISPLAY", None)  # audio needs no window
    env.update(env_extra, KIVY_HOME=str(tmp_path / "kivy"), PYTHONPATH=str(ROOT))
    done = subprocess.run(
        [sys.executable, "-c", PLAYER, str(folder)],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    line = next(line for line in done.stdout.splitlines() if line.startswith("RESULT "))
    return dict(json.loads(line[len("RESULT ") :]))


def test_disk_driver_receives_the_prompt_samples_and_a_new_screen_stops_it(tmp_path: Path) -> None:
    make_prompts(tmp_path / "voice")
    sink = tmp_path / "sdl-out.raw"
    result = run_player(
        tmp_path / "voice", {"SDL_AUDIODRIVER": "disk", "SDL_DISKAUDIOFILE": str(sink)}, tmp_path
    )
    assert result["output_ok"] is True and result["playing"] is True
    assert result["state_after"] == "play"
    assert result["first_stopped"] is True
    assert result["played"][0] == ["voice.screen.home", "zh"]
    assert result["play_call_s"] < 0.05  # loading happens on the worker thread
    data = sink.read_bytes()
    assert len(data) > 20_000
    assert max(data) > 0 and data.count(0) < len(data) * 0.9  # real samples, not silence


def test_dummy_driver_plays_without_output(tmp_path: Path) -> None:
    make_prompts(tmp_path / "voice")
    result = run_player(tmp_path / "voice", {"SDL_AUDIODRIVER": "dummy"}, tmp_path)
    assert result["output_ok"] is True and result["playing"] is True


@pytest.mark.skipif(
    shutil.which("aplay") is not None and Path("/dev/snd").exists(), reason="has a sound card"
)
def test_no_sound_card_leaves_the_kiosk_silent_but_running(tmp_path: Path) -> None:
    make_prompts(tmp_path / "voice")
    result = run_player(tmp_path / "voice", {"SDL_AUDIODRIVER": "alsa"}, tmp_path)
    assert result["output_ok"] is False and result["playing"] is False and result["played"] == []
