"""``kiosk selftest --service ID``: walk a whole service through the real app and devices.

For technicians commissioning a terminal (and for CI): the pilot plays a resident with synthetic
inputs, step by step, through the configured devices (simulated or real), then checks that the
request reached the backend and the documents printed. Every step is reported with its time; the
exit code is 0 only if all passed.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

from kiosk.runtime import Runtime
from screens.harness.selftest_vehicle import VEHICLE_PLAYERS

# synthetic: the simulated resident card's holder, whom the demo backend's register knows with the
# demo face (kiosk/queue/demo_register.py), so the face check of a typed number passes
SYNTHETIC_ID = "99010119800315031X"
SYNTHETIC_PHONE = "13800138000"
SYNTHETIC_PLATE = "京A10000"  # the simulated backend seeds a known vehicle with two violations for it
# choices where the first option would end the visit early with the simulated data
# traffic-fine by card: the whole processing path (licence, confirming camera records, paying)
PREFERRED_CHOICES = {"lookup_by": "card", "delivery": "mail"}  # mail: the address step is walked too
SYNTHETIC_HOUSE = ("5", "号楼", "3", "0", "1", "室")  # typed on the address step's keypad


@dataclass
class StepReport:
    step: str
    kind: str
    ok: bool
    seconds: float
    detail: str = ""


class SelfTestFailure(Exception):
    """A step did not behave as a resident would need it to."""


def _form(pilot: Any, step: Any) -> None:
    widget = pilot.app.screen("step").widget
    for field in step.fields:
        pilot.wait_until(lambda f=field: widget.field.id == f.id, what=f"the question {field.id}")
        if field.type == "choice":
            wanted = PREFERRED_CHOICES.get(field.id, field.options[0].value)
            option = next(o for o in field.options if o.value == wanted)
            pilot.tap(option.label(pilot.app.lang), exact=True)
            pilot.tap(pilot.app.tr("app.next"))  # a choice is confirmed with 下一步
            continue
        if field.type == "date":
            pilot.tap(pilot.app.tr("app.next"))
            continue
        digits = {"phone": SYNTHETIC_PHONE, "id_number": SYNTHETIC_ID}.get(field.type, str(field.min or 1))
        for key in digits:
            pilot.tap(key, exact=True)
        pilot.tap(pilot.app.tr("app.next"))


def _plate(pilot: Any, _step: Any) -> None:
    for key in SYNTHETIC_PLATE:
        pilot.tap(key, exact=True)
    pilot.tap(pilot.app.tr("app.next"))


def _address(pilot: Any, _step: Any) -> None:
    """Pick the first region on each list (the lists, not the card, so they are checked too)."""
    widget = pilot.app.screen("step").widget
    if widget.mode == "choose":
        pilot.tap(pilot.app.tr("address.pick_lists"))
    for _level in range(5):  # province, city, county, street, village (as many as are listed)
        if widget.mode == "detail":
            break
        pilot.tap(widget.tile_text(widget.choices()[0]), exact=True)
    pilot.wait_until(lambda: widget.mode == "detail", what="the house-number keypad")
    for key in SYNTHETIC_HOUSE:
        pilot.tap(key, exact=True)
    pilot.tap(pilot.app.tr("app.next"))


def _photo(pilot: Any, _step: Any) -> None:
    widget = pilot.app.screen("step").widget
    pilot.wait_until(lambda: widget.can_accept, timeout_s=45, what="an automatic capture")
    pilot.tap(pilot.app.tr("photo.accept"))


def _vehicle(pilot: Any, _step: Any) -> None:
    widget = pilot.app.screen("step").widget
    pilot.wait_until(
        lambda: widget.vehicle or widget.refused or widget.offline, timeout_s=20, what="the vehicle"
    )
    if not widget.vehicle:
        raise SelfTestFailure(widget.message)
    pilot.tap(pilot.app.tr("lookup.vehicle_yes"))


def _violations(pilot: Any, step: Any) -> None:
    """Pay what is chosen: the main slot confirms the camera records first (decision numbers
    issued), then pays; a stop (a result screen) fails the self-test with its title."""
    app = pilot.app
    widget = app.screen("step").widget
    pilot.wait_until(
        lambda: widget.engine.state.phase not in ("idle", "busy"), timeout_s=20, what="the violations"
    )
    for _press in range(3):  # 下一步：确认违法 → 确认违法 → 缴纳所选
        if app.flow is None or app.flow.step is not step:
            return
        if widget.offline or widget.refused or widget.result is not None or not widget.chosen:
            raise SelfTestFailure(widget.message or "no violations to pay for the synthetic card holder")
        key = widget.main_key
        pilot.tap(app.tr(key))
        pilot.wait_until(
            lambda k=key: (
                app.flow is None or app.flow.step is not step or (not widget.busy and widget.main_key != k)
            ),
            timeout_s=20,
            what=f"the violations after {key}",
        )


def _wait_for_next_step(pilot: Any, step: Any) -> None:
    """Steps that finish by themselves (submit, verification, payment, printing)."""
    app = pilot.app

    def moved_or_stuck() -> bool:
        widget = app.screen("step").widget if app.manager.current == "step" else None
        if app.flow is None or app.flow.step is not step:
            return True
        flags = ("refused", "offline", "failed")
        return widget is not None and any(getattr(widget, flag, False) for flag in flags)

    pilot.wait_until(moved_or_stuck, timeout_s=60, what=f"step {step.id} to finish")
    if app.flow is not None and app.flow.step is step:
        raise SelfTestFailure(getattr(app.screen("step").widget, "message", "step did not finish"))


def _read_card(pilot: Any, _step: Any) -> None:
    """Simulated reader: lay the synthetic card. Real reader: the technician lays a test card."""
    widget = pilot.app.screen("step").widget
    simulator = getattr(pilot.app.runtime.devices.get("card_reader"), "simulator", None)
    if simulator is not None:
        simulator.remove()  # the card of an earlier visit, if it was left on the reader
        worker = getattr(pilot.app.runtime.devices.get("card_reader"), "worker", None)
        if worker is not None:  # a card laid again before the reader saw it go is still the old one
            pilot.wait_until(lambda: not worker.card_present, timeout_s=10, what="the old card taken away")
        ready = ("waiting", "read")  # or that card was read before it went away
        pilot.wait_until(lambda: widget.state in ready, timeout_s=10, what="the reader to be ready")
        if widget.state == "waiting":
            pilot.tap(pilot.app.tr("readcard.demo_card"))
    else:
        print("selftest: lay a test ID card on the reader (60 s)", flush=True)
    pilot.wait_until(lambda: widget.state in ("read", "problem", "no_reader"), timeout_s=60, what="a card")
    if widget.state != "read":
        raise SelfTestFailure(widget.message)


def _face_check(pilot: Any, step: Any) -> None:
    """The face check passes by itself in simulation (the demo face blinks; the card photo is the
    demo face). With a real camera the technician does the challenge in front of it (60 s)."""
    app = pilot.app
    widget = app.screen("step").widget
    if not getattr(widget, "simulated_liveness", False):
        print("selftest: look at the camera and do what the screen asks (60 s)", flush=True)

    def moved_or_ended() -> bool:
        return (
            app.flow is None
            or app.flow.step is not step
            or widget.phase in ("retry", "failed", "help", "offline")
        )

    pilot.wait_until(moved_or_ended, timeout_s=60, what="the face check")
    if app.flow is not None and app.flow.step is step and widget.phase == "offline":
        # the backend did not answer in time (the demo backend enrols its register on the first
        # verification): once more, as a resident pressing 再试一次 would
        pilot.tap(app.tr("face.try_again"))
        pilot.wait_until(lambda: widget.phase != "offline", what="the face check to run again")
        pilot.wait_until(moved_or_ended, timeout_s=60, what="the face check")
    if app.flow is not None and app.flow.step is step:
        raise SelfTestFailure(f"face check: {widget.title} {widget.result_text}".strip())


def _consent(pilot: Any, _step: Any) -> None:
    pilot.tap(pilot.app.tr("consent.agree"))


def _review(pilot: Any, _step: Any) -> None:
    pilot.tap(pilot.app.tr("review.confirm"))


def _request_status(pilot: Any, _step: Any) -> None:
    """File a test request, look it up by its typed number and, with a simulated camera, by its
    receipt's QR code: each time the backend's status must come back."""
    from kiosk.steps.status import BACKEND_STATES

    app = pilot.app
    queue = app.runtime.queue
    note = {"fields": {"note": "selftest: status look-up"}}
    submitted = queue.outbox.submit("system.test", 1, note, test=True)
    queue.worker.wake()
    request_id = submitted.request_id
    pilot.wait_until(
        lambda: (queue.outbox.record(request_id) or {}).get("status") == "acknowledged",
        timeout_s=60,
        what="the test request's delivery",
    )
    widget = app.screen("step").widget

    def answered() -> None:
        pilot.wait_until(lambda: widget.mode == "result", timeout_s=30, what="the status")
        if widget.state not in BACKEND_STATES:
            raise SelfTestFailure(f"{widget.headline}: {widget.view.detail if widget.view else ''}")

    if widget.mode == "scan":
        pilot.tap(app.tr("status.mode.type"))
    for key in submitted.number:  # the acceptance number, as the receipt prints it
        pilot.tap(key, exact=True)
    pilot.tap(app.tr("app.next"))
    answered()
    camera = app.runtime.devices.get("camera")
    if widget.camera_ok and getattr(camera, "simulated", False):
        from kiosk.steps.status_scan import receipt_frame

        pilot.tap(app.tr("status.again"))
        pilot.wait_until(lambda: widget.mode == "scan", what="the scanner")
        camera.hold_up(receipt_frame(app.runtime.config.kiosk.status_base_url + request_id))
        try:
            answered()
        finally:
            camera.hold_up(None)
    pilot.tap(app.tr("status.finish"))


def _fingerprint(pilot: Any, step: Any) -> None:
    """A simulated collector takes both thumbs by itself; without one the resident reads that
    they are taken at pick-up and goes on (a real collector: the technician presses, 60 s)."""
    widget = pilot.app.screen("step").widget
    if getattr(pilot.app.runtime.devices.get("fingerprint"), "simulated", True) is False:
        print("selftest: press each thumb on the fingerprint reader as the screen asks (60 s)", flush=True)
    pilot.wait_until(lambda: widget.engine.state.finished, timeout_s=60, what="the thumb prints")
    if widget.phase == "at_pickup":
        pilot.tap(pilot.app.tr("app.next"))


# step kind -> how a resident gets through it (read_card and print are added by their screens)
PLAYERS: dict[str, Callable[[Any, Any], None]] = {
    "consent": _consent,
    "read_card": _read_card,
    "form": _form,
    "plate": _plate,
    "address": _address,
    "take_photo": _photo,
    "vehicle_lookup": _vehicle,
    "violations": _violations,
    "review": _review,
    "submit": _wait_for_next_step,
    "verify_identity": _wait_for_next_step,
    "face_check": _face_check,
    "payment": _wait_for_next_step,
    "print": _wait_for_next_step,
    "request_status": _request_status,
    "applicant_rules": _wait_for_next_step,
    "household_check": _wait_for_next_step,
    "fingerprint": _fingerprint,
}
PLAYERS.update(VEHICLE_PLAYERS)  # the vehicle register's steps (screens/harness/selftest_vehicle.py)


def run_selftest(runtime: Runtime, service_id: str) -> tuple[bool, list[StepReport]]:
    from screens.harness.pilot import Pilot

    pilot = Pilot(runtime)
    try:
        started = time.monotonic()
        pilot.wait_until(lambda: not runtime.pending_roles(), timeout_s=60, what="the devices to open")
        pilot.wait_until(
            lambda: runtime.queue is not None or runtime.queue_error is not None,
            timeout_s=60,
            what="the request queue",
        )
        start = StepReport("start", "start", True, time.monotonic() - started)
        ok, reports = walk_service(pilot, runtime, service_id)
        return ok, [start, *reports]
    finally:
        pilot.close()


def walk_service(pilot: Any, runtime: Runtime, service_id: str) -> tuple[bool, list[StepReport]]:
    """One resident's whole visit to ``service_id`` on an app that is already running (the
    self-test runs one; bench/soak.py runs hundreds back to back in one process)."""
    app = pilot.app
    reports: list[StepReport] = []
    availability = app.availability(service_id)
    if not availability.ok:
        reports.append(StepReport("availability", "check", False, 0, availability.detail))
        return False, reports
    app.begin()
    app.start_service(service_id)
    reported: set[str] = set()
    while app.flow is not None and not app.flow.finished:
        for done in app.flow.steps_taken():  # steps that finished by themselves (a fast backend)
            if done.id not in reported:
                reported.add(done.id)
                reports.append(StepReport(done.id, done.kind, True, 0.0, "finished by itself"))
        step = app.flow.step
        reported.add(step.id)
        player = PLAYERS.get(step.kind)
        begun = time.monotonic()
        try:
            if player is None:
                raise SelfTestFailure(f"no self-test player for step kind {step.kind!r}")
            player(pilot, step)
            if app.flow is not None and app.flow.step is step:
                _wait_for_next_step(pilot, step)
        except Exception as exc:
            reports.append(StepReport(step.id, step.kind, False, time.monotonic() - begun, str(exc)))
            return False, reports
        reports.append(StepReport(step.id, step.kind, True, time.monotonic() - begun))
    reports.append(_delivered(pilot, runtime))
    unexpected = [repr(e) for e in pilot.errors]
    if unexpected:
        reports.append(StepReport("errors", "check", False, 0, "; ".join(unexpected)))
    return all(r.ok for r in reports), reports


def _delivered(pilot: Any, runtime: Runtime) -> StepReport:
    """The request reached the backend (acknowledged in the outbox)."""
    session = pilot.app.session
    submitted = session.artifacts.get("submitted") if session is not None else None
    if submitted is None:
        return StepReport("delivered", "check", True, 0, "service submits no request")
    queue = runtime.queue
    assert queue is not None, "a request was submitted, so the queue is up"
    begun = time.monotonic()
    try:
        pilot.wait_until(
            lambda: (queue.outbox.record(submitted.request_id) or {}).get("status") == "acknowledged",
            timeout_s=60,
            what="the backend's acknowledgement",
        )
    except AssertionError as exc:
        return StepReport("delivered", "check", False, time.monotonic() - begun, str(exc))
    return StepReport("delivered", "check", True, time.monotonic() - begun, submitted.request_id)


def report_dicts(reports: list[StepReport]) -> list[dict[str, Any]]:
    return [asdict(r) | {"seconds": round(r.seconds, 3)} for r in reports]
