"""The vehicle register's steps in the real app against the demo backend's register
(kiosk/queue/demo_vehicles.py): a non-owner is stopped on a result screen before anything is
filed, the owner confirms with the main action, the health-check record is typed and checked, and
the tour pictures every new screen and stop."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from kiosk.queue.demo_vehicles import FAILED_RECORD, HEALTH_RECORD, OTHER_PLATE
from screens.harness.tour_steps import StepTour, flow_at
from tests.ui.faults import assert_calm, backend_requests, outbox_total

pytestmark = pytest.mark.ui


def _at(kiosk: Any, service_id: str, kind: str, **values: Any) -> Any:
    app = kiosk.app
    kiosk.wait_until(lambda: app.runtime.queue is not None, timeout_s=30, what="the request queue")
    service = app.catalogue[service_id]
    step = next(s for s in service.steps if s.kind == kind)
    assert flow_at(app, service, step) is not None
    app.session.values.update(values)  # before the step's screen asks the backend
    app.show_route()
    return app.screen("step").widget


def _result_title(kiosk: Any) -> str:
    host = kiosk.app.screen("step")
    kiosk.wait_until(lambda: host.result is not None, timeout_s=20, what="the result screen")
    return str(host.result.title_key)


def test_someone_elses_vehicle_stops_on_a_result_screen_before_anything_is_filed(
    kiosk: Any, tmp_path: Path
) -> None:
    kiosk.wait_until(lambda: kiosk.app.runtime.queue is not None, timeout_s=30, what="the request queue")
    before_outbox, before_backend = outbox_total(kiosk), backend_requests(kiosk)
    _at(kiosk, "plate-reissue", "owner_check", plate=OTHER_PLATE)
    assert _result_title(kiosk) == "vresult.owner.not_owner.title"
    texts = kiosk.visible_texts()
    assert kiosk.app.tr("vresult.owner.not_owner.body") in texts
    assert kiosk.app.tr("vehicle.confirm") not in texts  # no main action under a stop
    assert_calm(kiosk, kiosk.app.tr("vresult.owner.not_owner.body"))
    kiosk.screenshot(tmp_path / "vehicle-not-owner.png")
    assert kiosk.app.flow.step.kind == "owner_check"
    kiosk.app.end_session("test")
    assert outbox_total(kiosk) == before_outbox and backend_requests(kiosk) == before_backend


def test_the_owner_confirms_in_the_main_slot_and_the_plate_type_comes_from_the_register(kiosk: Any) -> None:
    widget = _at(kiosk, "plate-reissue", "owner_check")
    kiosk.wait_until(lambda: widget.answered, timeout_s=20, what="the owner's vehicle")
    host = kiosk.app.screen("step")
    assert host.main_text == kiosk.app.tr("vehicle.confirm")
    assert kiosk.app.tr("owner.row.plate_type") in kiosk.visible_texts()
    assert "小型汽车号牌" in kiosk.visible_texts()  # the rules' name of the register's plate type
    kiosk.tap(kiosk.app.tr("vehicle.confirm"))
    kiosk.wait_until(lambda: kiosk.app.flow.step.id == "details", what="the details form")
    assert kiosk.app.session.values["plate_type"] == "small"
    kiosk.app.end_session("test")


def test_a_trailer_plate_with_a_temporary_plate_is_charged_its_own_fee_item_by_item(kiosk: Any) -> None:
    widget = _at(kiosk, "plate-reissue", "payment", plate_type="trailer", temporary_plate="yes")
    kiosk.wait_until(lambda: widget.qr_texture is not None, timeout_s=20, what="the payment QR code")
    texts = kiosk.visible_texts()
    assert "号牌工本费" in texts and "临时号牌工本费" in texts  # the bill, part by part
    assert "￥50.00" in texts and "￥5.00" in texts
    assert widget.payment.state.phase == "waiting" and widget.payment.fee_fen == 5000 + 500
    assert widget.payment.fee_fen != kiosk.app.catalogue["plate-reissue"].fee_fen  # not the car's fee
    kiosk.app.end_session("test")


def test_a_failed_health_check_stops_and_a_passed_one_goes_on(kiosk: Any) -> None:
    widget = _at(kiosk, "driving-licence-renewal", "health_check")
    for key in FAILED_RECORD:
        kiosk.tap(key, exact=True)
    assert widget.wants_next
    kiosk.tap(kiosk.app.tr("app.next"))
    assert _result_title(kiosk) == "vresult.health.record_failed.title"
    kiosk.app.end_session("test")

    widget = _at(kiosk, "driving-licence-renewal", "health_check")
    for key in HEALTH_RECORD[:-1]:
        kiosk.tap(key, exact=True)
    kiosk.tap(kiosk.app.tr("form.delete"))  # the pad's delete key
    assert widget.entry == HEALTH_RECORD[:-2]
    for key in HEALTH_RECORD[-2:]:
        kiosk.tap(key, exact=True)
    kiosk.tap(kiosk.app.tr("app.next"))
    kiosk.wait_until(lambda: kiosk.app.flow.step.id == "health", timeout_s=20, what="the self-declaration")
    assert kiosk.app.session.values["health_record_no"] == HEALTH_RECORD
    kiosk.app.end_session("test")


def test_the_tour_pictures_every_step_and_stop_of_the_vehicle_services(kiosk: Any, tmp_path: Path) -> None:
    app = kiosk.app
    kiosk.wait_until(lambda: app.runtime.queue is not None, timeout_s=30, what="the request queue")
    seen: dict[str, Any] = {}

    def shot(name: str) -> None:
        kiosk.frames(2)
        host = app.screen("step") if app.manager.current == "step" else None
        seen[name] = (
            host.result.title_key if host is not None and host.result else "",
            kiosk.visible_texts(),
        )
        kiosk.screenshot(tmp_path / f"{name}.png")

    tour = StepTour(app, kiosk, shot)
    for service_id in ("driving-licence-renewal", "inspection-sticker", "plate-reissue"):
        service = app.catalogue[service_id]
        for number, step in enumerate(service.steps, 1):
            if step.kind in ("licence_check", "health_check", "owner_check", "inspection_check"):
                tour.picture(service, step, f"{service_id}-{number:02d}-{step.id}")
    assert seen["driving-licence-renewal-04-licence"][0] == ""  # the demo licence is in its window
    assert app.tr("licence.row.class") in seen["driving-licence-renewal-04-licence"][1]
    assert seen["driving-licence-renewal-04-licence-too_early"][0] == "vresult.licence.too_early.title"
    assert "2027-03-02" in seen["driving-licence-renewal-04-licence-too_early"][1]  # when it opens
    assert seen["driving-licence-renewal-06-health_record-record_last_cycle"][0] == (
        "vresult.health.record_last_cycle.title"
    )
    assert "3301 2026 0000 0017" in seen["driving-licence-renewal-06-health_record-typed"][1]
    assert seen["inspection-sticker-05-vehicle"][0] == ""  # the demo car: its sticker year, insured
    assert seen["inspection-sticker-05-vehicle-violations"][0] == "vresult.inspection.violations.title"
    assert seen["plate-reissue-05-owner-not_owner"][0] == "vresult.owner.not_owner.title"
    missing = [t for _title, texts in seen.values() for t in texts if t.startswith(("vresult.", "licence."))]
    assert missing == []  # every key has its text
    assert all(p.stat().st_size > 10_000 for p in tmp_path.glob("*.png"))
    app.end_session("test")
