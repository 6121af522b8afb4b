"""UI fixtures: one real kiosk window (Xvfb) for the whole UI session, driven by the pilot.

Kivy allows one window per process, so the app is started once; each test starts from the attract
screen with a fresh state and must leave no unexpected exception behind. Time is a FakeClock: idle
timeouts are tested by moving it, never by sleeping.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# requests is otherwise first imported on the queue's worker thread; urllib3 may warn there about
# optional SOCKS support, and pytest's warnings-as-errors filter turns that into a failed setup
import requests  # noqa: F401

from kiosk.config.model import load_config
from kiosk.services.catalogue import Catalogue
from kiosk.visit.idle import FakeClock
from tests.conftest import skip_or_fail

HERE = Path(__file__).parent

SITE = """
[kiosk]
data_dir = "data"
[devices.card_reader]
driver = "simulated"
[devices.camera]
driver = "simulated"
[devices.printer]
driver = "simulated"
[devices.a4_printer]
driver = "simulated"
[devices.scanner]
driver = "simulated"
[heartbeat]
# the heartbeat drains the step counts it sends: a test slower than one interval (a loaded CI box)
# would count a visit's "started" gone; heartbeats have their own tests
interval_s = 0
"""


@pytest.fixture(scope="session")
def pilot(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    if not os.environ.get("DISPLAY"):
        skip_or_fail("no DISPLAY: UI tests need a display, run them under xvfb-run (scripts/check does)")
    folder = tmp_path_factory.mktemp("ui-kiosk")
    site = folder / "site.toml"
    site.write_text(SITE, encoding="utf-8")
    config = load_config(site, environ={})
    from kiosk.main import compose
    from screens.kivy_env import prepare

    prepare(size=config.display.size, fullscreen=False, show_cursor=True, kivy_home=config.data_dir / "kivy")
    clock = FakeClock()
    runtime = compose(config, clock=clock)
    extra = Catalogue.load(HERE / "form_only_services.toml")
    runtime.catalogue = Catalogue(runtime.catalogue.services + extra.services)
    from screens.harness.pilot import Pilot

    driver = Pilot(runtime)
    driver.clock = clock
    yield driver
    driver.close()


@pytest.fixture
def kiosk(pilot: Any) -> Iterator[Any]:
    """The pilot, reset to the attract screen in Chinese with normal text."""
    app = pilot.app
    app.cancel()
    app.lang = "zh"
    app.large_text = False
    pilot.errors.clear()
    pilot.frames(2)
    assert pilot.screen == "attract"
    yield pilot
    unexpected = [e for e in pilot.errors if not getattr(e, "expected_by_test", False)]
    assert unexpected == [], f"unexpected exceptions in the UI: {unexpected!r}"


MAINTENANCE_PIN = "246810"


@pytest.fixture
def maint(kiosk: Any) -> Iterator[Any]:
    """The kiosk on the maintenance screen, entered as a technician does (five taps in the top-left
    corner of the attract screen, then the PIN), devices opened; left again afterwards."""
    from kivy.core.window import Window

    from kiosk.maintenance.gate import hash_pin

    runtime = kiosk.app.runtime
    kiosk.wait_until(lambda: not runtime.pending_roles(), timeout_s=30, what="the devices to open")
    gate = runtime.gate
    gate.pin_hash = hash_pin(MAINTENANCE_PIN)
    try:
        for _ in range(5):
            kiosk.tap_at(20, Window.height - 20)
        assert kiosk.screen == "maintenance_pin"
        for digit in MAINTENANCE_PIN:
            kiosk.tap(digit, exact=True)
        kiosk.tap("确定")
        kiosk.wait_until(lambda: kiosk.screen == "maintenance", what="the maintenance screen")
        yield kiosk
        if kiosk.screen == "maintenance":
            kiosk.tap("退出维护")
        assert kiosk.screen == "attract"
    finally:
        gate.pin_hash = ""
        gate._state = {"failures": 0.0, "locked_until": 0.0}
