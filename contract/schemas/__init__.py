"""The wire contract's JSON Schemas (draft-07), shared by the kiosk (checked at submit, so a
malformed request is caught while the resident is still there) and the backend (checked at ingest).

Files are ``envelope.v1.json`` and ``<request_type>.v<version>.json``; a new version of a request
type is a new file and old ones stay, so requests already queued remain valid. Validation uses
``fastjsonschema`` (compiled validators, ~5 µs a payload) because it sits on the submit path.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import fastjsonschema

from contract.ids import is_acceptance_number

SCHEMA_DIR = Path(__file__).resolve().parent
ENVELOPE_VERSION = 1
_NAME_RE = re.compile(r"^[a-z_]+\.[a-z_]+$|^envelope$")


class SchemaViolation(ValueError):
    """A document does not match its schema; ``problems`` lists "path: message" lines."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("; ".join(problems))


def request_types() -> dict[str, list[int]]:
    """Every request type with a schema, and its versions."""
    found: dict[str, list[int]] = {}
    for path in sorted(SCHEMA_DIR.glob("*.v*.json")):
        name, _, version = path.name[: -len(".json")].rpartition(".v")
        if name != "envelope":
            found.setdefault(name, []).append(int(version))
    return found


def load_schema(name: str, version: int) -> dict[str, Any]:
    """The schema document itself (the backend serves them in its OpenAPI document)."""
    path = SCHEMA_DIR / f"{name}.v{version}.json"
    if not _NAME_RE.match(name) or not path.is_file():
        raise SchemaViolation([f"request_type: no schema for {name} v{version}"])
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@cache
def _validator(name: str, version: int) -> Callable[[Any], Any]:
    validate: Callable[[Any], Any] = fastjsonschema.compile(load_schema(name, version))
    return validate


def _check(name: str, version: int, doc: Any) -> None:
    try:
        _validator(name, version)(doc)
    except fastjsonschema.JsonSchemaValueException as exc:
        raise SchemaViolation([f"{exc.name}: {exc.message}"]) from exc


def validate_payload(request_type: str, version: int, payload: Any) -> None:
    """Raise SchemaViolation unless ``payload`` matches the type's schema."""
    if not isinstance(request_type, str) or not isinstance(version, int):
        raise SchemaViolation(["request_type: must be a name and an integer version"])
    _check(request_type, version, payload)


def validate_envelope(envelope: Any) -> None:
    """Check the envelope and then its payload against the named request type."""
    _check("envelope", ENVELOPE_VERSION, envelope)
    number = envelope.get("acceptance_number")
    if number is not None and not is_acceptance_number(number):
        raise SchemaViolation(["data.acceptance_number: check digit does not match"])
    validate_payload(envelope["request_type"], envelope["request_version"], envelope["payload"])
