"""Edit a site configuration file in place, keeping its comments and layout (tomlkit), and only
when the result still validates: a technician's typo in the settings never reaches the file."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import tomlkit

from kiosk.config.model import KioskConfig, load_config
from kiosk.errors import ConfigError, ConfigProblem


def update_site_file(path: Path, changes: Mapping[str, Any]) -> KioskConfig:
    """Set dotted keys (``{"session.idle_timeout_s": 120}``) in ``path`` and return the new
    effective configuration. Raises ConfigError (file untouched) when the result is invalid."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8") if path.exists() else ""
        document = tomlkit.parse(text)
    except (OSError, tomlkit.exceptions.TOMLKitError) as exc:
        raise ConfigError([ConfigProblem(str(path), "", f"cannot read: {exc}")]) from exc
    for dotted, value in changes.items():
        *tables, key = dotted.split(".")
        node: Any = document
        for table in tables:
            if table not in node:
                node[table] = tomlkit.table()
            node = node[table]
        node[key] = value
    new_text = tomlkit.dumps(document)
    candidate = path.with_name(f".{path.name}.candidate")
    candidate.write_text(new_text, encoding="utf-8")
    try:
        config = load_config(candidate, environ={})
    except ConfigError as exc:
        candidate.unlink(missing_ok=True)
        raise ConfigError([ConfigProblem(str(path), p.key, p.message) for p in exc.problems]) from exc
    _keep_owner_and_mode(path, candidate)
    with candidate.open("rb+") as fh:
        os.fsync(fh.fileno())
    candidate.replace(path)
    return config.model_copy(update={"source": str(path.resolve())})


def _keep_owner_and_mode(original: Path, candidate: Path) -> None:
    """The rewritten file gets the original's mode and owner: a technician running ``kiosk-tech``
    as root (umask 077) must not leave a ``root:root 0600`` site file the kiosk user cannot read,
    nor a world-readable one holding the PIN hash. A new file stays as the umask made it."""
    try:
        info = original.stat()
    except FileNotFoundError:
        return
    os.chmod(candidate, info.st_mode & 0o7777)
    if os.geteuid() == 0:
        os.chown(candidate, info.st_uid, info.st_gid)
