"""Where the kiosk's packaged files live (works from a checkout and from an installed wheel)."""

from __future__ import annotations

from importlib import resources
from pathlib import Path


def config_dir() -> Path:
    """The folder holding the default configuration files shipped with the package."""
    return Path(str(resources.files("config")))


def screens_dir() -> Path:
    """The folder holding the screens' .kv files."""
    return Path(str(resources.files("screens")))
