"""Key files as configuration: the contract's key-file reader with its problems as ConfigError.

``contract.signing.load_secret`` raises the contract's own ``KeyFileError`` (the contract imports
nothing of the kiosk); the kiosk reports a bad key file like any other configuration problem, one
line naming the file, so its callers read keys through here.
"""

from __future__ import annotations

from pathlib import Path

from contract.signing import KeyFileError
from contract.signing import load_secret as _load_secret
from kiosk.errors import ConfigError, ConfigProblem


def load_secret(path: Path) -> bytes:
    """The key in a hex key file; a missing, unreadable or short key is a ConfigError naming it."""
    try:
        return _load_secret(path)
    except KeyFileError as exc:
        raise ConfigError([ConfigProblem(str(exc.path), "", exc.problem)]) from exc
