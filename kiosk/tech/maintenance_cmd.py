"""``kiosk-tech maintenance``: set the maintenance PIN, end a lockout, read the audit log."""

from __future__ import annotations

import argparse
import getpass
import json
import os
import re
import sys
from pathlib import Path

from kiosk.config.model import find_site_file, load_config
from kiosk.errors import ConfigError, ConfigProblem


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("maintenance", help="maintenance PIN and audit log")
    actions = parser.add_subparsers(dest="maintenance_command", metavar="ACTION")
    actions.required = True
    set_pin = actions.add_parser("set-pin", help="store a new maintenance PIN (hashed) in the site file")
    set_pin.add_argument(
        "--config", metavar="FILE", help="site file to write (default: $KIOSK_CONFIG, /etc/kiosk)"
    )
    set_pin.add_argument("--pin-stdin", action="store_true", help="read the PIN from standard input")
    set_pin.set_defaults(func=run_set_pin)
    unlock = actions.add_parser(
        "unlock", help="end a wrong-PIN lockout of the PIN pad now (audited, with who ran it)"
    )
    unlock.add_argument("--config", metavar="FILE")
    unlock.set_defaults(func=run_unlock)
    audit = actions.add_parser("audit", help="show the last maintenance events")
    audit.add_argument("--config", metavar="FILE")
    audit.add_argument("--count", type=int, default=50)
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(func=run_audit)


def run_set_pin(args: argparse.Namespace) -> int:
    from kiosk.config.sitefile import update_site_file
    from kiosk.maintenance.gate import MIN_PIN_LENGTH, AuditLog, hash_pin

    site = find_site_file(args.config)
    if site is None:
        raise ConfigError([ConfigProblem("(none)", "", "no site file: pass --config FILE")])
    if args.pin_stdin:
        pin = sys.stdin.readline().strip()
    else:
        pin = getpass.getpass(f"new maintenance PIN ({MIN_PIN_LENGTH}+ digits): ")
        if getpass.getpass("again: ") != pin:
            print("error: the two PINs differ; nothing changed", file=sys.stderr)
            return 1
    try:
        hashed = hash_pin(pin)
    except ValueError as exc:
        print(f"error: {exc}; nothing changed", file=sys.stderr)
        return 1
    config = update_site_file(Path(site), {"maintenance.pin_hash": hashed})
    AuditLog(config.data_dir / "audit.jsonl").record("maintenance.set_pin", via="kiosk-tech")
    print(f"maintenance PIN set in {site}")
    return 0


def technician() -> str:
    """Who runs this command, for the audit log: the login behind ``sudo``, else ``$USER``."""
    name = os.environ.get("SUDO_USER") or os.environ.get("USER") or "unknown"
    return re.sub(r"[^A-Za-z0-9._-]", "_", name)[:64]


def run_unlock(args: argparse.Namespace) -> int:
    from kiosk.maintenance.gate import gate_for

    config = load_config(args.config)
    gate = gate_for(config)
    before = gate.unlock(by=technician())
    _keep_owner(config.data_dir, (gate.state_file, gate.audit.path))
    if before.locked_for_s:
        print(f"maintenance PIN pad unlocked (was locked for {before.locked_for_s:.0f} s more"
              f" after {before.failures} wrong PINs)")  # fmt: skip
    else:
        print(f"maintenance PIN pad was not locked; wrong-PIN count cleared (was {before.failures})")
    return 0


def _keep_owner(data_dir: Path, files: tuple[Path, ...]) -> None:
    """Run as root (``sudo kiosk-tech``), files this command made belong to root: give them to the
    data folder's owner (the kiosk user), or the app could no longer write its own state and audit."""
    if os.geteuid() != 0:
        return
    owner = data_dir.stat()
    for path in files:
        if path.exists() and path.stat().st_uid != owner.st_uid:
            os.chown(path, owner.st_uid, owner.st_gid)


def run_audit(args: argparse.Namespace) -> int:
    from kiosk.maintenance.gate import AUDIT_FILE, AuditLog

    config = load_config(args.config)
    entries = AuditLog(config.data_dir / AUDIT_FILE).tail(args.count)
    if args.json:
        print(json.dumps(entries, ensure_ascii=False, indent=2))
    else:
        for entry in entries:
            rest = " ".join(f"{k}={v}" for k, v in entry.items() if k not in ("at", "action", "outcome"))
            print(f"{entry['at']:.0f} {entry['action']} {entry['outcome']} {rest}".rstrip())
    return 0
