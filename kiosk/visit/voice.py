"""Voice prompts: which prompt a screen or step speaks, and where its audio file is.

The prompt texts are messages like any other (``config/messages/voice.toml``, keys ``voice.*`` with
zh and en). Audio files are made from those texts by ``kiosk-tech voice build`` (espeak-ng) into
``<data_dir>/voice/`` with a ``manifest.json`` keyed by message key and language, holding the hash
of the text each file was made from: a changed text no longer matches, so its file is rebuilt on
the next build and never played stale meanwhile. A kiosk may ship recorded files instead: a file
``<key>.<lang>.wav`` (or ``.ogg``) in the configured recorded folder wins over a synthesised one.

No Kivy here: playing is :mod:`screens.assist.voice`'s job.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from kiosk.config.messages import LANGUAGES, Messages
from kiosk.errors import KioskError

log = logging.getLogger(__name__)

PREFIX = "voice."
MANIFEST = "manifest.json"
RECORDED_SUFFIXES = (".wav", ".ogg")
# espeak-ng voices per UI language: Mandarin, and English for the English UI
ESPEAK_VOICES = {"zh": "cmn", "en": "en-us"}
ESPEAK_SPEED_WPM = {"zh": 150, "en": 150}  # a little slower than espeak's 175: older residents
ESPEAK_SLOW_WPM = {"zh": 110, "en": 115}  # 长辈模式: about three quarters of the normal pace
SLOW = "slow"  # the variant of a prompt spoken in 长辈模式


class VoiceBuildError(KioskError):
    """espeak-ng is missing or could not make a file (the technician sees the exact cause)."""


def text_hash(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def resolve_key(
    messages: Messages, screen: str, *, step_kind: str = "", service_id: str = "", step_id: str = ""
) -> str | None:
    """The prompt key for a screen, or for a step shown on the step screen; None: silent.

    A service may give one step its own prompt (``voice.service.<service>.<step>``); otherwise the
    step kind's prompt is spoken (``voice.step.<kind>``); other screens speak ``voice.screen.<name>``.
    """
    candidates = []
    if screen == "step" and service_id and step_id:
        candidates.append(f"voice.service.{service_id}.{step_id}")
    on_step = screen == "step" and step_kind
    candidates.append(f"voice.step.{step_kind}" if on_step else f"voice.screen.{screen}")
    return next((key for key in candidates if key in messages), None)


NUMBER_INTRO = "voice.number.intro"  # "您的受理号是"


def number_prompt_keys(digits: str) -> list[str]:
    """The prompts that read an acceptance number (受理号) aloud: the intro, then each digit
    (``voice.digit.0`` ... ``voice.digit.9``, built like any prompt), so the voice says the same
    digits the screen and the receipt show and never reads the number as one large quantity."""
    return [NUMBER_INTRO, *(f"voice.digit.{d}" for d in digits if d.isascii() and d.isdigit())]


def prompt_keys(messages: Messages) -> list[str]:
    everything: list[str] = messages.keys()
    return [key for key in everything if key.startswith(PREFIX)]


@dataclass(frozen=True)
class ManifestEntry:
    file: str  # name inside the voice folder
    text_sha256: str
    engine: str


@dataclass
class BuildReport:
    built: list[str] = field(default_factory=list)  # "key|lang"
    kept: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)  # stale files deleted
    failed: dict[str, str] = field(default_factory=dict)


def _entry_id(key: str, lang: str, variant: str = "") -> str:
    return f"{key}|{lang}|{variant}" if variant else f"{key}|{lang}"


def read_manifest(folder: Path) -> dict[str, ManifestEntry]:
    try:
        data = json.loads((folder / MANIFEST).read_text(encoding="utf-8"))
        return {k: ManifestEntry(**v) for k, v in data["entries"].items()}
    except FileNotFoundError:
        return {}
    except (ValueError, KeyError, TypeError) as exc:
        log.warning("voice manifest %s unreadable (%s): everything will be rebuilt", folder / MANIFEST, exc)
        return {}


def _write_manifest(folder: Path, entries: dict[str, ManifestEntry]) -> None:
    doc = {"entries": {k: vars(v) for k, v in sorted(entries.items())}}
    tmp = folder / (MANIFEST + ".tmp")
    tmp.write_text(json.dumps(doc, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, folder / MANIFEST)


def espeak_synthesiser(
    executable: str = "espeak-ng", *, slow: bool = False
) -> Callable[[str, str, Path], None]:
    """A synthesiser writing a WAV file with espeak-ng (Mandarin voice ``cmn`` for zh); ``slow``
    speaks at the 长辈模式 pace."""
    path = shutil.which(executable)
    if path is None:
        raise VoiceBuildError(f"{executable} not found: install the Debian package espeak-ng")
    speeds = ESPEAK_SLOW_WPM if slow else ESPEAK_SPEED_WPM

    def synthesise(text: str, lang: str, out: Path) -> None:
        cmd = [path, "-v", ESPEAK_VOICES[lang], "-s", str(speeds[lang]), "-w", str(out), text]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
        except subprocess.TimeoutExpired as exc:
            raise VoiceBuildError(f"espeak-ng took over 60 s for {out.name}") from exc
        if done.returncode != 0 or not out.exists() or out.stat().st_size <= 44:
            raise VoiceBuildError(f"espeak-ng failed (exit {done.returncode}): {done.stderr.strip()[:300]}")

    return synthesise


def build_voice(
    messages: Messages,
    folder: Path,
    synthesise: Callable[[str, str, Path], None],
    *,
    languages: Iterable[str] = LANGUAGES,
    force: bool = False,
    slow: Callable[[str, str, Path], None] | None = None,
) -> BuildReport:
    """Make an audio file for every voice prompt whose file is missing or was made from another
    text; delete files no prompt uses any more. The manifest is rewritten after every file, so an
    interrupted build keeps what it made. With ``slow``, each prompt also gets its 长辈模式 variant
    made by that synthesiser."""
    folder.mkdir(parents=True, exist_ok=True)
    entries = read_manifest(folder)
    report = BuildReport()
    wanted: set[str] = set()
    variants = [("", synthesise)] + ([(SLOW, slow)] if slow is not None else [])
    jobs = [(k, g, v, m) for k in prompt_keys(messages) for g in languages for v, m in variants]
    for key, lang, variant, make in jobs:  # one prompt, one language, one pace
        text = messages.get(key, lang)
        digest = text_hash(text)
        eid = _entry_id(key, lang, variant)
        wanted.add(eid)
        old = entries.get(eid)
        if not force and old and old.text_sha256 == digest and (folder / old.file).is_file():
            report.kept.append(eid)
            continue
        pace = f".{variant}" if variant else ""
        name = f"{key[len(PREFIX) :]}.{lang}{pace}.{digest[:10]}.wav"
        tmp = folder / (name + ".part")
        try:
            make(text, lang, tmp)
            os.replace(tmp, folder / name)
        except (VoiceBuildError, OSError) as exc:
            tmp.unlink(missing_ok=True)
            report.failed[eid] = str(exc)
            continue
        if old and old.file != name:
            (folder / old.file).unlink(missing_ok=True)
        entries[eid] = ManifestEntry(name, digest, "espeak-ng")
        _write_manifest(folder, entries)
        report.built.append(eid)
    for eid in sorted(set(entries) - wanted):
        (folder / entries.pop(eid).file).unlink(missing_ok=True)
        report.removed.append(eid)
    _write_manifest(folder, entries)
    return report


class VoiceLibrary:
    """Finds the audio file of a prompt in the current language: a recorded file first, else the
    synthesised one if it was made from the prompt's current text, else nothing (the screen is
    silent and a technician finds the reason in the log)."""

    def __init__(self, messages: Messages, folder: Path, recorded: Path | None = None) -> None:
        self.messages = messages
        self.folder = folder
        self.recorded = recorded
        self._entries = read_manifest(folder)
        self._reported: set[tuple[str, str]] = set()

    def reload(self) -> None:
        self._entries = read_manifest(self.folder)

    def audio_for(self, key: str, lang: str, *, slow: bool = False) -> Path | None:
        """The prompt's file; ``slow`` (长辈模式) prefers its slower variant where one was made."""
        if self.recorded is not None:
            paces = (f".{SLOW}", "") if slow else ("",)
            for pace in paces:
                for suffix in RECORDED_SUFFIXES:
                    candidate = self.recorded / f"{key[len(PREFIX) :]}.{lang}{pace}{suffix}"
                    if candidate.is_file():
                        return candidate
        slower = self._entries.get(_entry_id(key, lang, SLOW)) if slow else None
        current = slower is not None and slower.text_sha256 == text_hash(self.messages.get(key, lang))
        if slower is not None and current and (self.folder / slower.file).is_file():
            return self.folder / slower.file
        entry = self._entries.get(_entry_id(key, lang))
        if entry is None:
            self._report(key, lang, "no audio file: run `kiosk-tech voice build`")
            return None
        if entry.text_sha256 != text_hash(self.messages.get(key, lang)):
            self._report(key, lang, "its text changed since the file was made: run `kiosk-tech voice build`")
            return None
        path = self.folder / entry.file
        if not path.is_file():
            self._report(key, lang, f"{path} is missing: run `kiosk-tech voice build`")
            return None
        return path

    def _report(self, key: str, lang: str, why: str) -> None:
        if (key, lang) not in self._reported:
            self._reported.add((key, lang))
            log.warning("voice prompt %s (%s) silent: %s", key, lang, why)
