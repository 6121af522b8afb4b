"""The liveness-camera seam (drivers/liveness/): the simulator's verdicts and faults, and the role in
the device table."""

from __future__ import annotations

import threading
import time

import pytest

from drivers.base import Health
from drivers.errors import DeviceDisconnected, DeviceTimeout
from drivers.liveness.base import LivenessVerdict
from drivers.liveness.simulator import Fault, SimulatedLivenessCamera
from kiosk.devices import DeviceContext, role_drivers


def test_live_by_default_then_each_fault() -> None:
    camera = SimulatedLivenessCamera()
    result = camera.check(1.0)
    assert result.live and result.verdict is LivenessVerdict.LIVE and result.score == pytest.approx(0.97)
    assert camera.health().state is Health.OK

    camera.inject(Fault.SPOOF)
    assert camera.check(1.0).verdict is LivenessVerdict.SPOOF and not camera.check(1.0).live
    camera.clear(Fault.SPOOF)
    camera.inject(Fault.NO_FACE)
    assert camera.check(1.0).verdict is LivenessVerdict.NO_FACE
    camera.clear()

    camera.inject(Fault.UNPLUGGED)
    with pytest.raises(DeviceDisconnected, match="liveness"):
        camera.check(1.0)
    assert camera.health().state is Health.DOWN and camera.health().code == "unplugged"
    camera.clear()
    assert camera.check(1.0).live
    assert camera.checks == 6


def test_timeout_waits_its_timeout_and_close_ends_it() -> None:
    camera = SimulatedLivenessCamera()
    camera.inject(Fault.TIMEOUT)
    start = time.monotonic()
    with pytest.raises(DeviceTimeout):
        camera.check(0.2)
    assert time.monotonic() - start >= 0.2
    threading.Timer(0.1, camera.close).start()
    start = time.monotonic()
    with pytest.raises(DeviceTimeout):
        camera.check(30.0)
    assert time.monotonic() - start < 5.0
    assert camera.health().state is Health.DOWN


def test_the_liveness_role_opens_the_simulator_with_its_faults(tmp_path) -> None:  # type: ignore[no-untyped-def]
    entry = role_drivers("liveness")["simulated"]
    assert entry.simulated
    options = entry.options.model_validate({"faults": ["spoof"], "score": 0.5})
    camera = entry.open(options, DeviceContext(role="liveness", data_dir=tmp_path))
    assert isinstance(camera, SimulatedLivenessCamera)
    assert camera.check(1.0).verdict is LivenessVerdict.SPOOF
    with pytest.raises(ValueError):
        entry.options.model_validate({"faults": ["melted"]})
