"""Drivers for the liveness role: an infrared / binocular liveness camera (see
kiosk/devices/__init__.py for the table's shape). A site's vendor adapter is added here as one
more entry (name -> options + open function around the vendor SDK); ``simulated`` answers live
unless a fault is set. A terminal without such a camera configures ``driver = "none"`` or leaves
``[devices.liveness]`` out; the colour camera's blink/turn challenge runs either way."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import Device
from kiosk.devices import DeviceContext, DriverEntry


class SimulatedOptions(BaseModel):
    """``[devices.liveness] driver = "simulated"`` options; ``faults`` start active."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    score: float = Field(0.97, ge=0.0, le=1.0)
    faults: list[Literal["unplugged", "spoof", "no_face", "timeout"]] = Field(default_factory=list)


def _open_simulated(options: Any, _context: DeviceContext) -> Device:
    from drivers.liveness.simulator import Fault, SimulatedLivenessCamera

    camera = SimulatedLivenessCamera(score=options.score)
    for name in options.faults:
        camera.inject(Fault(name))
    return camera


DRIVERS: dict[str, DriverEntry] = {
    "simulated": DriverEntry(
        name="simulated",
        summary="answers live without hardware; can fake unplugged, spoof, no face, timeout",
        simulated=True,
        options=SimulatedOptions,
        open=_open_simulated,
    ),
}
