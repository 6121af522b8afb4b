"""The device table: which driver classes exist for each device role, and how to open them.

This is the one explicit name -> class table of the composition root (no registration by import
side effects). Each role module (``card_reader``, ``camera``, ``printer``, ``a4_printer``,
``liveness``, ``fingerprint``) exports ``DRIVERS: dict[str, DriverEntry]``; the modules are
imported only when a role is used so that OpenCV and friends load lazily. An unknown driver name
or a missing optional dependency fails at start-up with a message naming it.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from drivers.base import Device
from kiosk.errors import ConfigProblem

if TYPE_CHECKING:
    from kiosk.config.model import KioskConfig

ROLE_MODULES: dict[str, str] = {
    "card_reader": "kiosk.devices.card_reader",
    "camera": "kiosk.devices.camera",
    "printer": "kiosk.printing.receipt_printer",
    "a4_printer": "kiosk.printing.a4_printer",
    "liveness": "kiosk.devices.liveness_camera",  # infrared / binocular liveness camera (optional)
    "scanner": "kiosk.devices.scanner",  # QR/barcode scanner: payment codes, receipt QR (optional)
    "fingerprint": "kiosk.devices.fingerprint",  # thumb-print collector (optional, issue #19)
}


NOT_INSTALLED = "none"  # driver name for a role this terminal has no device for


@dataclass(frozen=True)
class DeviceContext:
    """What a driver factory may use besides its own options."""

    role: str
    data_dir: Path
    config: KioskConfig | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class DriverEntry:
    """One driver for one role: its options schema and the factory that opens it."""

    name: str
    summary: str
    simulated: bool
    options: type[BaseModel]
    open: Callable[[Any, DeviceContext], Device]


def role_drivers(role: str) -> dict[str, DriverEntry]:
    """The drivers known for ``role``; an unknown role is an empty table."""
    module_name = ROLE_MODULES.get(role)
    if module_name is None:
        return {}
    module = importlib.import_module(module_name)
    return dict(module.DRIVERS)


def validate_device_sections(config: KioskConfig, label: str) -> list[ConfigProblem]:
    """Check every ``[devices.ROLE]`` table: known role, known driver, valid options."""
    problems: list[ConfigProblem] = []
    for role, section in config.devices.items():
        if role not in ROLE_MODULES:
            known = ", ".join(ROLE_MODULES)
            problems.append(ConfigProblem(label, f"devices.{role}", f"unknown device role (known: {known})"))
            continue
        if section.driver == NOT_INSTALLED:
            continue
        drivers = role_drivers(role)
        entry = drivers.get(section.driver)
        if entry is None:
            known = ", ".join([*sorted(drivers), NOT_INSTALLED])
            problems.append(
                ConfigProblem(
                    label, f"devices.{role}.driver", f"unknown driver {section.driver!r} (known: {known})"
                )
            )
            continue
        try:
            entry.options.model_validate(section.options)
        except ValidationError as exc:
            for err in exc.errors():
                key = ".".join(str(p) for p in err["loc"])
                message = "unknown option" if err["type"] == "extra_forbidden" else err["msg"]
                where = f"devices.{role}.{key}" if key else f"devices.{role}"  # a whole-model rule: no key
                problems.append(ConfigProblem(label, where, message))
    return problems


def open_device(role: str, config: KioskConfig, **extras: Any) -> Device:
    """Open the device configured for ``role`` (config already validated)."""
    section = config.devices[role]
    entry = role_drivers(role)[section.driver]
    options = entry.options.model_validate(section.options)
    context = DeviceContext(role=role, data_dir=config.data_dir, config=config, extras=dict(extras))
    return entry.open(options, context)
