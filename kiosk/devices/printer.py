"""Drivers for the printer role (see kiosk/devices/__init__.py for the table's shape)."""

from __future__ import annotations

from kiosk.devices import DriverEntry

DRIVERS: dict[str, DriverEntry] = {}
