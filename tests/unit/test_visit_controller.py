"""The visit lifecycle without Kivy (kiosk/visit/controller.py): every transition, the idle warning
and timeout, the return to the attract screen, maintenance idle, outcome counts and availability,
all on a fake clock."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from drivers.base import DeviceHealth, Health
from kiosk.config.model import SessionSection
from kiosk.runtime import BackendLink
from kiosk.services.catalogue import Catalogue
from kiosk.services.step_kinds import STEP_KINDS
from kiosk.visit.analytics import StepAnalytics
from kiosk.visit.controller import MAINTENANCE_IDLE_S, View, VisitController
from kiosk.visit.idle import FakeClock
from kiosk.visit.privacy import MASKING_FILTER

SETTINGS = SessionSection(idle_timeout_s=90, idle_warning_s=20, attract_return_s=15)
READY = frozenset(STEP_KINDS) | {"review", "done"}
PHONE = "13800138000"  # synthetic


@dataclass
class Kiosk:
    """The rest of the kiosk as a visit sees it: devices, the request queue, the backend link."""

    backend: BackendLink
    queue: object | None = "queue"
    queue_error: str | None = None
    health: dict[str, DeviceHealth] = field(default_factory=dict)

    def device_health(self, role: str) -> DeviceHealth | None:
        return self.health.get(role, DeviceHealth(Health.OK, "ready"))


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def around(clock: FakeClock) -> Kiosk:
    return Kiosk(BackendLink(clock))


@pytest.fixture
def analytics() -> StepAnalytics:
    return StepAnalytics()


@pytest.fixture
def visit(
    catalogue: Catalogue, around: Kiosk, clock: FakeClock, analytics: StepAnalytics, tmp_path: Path
) -> Iterator[VisitController]:
    controller = VisitController(
        catalogue,
        SETTINGS,
        around,
        ready_kinds=READY,
        analytics=analytics,
        clock=clock,
        scratch_root=tmp_path / "sessions",
    )
    yield controller
    controller.end("app_stop")


def outcomes(analytics: StepAnalytics) -> dict[tuple[str, str, str], int]:
    return {key: n for key, n in analytics.snapshot().items() if key[2] != "started"}


def masked(message: str) -> str:
    record = logging.LogRecord("t", logging.INFO, __file__, 1, message, None, None)
    MASKING_FILTER.filter(record)
    return record.getMessage()


# -- transitions ---------------------------------------------------------------------------------


def test_a_visit_from_the_first_touch_to_the_done_screen(visit: VisitController) -> None:
    assert visit.view() == View("attract") and visit.session is None
    assert visit.begin().screen == "home" and visit.session is not None
    view = visit.choose_category("photo")
    assert (view.screen, view.category, view.route) == ("services", "photo", None)
    view = visit.start_service("id-photo")
    assert view.screen == "step" and view.route is not None and view.route.step.id == "consent"
    assert visit.step_done() == []  # consent before the camera (issue #19)
    assert visit.view().route.step.id == "spec"  # type: ignore[union-attr]
    assert visit.step_done({"spec": "resident-id"}) == []
    assert visit.view().route.step.id == "photo"  # type: ignore[union-attr]
    for expected in ("submit", "print", "done"):
        assert visit.step_done() == []
        assert visit.view().route.step.id == expected  # type: ignore[union-attr]
    assert visit.view().screen == "done" and visit.flow is not None and visit.flow.finished


def test_field_errors_keep_the_step(visit: VisitController) -> None:
    visit.begin()
    visit.start_service("id-photo")
    visit.step_done()  # consent
    errors = visit.step_done({"spec": "not-a-spec"})
    assert [e.field for e in errors] == ["spec"]
    assert visit.view().route.step.id == "spec"  # type: ignore[union-attr]


def test_back_goes_to_the_previous_step_then_the_services_then_home(visit: VisitController) -> None:
    visit.begin()
    visit.choose_category("photo")
    visit.start_service("id-photo")
    visit.step_done()  # consent
    visit.step_done({"spec": "resident-id"})
    assert visit.back().route.step.id == "spec"  # type: ignore[union-attr]
    assert visit.back().route.step.id == "consent"  # type: ignore[union-attr]
    view = visit.back()
    assert view.screen == "services" and view.category == "photo" and visit.flow is None
    assert visit.session is not None  # still the same visit
    assert visit.back().screen == "home"
    assert visit.go_home().screen == "home"


def test_starting_a_service_without_a_visit_opens_one(visit: VisitController) -> None:
    assert visit.start_service("request-status").screen == "step"
    assert visit.session is not None and visit.session.service_id == "request-status"


def test_cancel_wipes_the_session_and_shows_the_attract_screen(visit: VisitController) -> None:
    visit.begin()
    visit.start_service("id-photo")
    session = visit.session
    assert session is not None
    session.values["phone"] = PHONE
    folder = session.temp_dir
    MASKING_FILTER.remember("王小明")
    assert masked("read for 王小明") == "read for 王**"
    ended: list[str] = []
    visit.on_end(ended.append)
    assert visit.cancel() == View("attract", "household")
    assert session.wiped and session.values == {} and not folder.exists()
    assert visit.session is None and visit.flow is None and ended == ["cancel"]
    assert masked("read for 王小明") == "read for 王小明"  # the log filter forgot the resident's name


def test_a_new_visit_wipes_the_last_one(visit: VisitController) -> None:
    visit.begin()
    first = visit.session
    visit.begin()
    assert first is not None and first.wiped and visit.session is not first


def test_finish_without_request_counts_as_finished(visit: VisitController, analytics: StepAnalytics) -> None:
    visit.start_service("request-status")
    session = visit.session
    assert visit.finish_without_request().screen == "attract"
    assert session is not None and session.wiped
    assert outcomes(analytics) == {("request-status", "lookup", "finished"): 1}


def test_fail_wipes_shows_the_error_screen_and_returns(
    visit: VisitController, clock: FakeClock, analytics: StepAnalytics, caplog: pytest.LogCaptureFixture
) -> None:
    visit.start_service("id-photo")
    session = visit.session
    view = visit.fail(RuntimeError("disk full"))
    assert view.screen == "error" and view.seconds_left == 15
    assert session is not None and session.wiped and visit.session is None
    assert "unexpected error" in caplog.text
    assert outcomes(analytics) == {("id-photo", "consent", "failed"): 1}
    clock.advance(14.5)
    assert visit.tick() == View("error", seconds_left=1)
    clock.advance(0.5)
    assert visit.tick().screen == "attract"


def test_a_failure_after_submitting_keeps_the_acceptance_number_for_the_error_screen(
    visit: VisitController, clock: FakeClock
) -> None:
    from kiosk.queue.rows import SubmittedRequest

    visit.start_service("id-photo")
    assert visit.session is not None
    visit.session.artifacts["submitted"] = SubmittedRequest(
        "0192f3a4-9b2c-7d1e-8f00-0a1b2c3d4e5f", 57, "", "633700100570"
    )
    view = visit.fail(RuntimeError("printer driver bug"))
    assert view.screen == "error" and view.number == "633700100570" and visit.session is None
    clock.advance(15)
    assert visit.tick().screen == "attract" and visit.view().number == ""
    visit.start_service("id-photo")
    assert visit.fail(RuntimeError("before submitting")).number == ""  # nothing was filed: no number


def test_a_card_starts_a_visit_only_on_the_attract_screen(visit: VisitController) -> None:
    view = visit.card_placed()
    assert view is not None and view.screen == "home"
    session = visit.session
    assert visit.card_placed() is None and visit.session is session


def test_language_follows_into_the_session(visit: VisitController) -> None:
    visit.set_language("en")
    visit.begin()
    assert visit.session is not None and visit.session.lang == "en"
    visit.set_language("zh")
    assert visit.session.lang == "zh"


# -- timers --------------------------------------------------------------------------------------


def test_idle_warning_then_timeout_wipes_the_session(
    visit: VisitController, clock: FakeClock, analytics: StepAnalytics
) -> None:
    visit.begin()
    visit.start_service("id-photo")
    session = visit.session
    clock.advance(69)
    view = visit.tick()
    assert not view.idle_warning and view.seconds_left == 21
    clock.advance(2)
    view = visit.tick()
    assert view.idle_warning and view.seconds_left == 19 and view.screen == "step"
    visit.touch()  # a touch beside the warning does not answer it
    clock.advance(19)
    view = visit.tick()
    assert view == View("attract") and not view.idle_warning
    assert session is not None and session.wiped and visit.session is None
    assert outcomes(analytics) == {("id-photo", "consent", "timed_out"): 1}


def test_a_touch_resets_the_idle_timer(visit: VisitController, clock: FakeClock) -> None:
    visit.begin()
    clock.advance(60)
    visit.touch()
    clock.advance(60)
    assert not visit.tick().idle_warning and visit.view().screen == "home"
    clock.advance(31)
    assert visit.tick().screen == "attract"


def test_keep_going_answers_the_warning(visit: VisitController, clock: FakeClock) -> None:
    visit.begin()
    visit.start_service("id-photo")
    clock.advance(75)
    assert visit.tick().idle_warning
    view = visit.keep_going()
    assert not view.idle_warning and view.seconds_left == 90 and view.screen == "step"
    clock.advance(75)
    assert visit.tick().idle_warning and visit.session is not None


def test_a_step_with_its_own_timeout(visit: VisitController, clock: FakeClock, around: Kiosk) -> None:
    visit.start_service("traffic-fine")
    visit.step_done({"lookup_by": "plate"})
    visit.step_done(results={"plate": "京A12345"})
    visit.step_done(results={"violations": []})
    assert visit.view().route.step.kind == "payment"  # type: ignore[union-attr]
    clock.advance(200)  # beyond the 90 s default, within the payment's 240 s
    assert visit.tick().screen == "step" and visit.session is not None


def test_done_returns_to_attract_after_attract_return_s(
    visit: VisitController, clock: FakeClock, analytics: StepAnalytics
) -> None:
    visit.start_service("request-status")
    session = visit.session
    visit.step_done()
    assert visit.view() == visit.view(clock()) and visit.view().seconds_left == 15
    clock.advance(100)  # the idle timeout does not apply on the done screen...
    view = visit.tick(clock() - 86)  # ...and tick takes the time it is given
    assert view.screen == "done" and view.seconds_left == 1 and not view.idle_warning
    view = visit.tick()
    assert view == View("attract") and session is not None and session.wiped
    assert outcomes(analytics) == {("request-status", "done", "finished"): 1}


def test_maintenance_ends_the_visit_and_logs_out_an_idle_technician(
    visit: VisitController, clock: FakeClock, analytics: StepAnalytics
) -> None:
    visit.start_service("id-photo")
    session = visit.session
    assert visit.enter_maintenance().screen == "maintenance_pin"
    assert session is not None and session.wiped and visit.session is None
    assert outcomes(analytics) == {("id-photo", "consent", "abandoned"): 1}
    visit.shown("maintenance")  # the PIN was right
    clock.advance(MAINTENANCE_IDLE_S - 10)
    visit.touch()
    clock.advance(MAINTENANCE_IDLE_S - 10)
    view = visit.tick()
    assert view.screen == "maintenance" and not view.idle_warning and view.seconds_left is None
    clock.advance(11)
    assert visit.tick() == View("attract")


def test_nothing_counts_down_on_the_attract_screen(visit: VisitController, clock: FakeClock) -> None:
    clock.advance(10_000)
    assert visit.tick() == View("attract")
    visit.touch()
    assert visit.session is None


def test_outcome_counts(visit: VisitController, clock: FakeClock, analytics: StepAnalytics) -> None:
    visit.start_service("id-photo")
    visit.cancel()  # abandoned
    visit.start_service("id-photo")
    visit.begin()  # a new visit over an unfinished one: abandoned too
    visit.start_service("id-photo")
    clock.advance(91)
    visit.tick()  # timed out
    visit.start_service("id-photo")
    visit.fail(ValueError("bug"))  # failed
    visit.start_service("request-status")
    visit.step_done()
    clock.advance(15)
    visit.tick()  # finished
    visit.start_service("id-photo")
    visit.end("tour")  # not counted
    assert outcomes(analytics) == {
        ("id-photo", "consent", "abandoned"): 2,
        ("id-photo", "consent", "timed_out"): 1,
        ("id-photo", "consent", "failed"): 1,
        ("request-status", "done", "finished"): 1,
    }
    assert analytics.snapshot()[("id-photo", "-", "started")] == 5


# -- availability --------------------------------------------------------------------------------


def test_everything_available_when_all_is_up(visit: VisitController, catalogue: Catalogue) -> None:
    for service in catalogue.services:
        assert visit.availability(service.id).ok, service.id


def test_queue_starting_disables_only_services_that_file_a_request(
    visit: VisitController, around: Kiosk
) -> None:
    around.queue = None
    photo = visit.availability("id-photo")
    assert not photo.ok and photo.reason_key == "service.unavailable.starting"
    assert visit.availability("request-status").ok  # files nothing
    view = visit.start_service("id-photo")
    assert view.screen == "services" and view.category == "photo" and visit.flow is None


def test_queue_error_names_the_cause(visit: VisitController, around: Kiosk) -> None:
    around.queue, around.queue_error = None, "DatabaseError: file is not a database"
    photo = visit.availability("id-photo")
    assert (
        not photo.ok and photo.reason_key == "service.unavailable.queue" and "not a database" in photo.detail
    )


def test_backend_unreachable_disables_only_the_services_that_need_it(
    visit: VisitController, around: Kiosk, catalogue: Catalogue
) -> None:
    around.backend.report(False, "refused")
    assert visit.availability("traffic-fine").ok  # one failure is not an outage
    around.backend.report(False, "refused")
    from kiosk.services.flow import branch_needs

    needing = {  # a step that asks the backend whatever the answers, or the service says so
        s.id for s in catalogue.services if "backend" in branch_needs(s)[0]
    }
    assert {"traffic-fine", "request-status", "temp-id-certificate"} <= needing
    for service in catalogue.services:
        availability = visit.availability(service.id)
        if service.id in needing:
            assert not availability.ok and availability.reason_key == "service.unavailable.backend", (
                service.id
            )
        else:  # a backend step on one answer's branch only (a household member): that answer is off
            assert availability.ok, service.id
            assert all(b.reason_key == "service.degraded.backend" for b in availability.blocked), service.id
    member = visit.availability("household-certificate").blocked
    assert [(b.field, b.value) for b in member] == [("for_whom", "member")]
    assert visit.start_service("id-photo").screen == "step"  # the others still start
    visit.cancel()
    assert visit.start_service("request-status").screen == "services"
    around.backend.report(True, "HTTP 200")
    assert visit.availability("traffic-fine").ok and visit.start_service("request-status").screen == "step"


def test_a_device_down_disables_the_services_needing_it(visit: VisitController, around: Kiosk) -> None:
    around.health["camera"] = DeviceHealth(Health.DOWN, "disconnected", "camera gone")
    photo = visit.availability("id-photo")
    assert not photo.ok and photo.reason_key == "service.unavailable.device.camera"
    assert visit.availability("traffic-fine").ok


def test_elder_mode_gives_more_time_on_this_step_and_the_next(
    visit: VisitController, clock: FakeClock
) -> None:
    visit.begin()
    visit.start_service("id-photo")
    visit.set_time_scale(1.5)  # 长辈模式 switched on during the step
    clock.advance(90 + 5)  # past the normal limit, inside the scaled one
    assert visit.tick().screen == "step" and visit.session is not None
    assert visit.step_done({"spec": "resident-id"}) == []
    clock.advance(SETTINGS.idle_timeout_s * 1.5 - SETTINGS.idle_warning_s * 1.5 - 1)
    assert not visit.tick().idle_warning  # the next step keeps the longer limits
    visit.set_time_scale(1.0)
    assert visit.time_scale == 1.0
    clock.advance(SETTINGS.idle_timeout_s + 1)
    assert visit.tick().screen == "attract"  # back to the normal limits
