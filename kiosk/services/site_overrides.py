"""A site's changes to the packaged service catalogue: fees, rules and choice lists (issue #19).

Fees, limits, windows and lists differ by province and change; a site keeps them in one file beside
its ``kiosk.toml`` (``/etc/kiosk/services.toml``, or next to ``--config FILE``), never by editing the
packaged ``config/services.toml``::

    [services.id-card-renewal]
    fee_fen = 2000
    rules = { renewal_window_days = 60 }        # merged key by key into the service's rules

    [services.household-certificate.options]    # a field's whole list of answers, replaced
    purpose = [
      { value = "kinship", zh = "亲属关系证明", en = "Kinship" },
      { value = "registration_cancelled", zh = "注销户口证明", en = "Cancelled registration" },
    ]

Only these three keys exist; an unknown service, field or key is a ConfigError naming the file and
the dotted key, so a technician fixes the file in one pass. A replaced list still goes through the
catalogue's checks (at least two answers to a choice); the request schema still bounds the values.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from kiosk.config.model import read_toml
from kiosk.errors import ConfigError, ConfigProblem

FILE_NAME = "services.toml"
KEYS = ("fee_fen", "rules", "options")


def site_services_file(site_config: str) -> Path | None:
    """The override beside the site's kiosk.toml (``config.source``), when there is one."""
    if not site_config:
        return None
    path = Path(site_config).with_name(FILE_NAME)
    return path if path.is_file() else None


def apply_site_overrides(data: dict[str, Any], site: Path) -> dict[str, Any]:
    """The catalogue's raw data with the site file's changes; ConfigError listing every problem."""
    over = read_toml(site).get("services", {})
    problems: list[ConfigProblem] = []
    label = str(site)
    if not isinstance(over, dict):
        raise ConfigError([ConfigProblem(label, "services", "expected [services.<id>] tables")])
    services = {s.get("id"): s for s in data.get("services", [])}
    for service_id, changes in over.items():
        where = f"services.{service_id}"
        service = services.get(service_id)
        if service is None:
            problems.append(ConfigProblem(label, where, "no such service in the catalogue"))
            continue
        if not isinstance(changes, dict):
            problems.append(ConfigProblem(label, where, "expected a table"))
            continue
        for key, value in changes.items():
            if key not in KEYS:
                problems.append(
                    ConfigProblem(label, f"{where}.{key}", f"unknown key (known: {', '.join(KEYS)})")
                )
            elif key == "fee_fen":
                service["fee_fen"] = value
            elif key == "rules":
                if not isinstance(value, dict):
                    problems.append(ConfigProblem(label, f"{where}.rules", "expected a table"))
                else:
                    service["rules"] = {**service.get("rules", {}), **value}
            else:
                problems.extend(_options(service, value, label, f"{where}.options"))
    if problems:
        raise ConfigError(problems)
    return data


def _options(service: dict[str, Any], lists: Any, label: str, where: str) -> list[ConfigProblem]:
    if not isinstance(lists, dict):
        return [ConfigProblem(label, where, "expected a table of field id = [answers]")]
    fields = {f.get("id"): f for step in service.get("steps", []) for f in step.get("fields", [])}
    problems = []
    for field_id, options in lists.items():
        field = fields.get(field_id)
        if field is None or field.get("type") != "choice":
            problems.append(ConfigProblem(label, f"{where}.{field_id}", "no choice field with this id"))
        elif not isinstance(options, list):
            problems.append(ConfigProblem(label, f"{where}.{field_id}", "expected a list of answers"))
        else:
            field["options"] = options
    return problems
