"""The tour's pictures of every step screen of every service, and of the notable states.

For each service the flow is brought to each step with synthetic answers (choosing the answers that
make a conditional step apply) and the step's screen is pictured. Work that would otherwise race
the picture is *held*: the backend client and the receipt printer are wrapped so their calls wait
on an event the tour releases after the "busy" picture, and the submit step's outbox never files
anything. Nothing here waits on the fake clock: the tour's clock only moves when told to, so every
wait is on a state the real worker threads reach by themselves, with a real-time limit.

Why an earlier paper-out picture hung: it reached the print step with ``while flow.step.kind !=
"print": flow.complete()``. ``complete()`` without answers returns the form's field errors and
stays put, so on the household certificate's form the loop spun forever on the UI thread (no frame,
no timeout could fire). :func:`flow_at` answers every question and raises on field errors; and the
fault is injected while the job's first status query is held, so the simulated printer (which
answers in milliseconds) cannot print before the fault is in place.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drivers.printer.status import PrinterStatus
from kiosk.errors import BackendUnavailable
from kiosk.services.flow import Flow
from kiosk.visit.session import Session
from screens.harness.tour_vehicle import VehicleTour

Shot = Callable[[str], None]
TOUR_REQUEST_ID = "0192f3a4-9b2c-7d1e-8f00-0a1b2c3d4e5f"  # made up: the tour files nothing
TOUR_NUMBER = "633700100570"  # its acceptance number: kiosk 1, 3 Dec 2026, the 57th request
TOUR_PLATE = "京A10000"  # the simulated backend knows this vehicle, with two violations
HOLD_LIMIT_S = 30.0  # a held call gives up after this (the tour never leaves one held that long)


@dataclass(frozen=True)
class TourSubmitted:
    request_id: str
    number: str = TOUR_NUMBER


class Hold:
    """A gate that held calls wait on; ``release`` lets them through, ``abandon`` makes them fail."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.abandoned = False

    def wait(self) -> bool:
        """True when released; False when abandoned (or held past the limit)."""
        return self._event.wait(HOLD_LIMIT_S) and not self.abandoned

    def release(self) -> None:
        self._event.set()

    def abandon(self) -> None:
        self.abandoned = True
        self._event.set()


class HeldQueue:
    """The request queue as backend steps see it, with each client call waiting on ``hold``;
    ``submit`` never files (it fails once released: the tour pictures only the "submitting" state)."""

    def __init__(self, real: Any, hold: Hold) -> None:
        self._real = real
        self._hold = hold

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def new_client(self) -> Any:
        return _HeldClient(self._real.new_client(), self._hold)

    def submit(self, *_args: Any, **_kwargs: Any) -> Any:
        """Never files: once the picture is taken the step is gone and ignores this made-up answer."""
        self._hold.wait()
        return TourSubmitted(TOUR_REQUEST_ID)


class _HeldClient:
    def __init__(self, real: Any, hold: Hold) -> None:
        self._real = real
        self._hold = hold

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if name == "close" or not callable(attribute):
            return attribute

        def held(*args: Any, **kwargs: Any) -> Any:
            if not self._hold.wait():
                raise BackendUnavailable("tour: held call abandoned")  # the step reports "offline"
            return attribute(*args, **kwargs)

        return held


class HeldPrinter:
    """The receipt printer with ``status`` waiting on ``hold`` (the first thing a job asks)."""

    def __init__(self, real: Any, hold: Hold) -> None:
        self._real = real
        self._hold = hold

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def status(self) -> Any:
        if not self._hold.wait():
            return PrinterStatus.unknown()  # abandoned: the job is not sent, nothing prints
        return self._real.status()

    def send(self, job: bytes) -> None:
        if not self._hold.abandoned:  # a printer allowed to print on unknown status still prints nothing
            self._real.send(job)


def synthetic_answers(service: Any, target: Any) -> dict[str, Any]:
    """Answers to every question, chosen so that ``target`` (a step) applies."""
    answers: dict[str, Any] = {}
    for step in service.steps:
        for field in step.fields:
            if field.type == "choice":
                answers[field.id] = field.options[0].value
            elif field.type == "phone":
                answers[field.id] = "13800138000"
            elif field.type == "id_number":
                answers[field.id] = "990000199001010017"
            elif field.type == "date":
                answers[field.id] = "1990-01-01"
            else:
                answers[field.id] = str(field.min or 1)
    if target.when is not None and target.when.equals is not None:
        answers[target.when.field] = target.when.equals
    return answers


def flow_at(app: Any, service: Any, target: Any) -> Flow | None:
    """A fresh session's flow standing at ``target`` (steps before it completed synthetically)."""
    from drivers.idcard.simulator import load_cards

    app.end_session("tour")
    app.session = Session(app.lang, clock=app.runtime.clock)
    flow = Flow(service, app.session)
    app.flow = flow
    answers = synthetic_answers(service, target)
    session = app.session
    while flow.step is not target:
        step = flow.step
        if step.kind == "done":
            return None  # the target does not apply with these answers
        if step.kind == "read_card" and step.role == "guardian":
            session.guardian = load_cards()["resident_other_face"]
        elif step.kind == "read_card":
            session.identity = load_cards()["resident"]
        results: dict[str, Any] = {}
        if step.kind == "plate":
            results["plate"] = TOUR_PLATE
        elif step.kind == "address":
            results.update(mail_address="北京市东城区5号楼301室", mail_region="110101")
        elif step.kind == "violations":
            session.artifacts["violations"] = {
                "violation_ids": ["V-TOUR-1", "V-TOUR-2"],
                "amount_fen": 25000,
                "items": [  # made up, as the violations step hands them on
                    {"violation_id": "V-TOUR-1", "description_zh": "超速行驶", "description_en": "Speeding",
                     "amount_fen": 20000, "points": 3},
                    {"violation_id": "V-TOUR-2", "description_zh": "违法停车", "description_en": "Parking",
                     "amount_fen": 5000, "points": 0},
                ],
            }  # fmt: skip
        elif step.kind == "payment":
            session.artifacts["payment"] = {"payment_id": "P-TOUR", "amount_fen": 0}
        elif step.kind == "applicant_rules":
            results["applicant_minor"] = answers.get("applicant_minor", "no")
        elif step.kind == "submit":
            session.artifacts["submitted"] = TourSubmitted(TOUR_REQUEST_ID)
        errors = flow.complete({f.id: answers[f.id] for f in step.fields}, results=results)
        if errors:
            raise RuntimeError(f"tour: {service.id}.{step.id}: {errors}")
    return flow


class StepTour(VehicleTour):
    """Pictures every step of every service; the notable states once each (the vehicle register's
    steps: :class:`screens.harness.tour_vehicle.VehicleTour`)."""

    def __init__(self, app: Any, pilot: Any, shot: Shot) -> None:
        self.app = app
        self.pilot = pilot
        self.shot = shot
        self.runtime = app.runtime
        self.pictured: set[str] = set()  # notable states already pictured

    def run(self) -> None:
        for service in self.app.catalogue.services:
            for number, step in enumerate(service.steps, 1):
                if step.kind == "request_status":
                    continue  # pictured by tour.py (scan, entry, result) before this tour runs
                self.picture(service, step, f"{service.id}-{number:02d}-{step.id}")
        self.app.end_session("tour")
        self.degraded()

    def degraded(self) -> None:
        """Traffic fine with the card reader down: offered, by plate only, the card option's reason."""
        from drivers.base import DeviceHealth, Health

        failures = self.runtime.failures
        failures["card_reader"] = DeviceHealth(Health.DOWN, "tour", "card reader unplugged (tour)")
        try:
            self.app.begin()
            self.app.choose_category("vehicle")
            self.shot("services-vehicle-card-reader-down")
            self.app.start_service("traffic-fine")
            self.shot("traffic-fine-by-plate-only")
        finally:
            del failures["card_reader"]
            self.app.end_session("tour")

    def picture(self, service: Any, step: Any, name: str) -> None:
        runtime = self.runtime
        hold = Hold()
        queue = runtime.queue
        printer = runtime.devices.get("printer")
        if queue is not None:
            runtime.queue = HeldQueue(queue, hold)
        if printer is not None:
            runtime.devices["printer"] = HeldPrinter(printer, hold)
        try:
            card_reader = runtime.devices.get("card_reader")
            if step.kind == "read_card" and getattr(card_reader, "simulator", None) is not None:
                card_reader.simulator.remove()
            if flow_at(self.app, service, step) is None:
                return
            self.app.show_route()
            widget = self.app.screen("step").widget if self.app.manager.current == "step" else None
            settle = getattr(self, f"_{step.kind}", None)
            if settle is None or widget is None:
                self.shot(name)
            else:
                settle(widget, name, hold, printer)
        finally:
            self.app.end_session("tour")  # step widgets torn down before the real objects return
            hold.abandon()
            if queue is not None:
                runtime.queue = queue
            if printer is not None:
                runtime.devices["printer"] = printer

    def _once(self, state: str) -> bool:
        if state in self.pictured:
            return False
        self.pictured.add(state)
        return True

    # -- per kind: bring the screen to a state worth a picture ---------------------------------------
    def _read_card(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        self.pilot.frames(10)  # the card sliding onto the reader
        self.shot(name)

    def _take_photo(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        if "camera" not in self.runtime.devices:
            self.shot(name)
            return
        self.pilot.wait_until(lambda: widget.texture is not None, timeout_s=10, what="the live preview")
        self.shot(name)
        if self._once("photo-review"):
            self.pilot.wait_until(lambda: widget.can_accept, timeout_s=30, what="a capture")
            self.shot(f"{name}-review")

    def _address(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        self.shot(name)
        if not self._once("address"):
            return
        tap, tr = self.pilot.tap, self.app.tr
        if widget.mode == "choose":
            tap(tr("address.pick_lists"))
            self.shot(f"{name}-province")
        for region in ("河北省", "石家庄市"):
            tap(region, exact=True)
        self.shot(f"{name}-county")
        tap("长安区", exact=True)
        self.shot(f"{name}-street")
        tap(widget.tile_text(widget.choices()[0]), exact=True)  # 青园街道
        self.shot(f"{name}-village")
        tap(widget.tile_text(widget.choices()[0]), exact=True)
        for key in ("5", "号楼", "2", "单元", "3", "0", "1", "室"):
            tap(key, exact=True)
        self.shot(f"{name}-house-number")

    def _plate(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        for key in TOUR_PLATE[:4]:
            self.pilot.tap(key, exact=True)
        self.shot(name)

    def _verify_identity(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        self.pilot.wait_until(lambda: widget.busy, what="the verification to start")
        self.shot(name)

    def _face_check(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        """The live preview with its outline and instruction; once, every result the resident can
        meet (drawn from engine states: the real check is stopped first, so none races the picture)."""
        if widget.engine is None:
            self.shot(name)
            return
        self.pilot.wait_until(lambda: widget.texture is not None, timeout_s=10, what="the live preview")
        self.shot(name)
        if not self._once("face-check"):
            return
        from kiosk.steps.face_check import FaceCheckState

        widget.engine.leave()
        states = {
            "blink": FaceCheckState("liveness", "liveness.blink", progress=0.55, seconds_left=14),
            "matching": FaceCheckState("matching", "face.matching", progress=1.0),
            "passed": FaceCheckState("passed", "face.passed", progress=1.0),
            "retry": FaceCheckState("retry", reason="photo_mismatch"),
            "failed": FaceCheckState("failed", reason="photo_mismatch", attempt=2),
            "cannot": FaceCheckState("help", reason="cannot", attempt=2),
            "offline": FaceCheckState("offline", reason="offline"),
        }
        for state_name, state in states.items():
            widget.render(state)
            self.shot(f"{name}-{state_name}")

    def _vehicle_lookup(self, widget: Any, name: str, hold: Hold, _printer: Any) -> None:
        self.pilot.wait_until(lambda: widget.busy, what="the look-up to start")
        self.shot(f"{name}-busy")
        hold.release()
        self.pilot.wait_until(
            lambda: widget.vehicle or widget.refused or widget.offline,
            timeout_s=20,
            what="the vehicle record",
        )
        self.shot(name)

    def _violations(self, widget: Any, name: str, hold: Hold, _printer: Any) -> None:
        from dataclasses import replace

        from kiosk.steps.fines import PLATE

        self.pilot.wait_until(lambda: widget.busy, what="the look-up to start")
        hold.release()
        self.pilot.wait_until(lambda: not widget.busy, timeout_s=20, what="the violations")
        self.shot(name)  # the licence's points, camera records, a decided fine with its late fee
        if not self._once("violations-states") or not widget.engine.state.chosen:
            return
        answered = widget.engine.state
        widget.next()  # the main slot: the confirm sheet of the camera records, their points shown
        self.pilot.frames(2)
        self.shot(f"{name}-confirm")
        for key, shot in (("fines.points_full", "points-full"), ("fines.over_limit", "over-limit")):
            widget.render(replace(answered, phase="refused", message_key=key))
            self.shot(f"{name}-{shot}")
        keep = ("violation_id", "description_zh", "description_en", "amount_fen", "points", "decided")
        by_plate = tuple(
            {**{k: v[k] for k in keep}, "why_not": "needs_card", "late_fee_fen": 0} for v in answered.items
        )
        widget.render(replace(answered, mode=PLATE, items=by_plate, chosen=(), licence=None,
                              message_key="fines.plate_only"))  # fmt: skip
        self.shot(f"{name}-plate-only")  # no times, no places, nothing to choose

    def _payment(self, widget: Any, name: str, hold: Hold, _printer: Any) -> None:
        self.pilot.wait_until(lambda: widget.busy, what="the payment order to be asked for")
        hold.release()
        self.pilot.wait_until(
            lambda: widget.qr_texture is not None or widget.offline or widget.refused,
            timeout_s=20,
            what="the payment QR code",
        )
        self.shot(name)
        if widget.wants_next and self._once("payment-code"):  # a scanner: 出示付款码 in the main slot
            widget.next()
            self.pilot.frames(2)
            self.shot(f"{name}-show-code")

    def _submit(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        self.shot(name)  # "submitting": the held outbox files nothing

    def _print(self, widget: Any, name: str, hold: Hold, printer: Any) -> None:
        self.shot(name)  # printing, the printer's status held
        if printer is None or not hasattr(printer, "inject") or not self._once("print-failed"):
            return
        printer.inject("paper_out")
        try:
            hold.release()
            self.pilot.wait_until(
                lambda: widget.phase == "failed", timeout_s=20, what="the paper-out message"
            )
            self.shot(f"{name}-paper-out")
        finally:
            printer.clear("paper_out")

    # -- issue #19, the household steps (screens/steps/household.py) ---------------------------------
    def _applicant_rules(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        """The rule that stops most often: renewing for expiry before the window opens."""
        from kiosk.steps.household_rules import STOP_WINDOW, RuleOutcome

        widget.show_outcome(RuleOutcome(STOP_WINDOW, detail="2036-02-01"))  # cancels moving on
        self.shot(name)

    def _household_check(self, widget: Any, name: str, hold: Hold, _printer: Any) -> None:
        self.pilot.wait_until(lambda: widget.busy, what="the household check to start")
        self.shot(f"{name}-busy")
        hold.release()  # the synthetic member's number is in no demo household: the result screen
        self.pilot.wait_until(lambda: not widget.busy, timeout_s=20, what="the household answer")
        self.shot(name)

    def _fingerprint(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        """Drawn from engine states (the simulated collector would finish before the picture)."""
        from kiosk.steps.fingerprint import CAPTURING, FingerprintState

        widget.engine.leave()  # before its first capture: nothing is taken
        place = FingerprintState(CAPTURING, "right_thumb", instruction_key="fingerprint.place.right_thumb")
        widget.render(place)
        self.shot(name)
        if not self._once("fingerprint"):
            return
        again = FingerprintState(
            CAPTURING,
            "left_thumb",
            attempt=2,
            instruction_key="fingerprint.again.poor",
            taken=("right_thumb",),
        )
        widget.render(again)
        self.shot(f"{name}-again")
        widget.has_collector = False
        widget.render(FingerprintState("at_pickup", instruction_key="fingerprint.at_pickup.no_collector"))
        self.shot(f"{name}-at-pickup")

    def _request_status(self, widget: Any, name: str, _hold: Hold, _printer: Any) -> None:
        self.pilot.wait_until(lambda: widget.mode in ("scan", "type"), what="the status look-up")
        self.shot(name)
