"""``kiosk-tech voice build|list``: make the voice prompts' audio files from their texts.

``build`` synthesises every ``voice.*`` message in Chinese (espeak-ng voice ``cmn``) and English
into ``<data_dir>/voice`` (or ``--out DIR``) and keeps only what changed: a file is remade when its
text's hash no longer matches the manifest. ``list`` shows each prompt and where its audio comes
from (recorded, synthesised, or missing: silent).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from kiosk.config.messages import LANGUAGES, Messages
from kiosk.config.model import load_config
from kiosk.visit.voice import VoiceLibrary, build_voice, espeak_synthesiser, prompt_keys


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    voice = sub.add_parser("voice", help="build or list the voice prompts' audio files")
    voice_sub = voice.add_subparsers(dest="voice_command", metavar="ACTION")
    voice_sub.required = True
    build = voice_sub.add_parser("build", help="synthesise new or changed prompts with espeak-ng")
    build.add_argument("--config", metavar="FILE", help="site file (default: $KIOSK_CONFIG or /etc/kiosk)")
    build.add_argument("--out", metavar="DIR", help="folder for the files (default: <data_dir>/voice)")
    build.add_argument("--force", action="store_true", help="remake every file")
    build.add_argument("--lang", choices=LANGUAGES, action="append", help="only this language")
    build.add_argument("--json", action="store_true")
    build.set_defaults(func=run_build)
    listing = voice_sub.add_parser("list", help="each prompt and where its audio comes from")
    listing.add_argument("--config", metavar="FILE")
    listing.add_argument("--out", metavar="DIR")
    listing.set_defaults(func=run_list)


def voice_folder(config_file: str | None, out: str | None) -> tuple[Path, Path | None]:
    config = load_config(config_file)
    recorded = config.display.voice_recorded_dir
    return (
        Path(out) if out else config.data_dir / "voice",
        config.resolve(recorded) if recorded else None,
    )


def run_build(args: argparse.Namespace) -> int:
    folder, _recorded = voice_folder(args.config, args.out)
    started = time.monotonic()
    report = build_voice(
        Messages.load(),
        folder,
        espeak_synthesiser(),
        languages=args.lang or LANGUAGES,
        force=args.force,
        slow=espeak_synthesiser(slow=True),
    )
    seconds = round(time.monotonic() - started, 2)
    if args.json:
        doc = {"folder": str(folder), "seconds": seconds, **vars(report)}
        print(json.dumps(doc, ensure_ascii=False))
    else:
        print(
            f"voice prompts in {folder}: {len(report.built)} built, {len(report.kept)} unchanged, "
            f"{len(report.removed)} removed, {len(report.failed)} failed ({seconds} s)"
        )
        for name, why in report.failed.items():
            print(f"  failed {name}: {why}")
    return 1 if report.failed else 0


def run_list(args: argparse.Namespace) -> int:
    folder, recorded = voice_folder(args.config, args.out)
    messages = Messages.load()
    library = VoiceLibrary(messages, folder, recorded)
    silent = 0
    for key in prompt_keys(messages):
        for lang in LANGUAGES:
            path = library.audio_for(key, lang)
            if path is None:
                silent += 1
                where = "MISSING (silent)"
            else:
                where = ("recorded " if recorded and path.parent == recorded else "") + str(path)
            print(f"{key:<34} {lang}  {where}")
    return 1 if silent else 0
