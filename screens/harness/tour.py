"""``kiosk --smoke`` and ``kiosk tour``: the real app, driven by the pilot.

The tour renders every screen and state to numbered PNG files (for the README, for reviewers, and
for technicians checking a new screen size). The smoke check draws the home screen once and prints
one line per device, for technicians after installation and for CI.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from drivers.base import DeviceHealth, Health
from kiosk.devices import NOT_INSTALLED
from kiosk.runtime import Runtime
from kiosk.services.flow import Flow
from kiosk.visit.idle import FakeClock
from kiosk.visit.session import Session


def device_lines(runtime: Runtime) -> tuple[list[str], bool]:
    """One line per configured device, and whether every required one is usable."""
    lines, ok = [], True
    for role, section in runtime.config.devices.items():
        if section.driver == NOT_INSTALLED:
            lines.append(f"{role:<11} {'none':<11} not installed")
            continue
        health = runtime.device_health(role) or DeviceHealth(Health.UNKNOWN, "not_opened")
        usable = health.usable
        if section.required and not usable:
            ok = False
        need = "required" if section.required else "optional"
        state = health.state.value
        line = f"{role:<11} {section.driver:<11} {state:<8} {need:<8} {health.code} {health.detail}"
        lines.append(line.rstrip())
    return lines, ok


def run_smoke(runtime: Runtime) -> int:
    from screens.harness.pilot import Pilot

    pilot = Pilot(runtime)
    try:
        pilot.app.begin()
        pilot.wait_until(lambda: pilot.screen == "home", what="the home screen")
        pilot.wait_until(lambda: not runtime.pending_roles(), timeout_s=30, what="the devices to open")
        pilot.frames(2)
        lines, ok = device_lines(runtime)
        print(f"home screen drawn ({'simulated devices' if runtime.simulated else 'hardware'})")
        for line in lines:
            print(line)
        print("smoke: ok" if ok else "smoke: FAILED (a required device is not usable)")
        return 0 if ok else 1
    finally:
        pilot.close()


def _open_flow(app: object, service_id: str) -> Flow:
    """Start a service even if it is not available (the tour pictures steps, it files nothing)."""
    app.end_session("tour")  # type: ignore[attr-defined]
    app.session = Session(app.lang, clock=app.runtime.clock)  # type: ignore[attr-defined]
    app.flow = Flow(app.catalogue[service_id], app.session)  # type: ignore[attr-defined]
    app.show_route()  # type: ignore[attr-defined]
    return app.flow  # type: ignore[attr-defined]


def _picture_status_lookup(app: Any, pilot: Any, shot: Callable[[str], None]) -> None:
    """The request status look-up: scanning, typing the number, a result (made up: no backend)."""
    from kiosk.steps.status import StatusView
    from screens.harness.tour_steps import TOUR_NUMBER

    _open_flow(app, "request-status")
    lookup = app.screen("step").widget
    pilot.wait_until(lambda: lookup.mode in ("scan", "type"), what="the status look-up")
    if lookup.mode == "scan" and lookup.camera_ok:  # "scan" is also the mode before it opened
        pilot.wait_until(lambda: lookup.texture is not None, timeout_s=10, what="the scan preview")
        shot("step-status-scan")
        lookup.show_keypad()
    for key in "6337001005":  # the acceptance number, typed as far as its last group
        pilot.tap(key, exact=True)
    shot("step-status-entry")
    lookup.show(
        StatusView(
            "rejected", "0192f3a4-9b2c-7d1e-8f00-0a1b2c3d4e5f", "household.household_certificate",
            "2026-11-28 09:30", "2026-11-28 15:10", "照片不符合要求",
            number=TOUR_NUMBER,
        )
    )  # fmt: skip
    shot("step-status-result")


def _picture_assist(app: Any, pilot: Any, shot: Callable[[str], None]) -> None:
    """The sound panel and the 呼叫帮助 notice on the home screen. The notice is opened as the
    help button shows it, without raising an alert: the tour files nothing."""
    from screens.assist.assist import HelpNotice

    app.assist.open_sound()
    shot("sound-panel")
    app.assist.reset()  # closes the panel (and puts the volume back to the site's default)
    notice = HelpNotice()
    notice.open(animation=False)
    try:
        shot("help-notice")
    finally:
        notice.dismiss(animation=False)
        pilot.frames(2)


def run_tour(runtime: Runtime, out: Path) -> int:
    from screens.harness.pilot import Pilot

    runtime.clock = FakeClock()
    pilot = Pilot(runtime)
    shots: list[Path] = []
    number = 0

    def shot(name: str) -> None:
        nonlocal number
        number += 1
        pilot.frames(3)
        shots.append(pilot.screenshot(out / f"{number:02d}-{name}.png"))

    try:
        picture_tour(pilot, shot)
    finally:
        pilot.close()
    for path in shots:
        print(path)
    print(f"tour: {len(shots)} screens written to {out}", file=sys.stderr)
    return 0


def picture_tour(pilot: Any, shot: Callable[[str], None], *, modes: bool = True) -> None:
    """Bring the app through every screen, calling ``shot(name)`` at each; the app's language,
    text size and contrast are kept as found (``modes``: also picture the switches at the end)."""
    app = pilot.app
    runtime = app.runtime
    clock = runtime.clock
    pilot.wait_until(lambda: not runtime.pending_roles(), timeout_s=30, what="the devices to open")

    def step(action: Callable[[], object], name: str) -> None:
        action()
        shot(name)

    shot("attract")
    step(app.begin, "home")
    for category in ("household", "vehicle", "photo"):
        app.choose_category(category)
        shot(f"services-{category}")
    flow = _open_flow(app, "household-certificate")
    shot("step-consent")
    flow.complete()  # consent
    while flow.step.id != "details":  # the card step is pictured below once its screen exists
        flow.complete({"for_whom": "self"} if flow.step.id == "for_whom" else None)
    app.show_route()
    shot("step-form-choice")
    pilot.tap(app.catalogue["household-certificate"].field("purpose").options[0].label(app.lang))
    pilot.tap(app.tr("app.next"))
    for key in "12":
        pilot.tap(key, exact=True)
    shot("step-form-number")
    pilot.tap(app.tr("form.clear"))
    pilot.tap("2", exact=True)
    pilot.tap(app.tr("app.next"))
    for key in "1380013":
        pilot.tap(key, exact=True)
    pilot.tap(app.tr("app.next"))
    shot("step-form-phone-error")
    for key in "8000":
        pilot.tap(key, exact=True)
    pilot.tap(app.tr("app.next"))
    shot("review")
    while flow.step.kind != "done":
        flow.complete()
    app.show_route()
    shot("done")
    flow = _open_flow(app, "traffic-fine")
    flow.complete({"lookup_by": "plate"})
    app.show_route()
    for key in ("京", "A", "D", "1", "2"):
        pilot.tap(key, exact=True)
    shot("step-plate")
    if "camera" in runtime.devices:
        flow = _open_flow(app, "id-photo")
        flow.complete()  # consent
        flow.complete({"spec": "resident-id"})
        app.show_route()
        photo = app.screen("step").widget
        pilot.wait_until(lambda: photo.texture is not None, timeout_s=10, what="the live preview")
        shot("step-photo-live")
        pilot.wait_until(lambda: photo.can_accept, timeout_s=30, what="a capture")
        shot("step-photo-review")
    _picture_status_lookup(app, pilot, shot)
    from screens.harness.tour_steps import StepTour

    StepTour(app, pilot, shot).run()  # every step of every service, and the notable states
    if "card_reader" in runtime.devices:
        simulator = getattr(runtime.devices["card_reader"], "simulator", None)
        if simulator is not None:
            simulator.remove()
        flow = _open_flow(app, "household-certificate")
        flow.complete()
        app.show_route()
        pilot.frames(10)
        shot("step-read-card")
    flow = _open_flow(app, "household-certificate")
    session = runtime.config.session  # 长辈模式 scales every idle limit
    clock.advance((session.idle_timeout_s - session.idle_warning_s) * app.visit.time_scale + 3)
    pilot.wait_until(lambda: app._idle_view is not None, what="the idle warning")
    shot("idle-warning")
    app.keep_going()
    app.fail(RuntimeError("tour: a picture of the error screen"))
    shot("error")
    if modes:
        app.cancel()
        app.toggle_language()
        step(app.begin, "home-english")
        app.toggle_large_text()
        shot("home-english-large-text")
        app.toggle_language()
        step(lambda: app.choose_category("household"), "services-large-text")
        app.toggle_large_text()
        app.toggle_contrast()
        step(app.begin, "home-high-contrast")
        app.toggle_large_text()
        step(lambda: app.choose_category("vehicle"), "services-high-contrast-large-text")
        app.toggle_large_text()
        app.toggle_contrast()
    else:
        app.cancel()
        app.begin()
    _picture_assist(app, pilot, shot)
    runtime.failures["camera"] = DeviceHealth(Health.DOWN, "tour", "camera unplugged (tour)")
    step(lambda: app.choose_category("photo"), "services-device-down")
    del runtime.failures["camera"]
    app.cancel()
    app.enter_maintenance()
    for key in "1234":
        app.screen("maintenance_pin").press(key)
    shot("maintenance-pin")
    app.show("maintenance")
    shot("maintenance-devices")
    app.show_attract()
    unexpected = [e for e in pilot.errors if "tour: a picture" not in str(e)]
    if unexpected:
        raise unexpected[0]
