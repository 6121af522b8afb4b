"""Voice prompts: the texts (every step kind and resident screen has one, in zh and en), the build
that turns them into audio files (rebuilt only when a text changes), recorded files winning over
synthesised ones, and the display settings that configure them."""

from __future__ import annotations

import json
import shutil
import subprocess
import wave
from pathlib import Path

import pytest

from kiosk.config.messages import Messages
from kiosk.config.model import load_config
from kiosk.errors import ConfigError
from kiosk.services.step_kinds import STEP_KINDS
from kiosk.visit.voice import (
    VoiceBuildError,
    VoiceLibrary,
    build_voice,
    espeak_synthesiser,
    prompt_keys,
    resolve_key,
    text_hash,
)

RESIDENT_SCREENS = ("attract", "home", "services", "review", "done", "error")
SCREEN_STEP_KINDS = {"review", "done"}  # shown by their own screens, not the step host


class FakeSynth:
    """Writes a tiny WAV holding the text's hash, and remembers what it was asked to say."""

    def __init__(self, fail_on: str = "") -> None:
        self.calls: list[tuple[str, str]] = []
        self.fail_on = fail_on

    def __call__(self, text: str, lang: str, out: Path) -> None:
        self.calls.append((text, lang))
        if self.fail_on and self.fail_on in text:
            raise VoiceBuildError("espeak-ng failed (exit 1): synthetic failure")
        with wave.open(str(out), "wb") as w:
            w.setnchannels(1)
            w.setsampwidth(2)
            w.setframerate(22050)
            w.writeframes(text_hash(text).encode() * 10)


def messages_with(**texts: str) -> Messages:
    return Messages({key.replace("__", "."): {"zh": zh, "en": f"EN {zh}"} for key, zh in texts.items()})


def test_every_step_kind_and_resident_screen_has_a_prompt_in_both_languages() -> None:
    messages = Messages.load()
    for kind in sorted(set(STEP_KINDS) - SCREEN_STEP_KINDS):
        assert resolve_key(messages, "step", step_kind=kind) == f"voice.step.{kind}", kind
    for screen in RESIDENT_SCREENS:
        assert resolve_key(messages, screen) == f"voice.screen.{screen}"
    for key in prompt_keys(messages):
        zh, en = messages.get(key, "zh"), messages.get(key, "en")
        assert zh != key and en != key and zh != en
        assert any("\u4e00" <= ch <= "\u9fff" for ch in zh), key  # the Chinese prompt is Chinese
    assert resolve_key(messages, "maintenance") is None  # technicians' screens are silent


def test_a_service_step_may_have_its_own_prompt() -> None:
    messages = messages_with(voice__step__form="通用", voice__service__fine__plate="请输入车牌")
    assert resolve_key(messages, "step", step_kind="form", service_id="fine", step_id="plate") == (
        "voice.service.fine.plate"
    )
    assert (
        resolve_key(messages, "step", step_kind="form", service_id="fine", step_id="x") == "voice.step.form"
    )
    assert resolve_key(messages, "step", step_kind="payment") is None


def test_build_makes_each_prompt_once_and_rebuilds_only_changed_texts(tmp_path: Path) -> None:
    synth = FakeSynth()
    first = messages_with(voice__screen__home="请选择业务", voice__step__form="请回答问题")
    report = build_voice(first, tmp_path, synth)
    assert sorted(report.built) == [
        "voice.screen.home|en", "voice.screen.home|zh", "voice.step.form|en", "voice.step.form|zh",
    ]  # fmt: skip
    assert len(synth.calls) == 4 and not report.failed
    manifest = json.loads((tmp_path / "manifest.json").read_text(encoding="utf-8"))["entries"]
    entry = manifest["voice.screen.home|zh"]
    assert entry["text_sha256"] == text_hash("请选择业务") and (tmp_path / entry["file"]).is_file()

    again = build_voice(first, tmp_path, synth)
    assert again.built == [] and len(again.kept) == 4 and len(synth.calls) == 4

    changed = messages_with(voice__screen__home="请选择您要办理的业务", voice__step__form="请回答问题")
    library_before = VoiceLibrary(changed, tmp_path)
    assert library_before.audio_for("voice.screen.home", "zh") is None  # stale text is never played
    third = build_voice(changed, tmp_path, synth)
    assert sorted(third.built) == ["voice.screen.home|en", "voice.screen.home|zh"]
    assert synth.calls[-2:] == [("请选择您要办理的业务", "zh"), ("EN 请选择您要办理的业务", "en")]
    assert not (tmp_path / entry["file"]).exists()  # the old file is gone
    path = VoiceLibrary(changed, tmp_path).audio_for("voice.screen.home", "zh")
    assert path is not None and path.is_file()

    fewer = messages_with(voice__step__form="请回答问题")
    removed = build_voice(fewer, tmp_path, synth)
    assert sorted(removed.removed) == ["voice.screen.home|en", "voice.screen.home|zh"]
    assert sorted(p.name for p in tmp_path.glob("screen.*")) == []


def test_a_failed_prompt_is_reported_and_the_rest_still_built(tmp_path: Path) -> None:
    messages = messages_with(voice__screen__home="好", voice__screen__done="坏")
    report = build_voice(messages, tmp_path, FakeSynth(fail_on="坏"))
    assert set(report.failed) == {"voice.screen.done|zh", "voice.screen.done|en"}
    assert "synthetic failure" in report.failed["voice.screen.done|zh"]
    assert sorted(report.built) == ["voice.screen.home|en", "voice.screen.home|zh"]
    assert not list(tmp_path.glob("*.part"))
    assert VoiceLibrary(messages, tmp_path).audio_for("voice.screen.done", "zh") is None


def test_recorded_files_win_over_synthesised_ones(tmp_path: Path) -> None:
    messages = messages_with(voice__screen__home="请选择业务")
    build_voice(messages, tmp_path / "built", FakeSynth())
    recorded = tmp_path / "recorded"
    recorded.mkdir()
    (recorded / "screen.home.zh.ogg").write_bytes(b"OggS recorded by a person")
    library = VoiceLibrary(messages, tmp_path / "built", recorded)
    assert library.audio_for("voice.screen.home", "zh") == recorded / "screen.home.zh.ogg"
    english = library.audio_for("voice.screen.home", "en")
    assert english is not None and english.parent == tmp_path / "built"


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (scripts/bootstrap)")
def test_espeak_ng_speaks_mandarin_and_english_into_wav_files(tmp_path: Path) -> None:
    synth = espeak_synthesiser()
    for lang, text in (("zh", "请将身份证放在读卡区上"), ("en", "Please place your ID card on the reader")):
        out = tmp_path / f"{lang}.wav"
        synth(text, lang, out)
        with wave.open(str(out)) as w:
            seconds = w.getnframes() / w.getframerate()
        assert 1.0 < seconds < 10.0, (lang, seconds)
    # the Mandarin voice reads the characters (a longer text takes longer), not letter names
    short, long = tmp_path / "s.wav", tmp_path / "l.wav"
    synth("你好", "zh", short)
    synth("你好，欢迎使用公安自助服务，请触摸屏幕开始办理", "zh", long)
    assert long.stat().st_size > 3 * short.stat().st_size


def test_a_missing_espeak_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(VoiceBuildError, match="espeak-ng"):
        espeak_synthesiser("espeak-ng-not-installed-here")


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (scripts/bootstrap)")
def test_kiosk_tech_voice_build_writes_the_data_dir_and_lists_sources(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\ndata_dir = "data"\n', encoding="utf-8")
    cmd = [str(Path(__file__).parents[2] / ".venv/bin/kiosk-tech"), "voice"]
    first = subprocess.run([*cmd, "build", "--config", str(site), "--json"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    report = json.loads(first.stdout)
    count = len(prompt_keys(Messages.load())) * 2 * 2  # zh and en, each at the normal and 长辈模式 pace
    assert len(report["built"]) == count and report["folder"] == str(tmp_path / "data" / "voice")
    assert len(list((tmp_path / "data" / "voice").glob("*.wav"))) == count
    second = subprocess.run([*cmd, "build", "--config", str(site)], capture_output=True, text=True)
    assert f"0 built, {count} unchanged" in second.stdout
    listing = subprocess.run([*cmd, "list", "--config", str(site)], capture_output=True, text=True)
    assert listing.returncode == 0 and "MISSING" not in listing.stdout
    assert "voice.step.read_card" in listing.stdout


def test_display_settings_for_voice_and_physical_size_are_validated(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    site.write_text("[kiosk]\n[display]\nvoice_volume = 0.5\ndiagonal_in = 23.8\n", encoding="utf-8")
    config = load_config(site, environ={})
    assert config.display.voice_volume == 0.5
    assert config.display.pixels_per_mm == pytest.approx((1920**2 + 1080**2) ** 0.5 / (23.8 * 25.4))
    default = load_config(None, environ={}).display
    assert 15 * default.pixels_per_mm == pytest.approx(60.5, abs=0.5)  # 21.5" 1920x1080 panel
    site.write_text("[kiosk]\n[display]\ndpi = 96\n", encoding="utf-8")
    assert load_config(site, environ={}).display.pixels_per_mm == pytest.approx(96 / 25.4)
    for bad in ("voice_volume = 1.5", "diagonal_in = 2", "voice_attract_every_min = -1", "dpi = -3"):
        site.write_text(f"[kiosk]\n[display]\n{bad}\n", encoding="utf-8")
        with pytest.raises(ConfigError) as caught:
            load_config(site, environ={})
        assert bad.split(" ")[0] in str(caught.value.problems[0])


def test_elder_mode_prefers_the_slow_variant_and_falls_back_to_the_normal_one(tmp_path: Path) -> None:
    from kiosk.visit.voice import VoiceLibrary

    messages = Messages.load()
    made: list[tuple[str, str]] = []

    def normal(text: str, lang: str, out: Path) -> None:
        out.write_bytes(b"RIFF" + b"n" * 60)

    def slow(text: str, lang: str, out: Path) -> None:
        made.append((text, lang))
        out.write_bytes(b"RIFF" + b"s" * 60)

    key = prompt_keys(messages)[0]
    build_voice(messages, tmp_path, normal, languages=["zh"], slow=slow)
    library = VoiceLibrary(messages, tmp_path)
    normal_path, slow_path = library.audio_for(key, "zh"), library.audio_for(key, "zh", slow=True)
    assert normal_path is not None and slow_path is not None and normal_path != slow_path
    assert slow_path.read_bytes().endswith(b"s") and ".slow." in slow_path.name
    assert made and all(lang == "zh" for _, lang in made)
    build_voice(messages, tmp_path, normal, languages=["zh"])  # a build without the slow pace
    library.reload()
    assert library.audio_for(key, "zh", slow=True) == library.audio_for(key, "zh")  # falls back
