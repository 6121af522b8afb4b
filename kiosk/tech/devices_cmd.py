"""``kiosk-tech devices [--json]``: what is plugged in, and the config lines to use it."""

from __future__ import annotations

import argparse
import json


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("devices", help="discover serial ports, cameras, printers and CUPS queues")
    parser.add_argument("--json", action="store_true", help="one JSON document for scripts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.devices.discovery import discover, group_readable

    found = discover()
    if args.json:
        print(
            json.dumps(
                [f.as_dict() | {"accessible": group_readable(f.path)} for f in found],
                ensure_ascii=False,
                indent=2,
            )
        )
        return 0
    if not found:
        print("no serial ports, cameras, USB printers or CUPS queues found")
        return 0
    for item in found:
        access = "" if group_readable(item.path) else "  (no access: check the udev rule and groups)"
        print(f"{item.kind:<12} {item.path}  {item.vid_pid}  {item.description}{access}")
        if item.stable_path:
            print(f"{'':<12} stable name: {item.stable_path}")
        if item.modes:
            print(f"{'':<12} modes: {', '.join(item.modes[:8])}")
        print("\n".join(f"{'':<12} {line}" for line in item.suggestion.splitlines()))
        print()
    return 0
