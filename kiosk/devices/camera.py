"""Drivers for the camera role (see kiosk/devices/__init__.py for the table's shape).

``opencv``: a real camera by index or device path; ``simulated``: images/videos from a folder, or
the demo portrait built from scikit-image's astronaut (once, into the data folder). The photo step's engine
(:class:`~kiosk.photo.session.PhotoSession`) is re-exported here for the composition root.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from drivers.base import Device
from kiosk.devices import DeviceContext, DriverEntry

if TYPE_CHECKING:
    from kiosk.photo.session import Phase, PhotoSession, PhotoState

__all__ = ["DRIVERS", "OpenCvOptions", "Phase", "PhotoSession", "PhotoState", "SimulatedOptions"]


def __getattr__(name: str) -> Any:
    # The photo engine pulls in OpenCV; load it only when the app asks for it, so that
    # validating [devices.camera] (kiosk-tech config check) stays light.
    if name in ("Phase", "PhotoSession", "PhotoState"):
        from kiosk.photo import session

        return getattr(session, name)
    raise AttributeError(name)


DEMO_FACE_CACHE = Path("cache") / "demo-face"  # under the data folder


class OpenCvOptions(BaseModel):
    """``[devices.camera] driver = "opencv"`` options."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    device: int | str = 0  # index (0) or path (/dev/video0, /dev/v4l/by-id/...)
    width: int = Field(640, gt=0)
    height: int = Field(480, gt=0)
    fps: float = Field(30.0, gt=0, le=120)
    reconnect_interval: float = Field(1.0, gt=0)


class SimulatedOptions(BaseModel):
    """``[devices.camera] driver = "simulated"`` options; ``faults`` start active (e.g. ``["gone"]``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    folder: Path | None = None  # images/videos played in a loop; none = the demo portrait
    width: int = Field(640, gt=0)
    height: int = Field(480, gt=0)
    fps: float = Field(15.0, gt=0, le=120)
    faults: list[Literal["gone", "black", "frozen"]] = Field(default_factory=list)


def _open_opencv(options: Any, _context: DeviceContext) -> Device:
    from drivers.camera.opencv import OpenCvCamera

    camera = OpenCvCamera(
        options.device,
        width=options.width,
        height=options.height,
        fps=options.fps,
        reconnect_interval=options.reconnect_interval,
    )
    # Capture runs from opening on, so health is true on the dashboard and reconnects happen even
    # while no resident is at the photo step. Opening runs on the app's device-open thread.
    camera.start_and_wait()
    return camera


def _open_simulated(options: Any, context: DeviceContext) -> Device:
    from drivers.camera.simulator import Fault, SimulatedCamera

    camera = SimulatedCamera(
        options.folder,
        width=options.width,
        height=options.height,
        fps=options.fps,
        cache_dir=context.data_dir / DEMO_FACE_CACHE,  # composed at the first start, read after
    )
    for name in options.faults:
        camera.inject(Fault(name))
    camera.start_and_wait()
    return camera


DRIVERS: dict[str, DriverEntry] = {
    "opencv": DriverEntry(
        name="opencv",
        summary="USB/V4L2 camera through OpenCV (device index or path)",
        simulated=False,
        options=OpenCvOptions,
        open=_open_opencv,
    ),
    "simulated": DriverEntry(
        name="simulated",
        summary="plays images or videos from a folder (default: a demo face); can fake faults",
        simulated=True,
        options=SimulatedOptions,
        open=_open_simulated,
    ),
}
