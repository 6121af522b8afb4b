"""The tour's pictures of every step (screens/harness/tour_steps.py): each step of a service is reached and
pictured, held work makes the busy states deterministic, the paper-out state is reached without
waiting on the fake clock, and nothing is filed."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

from screens.harness.tour_steps import StepTour, flow_at, synthetic_answers

pytestmark = pytest.mark.ui


def _filed(queue: Any) -> int:
    status = queue.outbox.status()
    return int(status.pending + status.acknowledged + status.dead)


def test_answers_make_a_conditional_step_apply(kiosk: Any) -> None:
    service = kiosk.app.catalogue["traffic-fine"]
    card, plate = (next(s for s in service.steps if s.id == name) for name in ("card", "plate"))
    assert synthetic_answers(service, card)["lookup_by"] == "card"
    assert synthetic_answers(service, plate)["lookup_by"] == "plate"
    flow = flow_at(kiosk.app, service, plate)
    assert flow is not None and flow.step is plate
    kiosk.app.end_session("test")


def test_every_step_of_a_service_and_the_notable_states(kiosk: Any, tmp_path: Path) -> None:
    app = kiosk.app
    kiosk.wait_until(lambda: app.runtime.queue is not None, timeout_s=30, what="the request queue")
    queue = app.runtime.queue
    printer = app.runtime.devices["printer"]
    filed_before = _filed(queue)
    jobs_before = printer.printed
    seen: dict[str, Any] = {}

    def shot(name: str) -> None:
        kiosk.frames(2)
        widget = app.screen("step").widget if app.manager.current == "step" else None
        seen[name] = (app.manager.current, app.flow.step.id if app.flow else None, widget)
        kiosk.screenshot(tmp_path / f"{name}.png")

    tour = StepTour(app, kiosk, shot)
    for name in ("traffic-fine", "household-certificate"):
        service = app.catalogue[name]
        for number, step in enumerate(service.steps, 1):
            tour.picture(service, step, f"{name}-{number:02d}-{step.id}")
    fine = app.catalogue["traffic-fine"]
    for number, step in enumerate(fine.steps, 1):  # one picture at least of each step, on its step
        screen, step_id, _ = seen[f"traffic-fine-{number:02d}-{step.id}"]
        assert step_id == step.id
        assert screen == {"review": "review", "done": "done"}.get(step.kind, "step")
    number = {step.id: n for n, step in enumerate(fine.steps, 1)}

    def fine_shot(step_id: str, suffix: str = "") -> Any:
        return seen[f"traffic-fine-{number[step_id]:02d}-{step_id}{suffix}"][2]

    assert fine_shot("violations").items  # the records of the tour's resident
    assert fine_shot("payment").qr_texture is not None
    submit = fine_shot("submit")
    assert not submit.failed  # pictured while "submitting", held
    failed = fine_shot("print", "-paper-out")
    assert failed.phase == "failed" and failed.qr_texture is not None
    assert "paper_out" not in printer.faults  # cleared after the picture
    assert printer.printed == jobs_before  # a picture prints nothing
    assert app.runtime.queue is queue and app.runtime.devices["printer"] is printer
    assert _filed(queue) == filed_before  # nothing filed
    assert all(p.stat().st_size > 10_000 for p in tmp_path.glob("*.png"))
    kiosk.wait_until(
        lambda: not [t for t in threading.enumerate() if t.name in ("submit", "print-job")],
        timeout_s=10,
        what="no worker left waiting on a held call",
    )


def test_backend_step_shows_its_progress_message(kiosk: Any) -> None:
    """The message under a backend step's busy indicator follows the step (BackendStatus rebinds)."""
    app = kiosk.app
    kiosk.wait_until(lambda: app.runtime.queue is not None, timeout_s=30, what="the request queue")
    seen: list[list[str]] = []

    def shot(_name: str) -> None:
        widget = app.screen("step").widget
        seen.append(kiosk.visible_texts())
        widget.message = app.tr("queue.lookup_unavailable")
        seen.append(kiosk.visible_texts())

    service = app.catalogue["plate-reissue"]
    vehicle = next(s for s in service.steps if s.kind == "owner_check")
    StepTour(app, kiosk, shot).picture(service, vehicle, "vehicle")
    assert app.tr("owner.busy") in seen[0]
    assert app.tr("queue.lookup_unavailable") in seen[1]
