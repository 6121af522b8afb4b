"""``kiosk``: start the terminal, check it (``--smoke``) or picture every screen (``tour``).

    kiosk [--config FILE] [--simulate]                 run the kiosk
    kiosk --smoke [--config FILE] [--simulate]         draw the home screen once, report devices
    kiosk tour --out DIR [--lang zh|en] [--size WxH] [--simulate]

Exit codes: 0 fine; 1 a required device failed (smoke); 2 bad configuration or usage, including
every set-up production mode refuses (kiosk/config/production.py). Problems are printed one per
line for technicians; never a traceback.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from kiosk.extras import require_kiosk_extra

# before any import that needs the kiosk extra: without it, one line naming the fix, exit 2
require_kiosk_extra("kiosk")

from drivers.errors import DeviceError  # noqa: E402
from kiosk.config.model import KioskConfig, load_config  # noqa: E402
from kiosk.errors import ConfigError, KioskError  # noqa: E402

log = logging.getLogger("kiosk")


def _size(text: str) -> tuple[int, int]:
    try:
        width, height = (int(part) for part in text.lower().split("x"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"expected WIDTHxHEIGHT such as 1920x1080, got {text!r}") from exc
    if not (320 <= width <= 8192 and 320 <= height <= 8192):
        raise argparse.ArgumentTypeError(f"size {text} out of range (320..8192 each side)")
    return width, height


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", metavar="FILE", help="site configuration (default: $KIOSK_CONFIG, /etc/kiosk)"
    )
    parser.add_argument("--simulate", action="store_true", help="use simulated devices for every role")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="kiosk", description="Self-service police kiosk.")
    _common(parser)
    parser.add_argument(
        "--smoke", action="store_true", help="draw the home screen once, report devices, exit"
    )
    parser.add_argument("--size", type=_size, metavar="WxH", help="window size (default: from config)")
    parser.add_argument("--fullscreen", action="store_true", default=None, help="fullscreen window")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    tour = sub.add_parser("tour", help="render every screen and state to PNG files")
    _common(tour)
    tour.add_argument("--out", required=True, type=Path, metavar="DIR", help="folder for the PNG files")
    tour.add_argument("--lang", choices=("zh", "en"), default=None, help="language of the pictures")
    tour.add_argument("--size", type=_size, metavar="WxH", help="window size, e.g. 1080x1920 for portrait")
    selftest = sub.add_parser("selftest", help="walk a whole service with synthetic inputs and check it")
    _common(selftest)
    selftest.add_argument(
        "--service", required=True, metavar="ID", help="service id, e.g. household-certificate"
    )
    selftest.add_argument("--json", action="store_true", help="report each step as JSON")
    return parser


def _prepare_config(args: argparse.Namespace) -> KioskConfig:
    overrides: dict[str, dict[str, object]] = {}
    if getattr(args, "size", None):
        width, height = args.size
        overrides["display"] = {
            "width": width,
            "height": height,
            "orientation": "landscape" if width >= height else "portrait",
        }
    if getattr(args, "lang", None):
        overrides.setdefault("display", {})["default_language"] = args.lang
    if getattr(args, "fullscreen", None):
        overrides.setdefault("display", {})["fullscreen"] = True
    if args.command in ("tour", "selftest") or args.smoke:
        overrides.setdefault("display", {})["fullscreen"] = False
    config = load_config(args.config, overrides=overrides, production=True)  # its refusals, every line
    if args.simulate:
        from kiosk.main import simulate_everything

        config = simulate_everything(config)
    return config


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)  # every file and folder the kiosk makes is owner-only (residents' data)
    from kiosk.visit.memory import tune_allocator

    tune_allocator()  # before any thread: the kiosk runs for months (kiosk/visit/memory.py)
    args = build_parser().parse_args(argv)
    try:
        config = _prepare_config(args)
        from kiosk.main import compose, setup_logging

        setup_logging(config, console=not (args.smoke or args.command in ("tour", "selftest")))
        runtime = compose(config)
    except ConfigError as exc:
        for line in [str(p) for p in exc.problems] or [str(exc)]:
            print(f"config error: {line}", file=sys.stderr)
        return 2
    except (KioskError, DeviceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from screens.kivy_env import prepare

    display = config.display
    prepare(
        size=display.size,
        fullscreen=display.fullscreen,
        show_cursor=display.show_cursor,
        kivy_home=config.data_dir / "kivy",
    )
    if args.command == "tour":
        from screens.harness.tour import run_tour

        return run_tour(runtime, args.out)
    if args.command == "selftest":
        return _selftest(runtime, args)
    if args.smoke:
        from screens.harness.tour import run_smoke

        return run_smoke(runtime)
    from kiosk.main import run_app

    try:
        return run_app(runtime)
    except KioskError as exc:  # e.g. another kiosk app already runs on this data folder
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _selftest(runtime: object, args: argparse.Namespace) -> int:
    import json

    from screens.harness.selftest import report_dicts, run_selftest

    if runtime.catalogue.get(args.service) is None:  # type: ignore[attr-defined]
        print(f"error: unknown service {args.service!r}", file=sys.stderr)
        return 2
    ok, reports = run_selftest(runtime, args.service)  # type: ignore[arg-type]
    if args.json:
        print(
            json.dumps(
                {"service": args.service, "ok": ok, "steps": report_dicts(reports)}, ensure_ascii=False
            )
        )
    else:
        for r in reports:
            mark = "ok  " if r.ok else "FAIL"
            print(f"{mark} {r.step:<14} {r.kind:<16} {r.seconds:6.2f} s  {r.detail}".rstrip())
        print(f"selftest {args.service}: {'passed' if ok else 'FAILED'}")
    return 0 if ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
