"""A site's changes to the service catalogue: fees, windows, limits and lists differ by province
and change, so a site overrides them without copying ``config/services.toml``.

The override file is ``services.toml`` beside the site's ``kiosk.toml`` (or ``$KIOSK_SERVICES``),
keyed by service id, then by step id and field id; tables merge, anything else replaces::

    ["plate-reissue"]
    fee_fen = 12000

    ["plate-reissue".steps.owner.rules]
    temporary_plate_fen = 0                       # this province issues temporary plates free

    ["plate-reissue".steps.fitting.fields.fitting_point]
    options = [{ value = "north", zh = "北区安装点", en = "North fitting point" }]

Only what a service is already made of can be changed (an unknown service, step or field id is
refused, naming it), and the merged catalogue is validated like the packaged one.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from kiosk.config.model import deep_merge, read_toml
from kiosk.errors import CatalogueError

ENV_SERVICES = "KIOSK_SERVICES"
SITE_FILE = "services.toml"


def find_overrides(site_config: str | None, environ: Mapping[str, str] | None = None) -> Path | None:
    """The override file: ``$KIOSK_SERVICES``, else ``services.toml`` beside the site config."""
    env = (os.environ if environ is None else environ).get(ENV_SERVICES)
    if env:
        return Path(env)
    if site_config:
        beside = Path(site_config).parent / SITE_FILE
        if beside.exists():
            return beside
    return None


def _by_id(items: list[dict[str, Any]], changes: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    ids = [item.get("id") for item in items]
    unknown = sorted(set(changes) - set(ids))
    if unknown:
        raise CatalogueError(f"{where}: no {', '.join(map(repr, unknown))} to override (known: {ids})")
    return [_merge_one(item, changes[item["id"]], f"{where}.{item['id']}") if item["id"] in changes else item
            for item in items]  # fmt: skip


def _merge_one(item: dict[str, Any], change: Any, where: str) -> dict[str, Any]:
    if not isinstance(change, Mapping):
        raise CatalogueError(f"{where}: an override must be a table")
    change = dict(change)
    merged = dict(item)
    for nested in ("steps", "fields"):
        if nested in change:
            merged[nested] = _by_id(list(item.get(nested, [])), change.pop(nested), f"{where}.{nested}")
    return deep_merge(merged, change)


def apply_overrides(data: dict[str, Any], path: Path) -> dict[str, Any]:
    """The catalogue's raw data with the site's overrides merged in (raises CatalogueError)."""
    overrides = read_toml(path)
    services = list(data.get("services", []))
    return {**data, "services": _by_id(services, overrides, str(path))}
