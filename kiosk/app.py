"""The composition root: configuration -> devices, catalogue, messages, workers -> the Kivy app.

Everything the kiosk is made of is built here and nowhere else, from the explicit device table in
``kiosk/devices``. :func:`compose` builds the :class:`Runtime` without touching Kivy (tests and the
technician CLI use it); :func:`run_app` adds the window. A device that fails to open does not stop
the kiosk: it is recorded as down, the services needing it are disabled with a reason, and
``kiosk --smoke`` reports it.
"""

from __future__ import annotations

import logging
import logging.handlers
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from drivers.base import Device, DeviceHealth, Health
from drivers.errors import DeviceError
from kiosk.catalogue import Catalogue
from kiosk.config import KioskConfig
from kiosk.devices import NOT_INSTALLED, open_device, role_drivers
from kiosk.errors import KioskError
from kiosk.fonts import FontChoice, find_cjk_font
from kiosk.messages import Messages
from kiosk.privacy import MASKING_FILTER

log = logging.getLogger(__name__)


@dataclass
class Runtime:
    """Everything the app needs, built once at start and closed once at exit."""

    config: KioskConfig
    catalogue: Catalogue
    messages: Messages
    font: FontChoice
    clock: Callable[[], float] = time.monotonic
    devices: dict[str, Device] = field(default_factory=dict)
    failures: dict[str, DeviceHealth] = field(default_factory=dict)
    services: dict[str, Any] = field(default_factory=dict)  # outbox, delivery, backend client...
    closers: list[Callable[[], None]] = field(default_factory=list)

    @property
    def simulated(self) -> bool:
        return any(getattr(dev, "simulated", False) for dev in self.devices.values()) or any(
            self.config.devices[role].driver == "simulated" for role in self.failures
        )

    def device_health(self, role: str) -> DeviceHealth | None:
        """Current health of the device in ``role``; None when no such device is configured."""
        if role in self.failures:
            return self.failures[role]
        device = self.devices.get(role)
        if device is None:
            return None
        try:
            return device.health()
        except DeviceError as exc:
            return DeviceHealth(Health.DOWN, "error", str(exc))

    def close(self) -> None:
        for closer in reversed(self.closers):
            try:
                closer()
            except Exception:
                log.exception("error while shutting down")
        for role, device in self.devices.items():
            try:
                device.close()
            except Exception:
                log.exception("error closing %s", role)
        self.closers.clear()
        self.devices.clear()


def simulate_everything(config: KioskConfig) -> KioskConfig:
    """The same configuration with every device role on its simulated driver (``--simulate``)."""
    from kiosk.config import DeviceSection

    devices = {
        role: DeviceSection(driver="simulated", required=section.required)
        for role, section in config.devices.items()
    }
    return config.model_copy(update={"devices": devices})


def setup_logging(config: KioskConfig, *, console: bool = True) -> Path:
    """Log to a rotating file for technicians (and the console); every record passes the
    masking filter, so no full ID number or registered name reaches a log."""
    log_dir = config.log_dir
    log_dir.mkdir(parents=True, exist_ok=True)
    path = log_dir / "kiosk.log"
    handlers: list[logging.Handler] = [
        logging.handlers.RotatingFileHandler(path, maxBytes=5_000_000, backupCount=5, encoding="utf-8")
    ]
    if console:
        handlers.append(logging.StreamHandler())
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s")
    root = logging.getLogger()
    for handler in handlers:
        handler.setFormatter(fmt)
        handler.addFilter(MASKING_FILTER)
        root.addHandler(handler)
    root.setLevel(logging.INFO)
    return path


def open_devices(runtime: Runtime) -> None:
    """Open every configured device; failures are recorded, never raised."""
    for role, section in runtime.config.devices.items():
        if section.driver == NOT_INSTALLED:
            continue
        try:
            runtime.devices[role] = open_device(role, runtime.config)
            log.info("device %s: %s opened", role, section.driver)
        except (DeviceError, KioskError, OSError) as exc:
            runtime.failures[role] = DeviceHealth(Health.DOWN, "open_failed", str(exc))
            log.error("device %s (%s) failed to open: %s", role, section.driver, exc)
        except ImportError as exc:
            missing = exc.name or str(exc)
            runtime.failures[role] = DeviceHealth(
                Health.DOWN, "missing_dependency", f"driver {section.driver!r} needs the package {missing}"
            )
            log.error("device %s: driver %s needs the package %s", role, section.driver, missing)


def compose(
    config: KioskConfig, *, clock: Callable[[], float] = time.monotonic, devices: bool = True
) -> Runtime:
    """Build the runtime from a validated configuration."""
    data_dir = config.data_dir
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise KioskError(f"cannot create data folder {data_dir}: {exc}") from exc
    font = find_cjk_font(config.display.font, data_dir / "cache" / "fonts", config_file=config.source)
    runtime = Runtime(
        config=config,
        catalogue=Catalogue.load(),
        messages=Messages.load(),
        font=font,
        clock=clock,
    )
    if devices:
        open_devices(runtime)
    return runtime


def known_driver_names(role: str) -> list[str]:
    return sorted(role_drivers(role))


def run_app(runtime: Runtime, **app_options: Any) -> int:
    """Open the window and run until the app stops. Imports Kivy (only here)."""
    os.environ.setdefault("KIVY_NO_ARGS", "1")
    from screens.app import run_kiosk_app

    return run_kiosk_app(runtime, **app_options)
