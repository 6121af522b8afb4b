"""``kiosk-tech``: the technician's command line.

Each sub-command lives in its own module with ``register(subparsers)``; the table below is the one
explicit list of them (no registration by import side effects). Modules import heavy libraries
(OpenCV, serial, HTTP) inside their handlers so that ``kiosk-tech --help`` stays instant.

Exit codes: 0 success, 1 the check or device operation failed, 2 bad usage or bad configuration.
Errors are one line on stderr naming the cause, never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
from collections.abc import Sequence

from drivers.errors import DeviceError
from kiosk.errors import ConfigError, KioskError
from kiosk.extras import require_kiosk_extra
from kiosk.visit.privacy import MaskingFormatter

# name of the module under kiosk.tech -> it registers one or more sub-commands
COMMAND_MODULES: tuple[str, ...] = (
    "config_cmd",
    "maintenance_cmd",
    "devices_cmd",
    "doctor_cmd",
    "queue_cmd",
    "id_photo",
    "print_cmd",
    "sim_card",
    "read_card",
    "voice_cmd",
    "face_cmd",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk-tech",
        description="Technician tools for the self-service police kiosk.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details to stderr")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    sub.required = True
    for name in COMMAND_MODULES:
        module = importlib.import_module(f"kiosk.tech.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    os.umask(0o077)  # files made here (outbox, keys, site file, previews) are owner-only
    require_kiosk_extra("kiosk-tech")  # without the kiosk extra: one line naming the fix, exit 2
    parser = build_parser()
    args = parser.parse_args(argv)
    stderr = logging.StreamHandler()  # masked like the kiosk log: a traceback may hold an ID number
    stderr.setFormatter(MaskingFormatter("%(levelname)s %(name)s: %(message)s"))
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[stderr])
    try:
        code = args.func(args)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"config error: {problem}", file=sys.stderr)
        return 2
    except (KioskError, DeviceError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
