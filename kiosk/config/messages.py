"""Every string a resident sees, in Chinese and English, from ``config/messages/*.toml``.

Each file holds tables of ``key = { zh = "...", en = "..." }`` (dotted keys group by area:
``home.title``, ``photo.too_dark``). Screens never hard-code UI text; they call
``Messages.get(key, lang, **values)``. A missing key shows the key itself (and is logged once),
so a forgotten translation is visible in the screenshot tour rather than crashing a session.
"""

from __future__ import annotations

import logging
import tomllib
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from kiosk.errors import ConfigError, ConfigProblem
from kiosk.paths import config_dir

log = logging.getLogger(__name__)

LANGUAGES = ("zh", "en")


def _flatten(prefix: str, node: Mapping[str, Any], out: dict[str, dict[str, str]], file: str) -> None:
    if set(node) and set(node) <= set(LANGUAGES) and all(isinstance(v, str) for v in node.values()):
        out[prefix] = dict(node)
        return
    for key, value in node.items():
        name = f"{prefix}.{key}" if prefix else key
        if not isinstance(value, Mapping):
            raise ConfigError([ConfigProblem(file, name, "expected a table with zh and en texts")])
        _flatten(name, value, out, file)


class Messages:
    """The merged message table."""

    def __init__(self, table: Mapping[str, Mapping[str, str]]) -> None:
        self._table = {k: dict(v) for k, v in table.items()}
        self._reported: set[str] = set()

    @classmethod
    def load(cls, folders: Iterable[Path] | None = None) -> Messages:
        table: dict[str, dict[str, str]] = {}
        for folder in folders or [config_dir() / "messages"]:
            for path in sorted(folder.glob("*.toml")):
                try:
                    data = tomllib.loads(path.read_text(encoding="utf-8"))
                except tomllib.TOMLDecodeError as exc:
                    raise ConfigError([ConfigProblem(str(path), "", f"TOML syntax error: {exc}")]) from exc
                _flatten("", data, table, str(path))
        return cls(table)

    def __contains__(self, key: str) -> bool:
        return key in self._table

    def keys(self) -> list[str]:
        return sorted(self._table)

    def get(self, key: str, lang: str = "zh", **values: Any) -> str:
        entry = self._table.get(key)
        if entry is None:
            if key not in self._reported:
                self._reported.add(key)
                log.warning("missing message %r", key)
            return key
        text = entry.get(lang) or entry.get("zh") or key
        if values:
            try:
                text = text.format(**values)
            except (KeyError, IndexError, ValueError):
                log.warning("message %r cannot be formatted with %s", key, sorted(values))
        return text

    def missing(self, lang: str) -> list[str]:
        """Keys with no text in ``lang`` (a test asserts this is empty for zh and en)."""
        return [k for k, v in self._table.items() if not v.get(lang)]
