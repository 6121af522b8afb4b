"""Degrade instead of disable: an answer whose branch needs a device that is down is blocked,
the rest of the service stays available (kiosk/services/flow.py: service_availability)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from drivers.base import DeviceHealth, Health
from kiosk.config.messages import Messages
from kiosk.services.catalogue import Catalogue, Condition, FormField, Option, Service, Step, Text
from kiosk.services.flow import BACKEND, Flow, branch_needs, service_availability
from kiosk.services.step_kinds import STEP_KINDS
from kiosk.visit.session import Session

ALL_KINDS = frozenset(STEP_KINDS)
OK = DeviceHealth(Health.OK, "ready")
UNPLUGGED = DeviceHealth(Health.DOWN, "disconnected", "/dev/ttyUSB0 gone")


def health(**down: DeviceHealth | None) -> Callable[[str], DeviceHealth | None]:
    def lookup(role: str) -> DeviceHealth | None:
        return down.get(role, OK)

    return lookup


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def test_traffic_fine_by_plate_only_while_the_reader_is_down(catalogue: Catalogue) -> None:
    service = catalogue["traffic-fine"]
    result = service_availability(service, ready_kinds=ALL_KINDS, device_health=health(card_reader=UNPLUGGED))
    assert result.ok and result.degraded
    [blocked] = result.blocked
    assert (blocked.field, blocked.value) == ("lookup_by", "card")
    assert blocked.reason_key == "service.degraded.card_reader" and "disconnected" in blocked.detail
    healthy = service_availability(service, ready_kinds=ALL_KINDS, device_health=health())
    assert healthy.ok and not healthy.degraded


def test_a_terminal_without_a_reader_still_offers_the_plate(catalogue: Catalogue) -> None:
    result = service_availability(
        catalogue["traffic-fine"], ready_kinds=ALL_KINDS, device_health=health(card_reader=None)
    )
    assert result.ok and [b.value for b in result.blocked] == ["card"]
    assert "not configured" in result.blocked[0].detail


def test_lost_card_branch_stays_open_when_the_reader_is_down(catalogue: Catalogue) -> None:
    service = catalogue["id-card-renewal"]
    result = service_availability(service, ready_kinds=ALL_KINDS, device_health=health(card_reader=UNPLUGGED))
    # a guardian (under-16 applicants) identifies on the reader too: that branch is blocked as well
    blocked = [(b.field, b.value) for b in result.blocked]
    assert result.ok and blocked == [("kind", "renewal"), ("applicant_minor", "yes")]
    # the camera is needed on every branch (the photo): down, the whole service is off
    no_camera = service_availability(service, ready_kinds=ALL_KINDS, device_health=health(camera=UNPLUGGED))
    assert not no_camera.ok and no_camera.reason_key == "service.unavailable.device.camera"


def test_services_needing_the_reader_on_every_branch_are_still_disabled(catalogue: Catalogue) -> None:
    for service_id in ("household-certificate", "plate-reissue", "driving-licence-renewal"):
        result = service_availability(
            catalogue[service_id], ready_kinds=ALL_KINDS, device_health=health(card_reader=UNPLUGGED)
        )
        assert (result.ok, result.reason_key) == (False, "service.unavailable.device.card_reader"), service_id


def _choice_service(option_needs: tuple[str, ...] = (), step_needing: str = "read_card") -> Service:
    text = Text(zh="问", en="Q")
    how = FormField(
        id="how", type="choice", label=text,
        options=(Option(value="a", zh="甲", en="A", needs=option_needs), Option(value="b", zh="乙", en="B")),
    )  # fmt: skip
    return Service(
        id="demo", category="vehicle", title=text, help=text, request_type="vehicle.demo",
        request_version=1, fee_fen=0, devices=("printer",),
        steps=(
            Step(id="how", kind="form", fields=(how,)),
            Step(id="branch_a", kind=step_needing, when=Condition(field="how", equals="a")),
            Step(id="branch_b", kind="plate", when=Condition(field="how", equals="b")),
            Step(id="done", kind="done"),
        ),
    )  # fmt: skip


def test_needs_come_from_conditioned_steps_and_from_options() -> None:
    always, branches = branch_needs(_choice_service(option_needs=("a4_printer",)))
    assert always == ["printer"]
    assert set(branches[("how", "a")]) == {"card_reader", "a4_printer"}
    assert branches.get(("how", "b"), []) == []  # the plate step needs nothing
    _, backend_branch = branch_needs(_choice_service(step_needing="vehicle_lookup"))
    assert backend_branch[("how", "a")] == [BACKEND]


def test_an_option_declaring_a_device_is_blocked_when_it_is_down() -> None:
    service = _choice_service(option_needs=("a4_printer",), step_needing="plate")
    result = service_availability(service, ready_kinds=ALL_KINDS, device_health=health(a4_printer=UNPLUGGED))
    assert result.ok and [(b.value, b.reason_key) for b in result.blocked] == [
        ("a", "service.degraded.a4_printer")
    ]


def test_a_backend_branch_is_blocked_while_offline() -> None:
    service = _choice_service(step_needing="vehicle_lookup")
    result = service_availability(service, ready_kinds=ALL_KINDS, device_health=health(), backend_ok=False)
    assert result.ok and result.blocked[0].reason_key == "service.degraded.backend"


def test_when_every_answer_is_blocked_the_service_is_off() -> None:
    service = _choice_service(option_needs=(), step_needing="read_card")
    both = service.model_copy(
        update={"steps": (*service.steps[:2], service.steps[1].model_copy(update={"id": "b2",
                "when": Condition(field="how", equals="b")}), *service.steps[2:])}
    )  # fmt: skip
    result = service_availability(both, ready_kinds=ALL_KINDS, device_health=health(card_reader=UNPLUGGED))
    assert (result.ok, result.reason_key) == (False, "service.unavailable.device.card_reader")
    assert "disconnected" in result.detail


def test_unconditional_devices_are_checked_before_the_branches() -> None:
    result = service_availability(
        _choice_service(),
        ready_kinds=ALL_KINDS,
        device_health=health(printer=UNPLUGGED, card_reader=UNPLUGGED),
    )
    assert (result.ok, result.reason_key) == (False, "service.unavailable.device.printer")


def test_the_flow_refuses_a_blocked_answer(catalogue: Catalogue) -> None:
    service = catalogue["traffic-fine"]
    result = service_availability(service, ready_kinds=ALL_KINDS, device_health=health(card_reader=UNPLUGGED))
    flow = Flow(service, Session(), blocked=result.blocked)
    errors = flow.complete({"lookup_by": "card"})
    assert [(e.field, e.key) for e in errors] == [("lookup_by", "service.degraded.card_reader")]
    assert flow.step.id == "how"
    assert flow.complete({"lookup_by": "plate"}) == [] and flow.step.kind == "plate"


def test_every_degraded_reason_has_a_message() -> None:
    messages = Messages.load()
    roles = {role for kind in STEP_KINDS.values() for role in kind.devices} | {BACKEND}
    for role in roles:
        assert f"service.degraded.{role}" in messages, role
    assert "service.degraded.note" in messages
