"""``kiosk-tech config init --dir DIR [--backend URL]``: a complete site config for a new terminal.

Writes ``DIR/kiosk.toml`` (the packaged defaults with this terminal's values: a fresh kiosk id,
outbox, data and logs inside DIR, simulated devices unless ``--driver ROLE=NAME`` says otherwise)
and two fresh keys in ``DIR/keys/`` readable by the owner only: the HMAC-SHA256 key that signs
requests, and an Ed25519 seed (32 bytes, hex, RFC 8032) for signed receipt QR codes. Prints the
config file's path. Refuses to overwrite an existing terminal's config (its keys are enrolled).

The lead's ``config_cmd.py`` calls :func:`add_init_command` on its ``config`` sub-parsers.
"""

from __future__ import annotations

import argparse
import secrets
from pathlib import Path
from typing import Any

import tomli_w

from contract.signing import new_secret, write_key_file
from kiosk.config.model import deep_merge, read_toml
from kiosk.errors import ConfigError, ConfigProblem, StorageError
from kiosk.paths import config_dir

HMAC_KEY = "keys/hmac.key"
ED25519_KEY = "keys/receipt-ed25519.key"


def add_init_command(config_subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    init = config_subparsers.add_parser("init", help="write a complete site config for a new terminal")
    init.add_argument("--dir", required=True, metavar="DIR", help="folder for the config, keys, data, logs")
    init.add_argument(
        "--backend", metavar="URL", default="", help="backend URL (empty: local reference backend)"
    )
    init.add_argument(
        "--config", metavar="FILE", help="start from this site file (its other values are kept)"
    )
    init.add_argument("--kiosk-id", metavar="ID", help="the terminal's id (default: a fresh KIOSK-XXXXXXXX)")
    init.add_argument(
        "--driver", action="append", default=[], metavar="ROLE=NAME", help="a real device driver"
    )
    init.set_defaults(func=run_init)


def build_site(
    folder: Path,
    *,
    backend: str = "",
    kiosk_id: str = "",
    base: dict[str, Any] | None = None,
    drivers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The site config's content (paths relative to the file, so the folder can move)."""
    kiosk_id = kiosk_id or f"KIOSK-{secrets.token_hex(4).upper()}"
    data = deep_merge(read_toml(config_dir() / "kiosk.toml"), base or {})
    ours: dict[str, Any] = {
        "kiosk": {"id": kiosk_id, "data_dir": "data", "log_dir": "logs"},
        "backend": {
            "url": backend,
            "key_id": kiosk_id,
            "secret_file": HMAC_KEY,
            "signing_key_file": ED25519_KEY,
        },
        "outbox": {"path": "data/outbox.db"},
    }
    for role, name in (drivers or {}).items():
        ours.setdefault("devices", {})[role] = {"driver": name}
    return deep_merge(data, ours)


def init_site(
    folder: Path,
    *,
    backend: str = "",
    kiosk_id: str = "",
    base_file: str | None = None,
    drivers: dict[str, str] | None = None,
) -> Path:
    """Create the terminal's folder, keys and config; return the config file's path."""
    target = folder / "kiosk.toml"
    if target.exists():
        raise ConfigError(
            [ConfigProblem(str(target), "", "exists already; refusing to replace a terminal's keys")]
        )
    base = read_toml(Path(base_file)) if base_file else None
    site = build_site(folder, backend=backend, kiosk_id=kiosk_id, base=base, drivers=drivers)
    try:
        for sub in ("data", "logs", "keys"):
            (folder / sub).mkdir(parents=True, exist_ok=True)
        write_key_file(folder / HMAC_KEY, new_secret())
        write_key_file(folder / ED25519_KEY, secrets.token_hex(32))
        tmp = target.with_suffix(".toml.tmp")
        tmp.write_text(
            "# Site configuration written by `kiosk-tech config init`. Paths are relative to this file.\n"
            + tomli_w.dumps(site),
            encoding="utf-8",
        )
        tmp.replace(target)
    except OSError as exc:
        raise StorageError(f"cannot write the site config in {folder}: {exc.strerror or exc}") from exc
    return target.resolve()


def run_init(args: argparse.Namespace) -> int:
    drivers = {}
    for pair in args.driver:
        role, sep, name = pair.partition("=")
        if not sep or not role or not name:
            raise ConfigError([ConfigProblem("--driver", pair, "expected ROLE=NAME")])
        drivers[role] = name
    if args.backend and not args.backend.startswith(("https://", "http://127.0.0.1", "http://localhost")):
        raise ConfigError(
            [ConfigProblem("--backend", args.backend, "must be https:// (or http to 127.0.0.1)")]
        )
    path = init_site(
        Path(args.dir),
        backend=args.backend,
        kiosk_id=args.kiosk_id or "",
        base_file=args.config,
        drivers=drivers,
    )
    print(path)
    return 0
