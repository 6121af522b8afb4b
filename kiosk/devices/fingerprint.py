"""Drivers for the fingerprint role: a thumb-print collector (issue #19; see kiosk/devices/__init__.py
for the table's shape). ``sdk`` drives a site's licensed collector library (drivers/fingerprint/sdk.py,
loaded like the WLT decoder); ``simulated`` captures synthetic prints unless a fault is set. A
terminal without a collector configures ``driver = "none"`` or leaves ``[devices.fingerprint]``
out: the ID card request then says the thumbs are taken at pick-up."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import Device
from kiosk.devices import DeviceContext, DriverEntry


class SdkOptions(BaseModel):
    """``[devices.fingerprint] driver = "sdk"``: the vendor library and its entry points."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    library: str = Field(min_length=1)
    open_fn: str = "FP_Open"
    capture_fn: str = "FP_Capture"
    feature_fn: str = "FP_Feature"
    close_fn: str = "FP_Close"
    min_quality: int = Field(50, ge=0, le=100)


class SimulatedOptions(BaseModel):
    """``[devices.fingerprint] driver = "simulated"`` options; ``faults`` start active."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    quality: int = Field(86, ge=0, le=100)
    faults: list[Literal["unplugged", "no_finger", "poor_quality", "poor_once"]] = Field(default_factory=list)


def _open_sdk(options: Any, _context: DeviceContext) -> Device:
    from drivers.fingerprint.sdk import SdkFingerprintCollector

    return SdkFingerprintCollector(
        options.library,
        open_fn=options.open_fn,
        capture_fn=options.capture_fn,
        feature_fn=options.feature_fn,
        close_fn=options.close_fn,
        min_quality=options.min_quality,
    )


def _open_simulated(options: Any, _context: DeviceContext) -> Device:
    from drivers.fingerprint.simulator import SimulatedFingerprintCollector

    collector = SimulatedFingerprintCollector(quality=options.quality)
    for name in options.faults:
        collector.inject(name)
    return collector


DRIVERS: dict[str, DriverEntry] = {
    "sdk": DriverEntry(
        name="sdk",
        summary="a site's licensed fingerprint collector library (ctypes)",
        simulated=False,
        options=SdkOptions,
        open=_open_sdk,
    ),
    "simulated": DriverEntry(
        name="simulated",
        summary="synthetic thumb prints; can fake unplugged, no finger, poor quality",
        simulated=True,
        options=SimulatedOptions,
        open=_open_simulated,
    ),
}
