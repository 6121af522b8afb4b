"""The service catalogue and the flow engine, without Kivy."""

from __future__ import annotations

from pathlib import Path

import pytest

from drivers.base import DeviceHealth, Health
from kiosk.errors import CatalogueError, ConfigError, FlowError
from kiosk.services.catalogue import SERVICE_IDS, Catalogue
from kiosk.services.flow import Flow, service_availability
from kiosk.visit.session import Session
from tests.unit.catalogue_files import one_service

ALL_KINDS = frozenset(
    {"consent", "form", "review", "done", "read_card", "take_photo", "plate", "verify_identity", "face_check",
     "vehicle_lookup", "violations", "payment", "submit", "print", "request_status", "applicant_rules",
     "household_check", "fingerprint"}
)  # fmt: skip
OK = DeviceHealth(Health.OK, "ready")


@pytest.fixture(scope="module")
def catalogue() -> Catalogue:
    return Catalogue.load()


def test_catalogue_lists_every_service_of_the_product(catalogue: Catalogue) -> None:
    assert [s.id for s in catalogue.services] == list(SERVICE_IDS)
    assert {s.category for s in catalogue.services} == {"household", "vehicle", "photo", "status"}
    for service in catalogue.services:
        assert service.title.zh and service.title.en and service.help.zh and service.help.en
        assert service.steps[-1].kind == "done"


def test_catalogue_rejects_unknown_step_kind_and_bad_condition(tmp_path: Path) -> None:
    bad = one_service(
        tmp_path,
        """
[[services.steps]]
id = "a"
kind = "teleport"
when = { field = "nothing", equals = "1" }
[[services.steps]]
id = "done"
kind = "done"
""",
    )
    with pytest.raises(CatalogueError) as info:
        Catalogue.load(bad)
    assert "unknown step kind 'teleport'" in str(info.value)
    assert "condition on 'nothing'" in str(info.value)


def test_catalogue_schema_errors_name_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "services.toml"
    bad.write_text('[[services]]\nid = "x"\ncategory = "weather"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        Catalogue.load(bad)
    assert any(p.key == "services.x.category" for p in info.value.problems)  # the service by its id


def test_availability_needs_step_screens_devices_and_backend(catalogue: Catalogue) -> None:
    service = catalogue["household-certificate"]
    devices = {"card_reader": OK, "printer": OK, "camera": OK}
    assert service_availability(service, ready_kinds=ALL_KINDS, device_health=devices.get).ok
    no_camera = service_availability(
        service, ready_kinds=ALL_KINDS, device_health={**devices, "camera": None}.get
    )
    assert no_camera.reason_key == "service.unavailable.device.camera"  # the face check needs it
    not_built = service_availability(service, ready_kinds=frozenset({"form"}), device_health=devices.get)
    assert (not_built.ok, not_built.reason_key) == (False, "service.unavailable.not_ready")
    devices["printer"] = DeviceHealth(Health.DOWN, "paper_out", "no paper")
    down = service_availability(service, ready_kinds=ALL_KINDS, device_health=devices.get)
    assert down.reason_key == "service.unavailable.device.printer" and "paper_out" in down.detail
    missing = service_availability(service, ready_kinds=ALL_KINDS, device_health={}.get)
    assert missing.reason_key == "service.unavailable.device.card_reader"
    traffic = catalogue["traffic-fine"]
    offline = service_availability(
        traffic, ready_kinds=ALL_KINDS, device_health=lambda r: OK, backend_ok=False
    )
    assert offline.reason_key == "service.unavailable.backend"


def test_flow_walks_a_service_and_validates_each_form(catalogue: Catalogue) -> None:
    session = Session()
    flow = Flow(catalogue["household-certificate"], session)
    assert flow.step.kind == "consent" and flow.route.screen == "step"
    assert flow.complete() == []
    assert flow.step.kind == "read_card"
    assert flow.complete() == []
    assert flow.step.kind == "face_check"  # 人证核验 right after the card
    assert flow.complete() == []
    assert flow.complete({"for_whom": "self"}) == []  # the member's number and check are skipped
    errors = flow.complete({"purpose": "kinship", "copies": "9", "phone": "12345"})
    assert {(e.field, e.key) for e in errors} == {
        ("copies", "field.error.range"),
        ("phone", "field.error.phone"),
    }
    assert flow.step.id == "details" and "purpose" not in session.values  # nothing stored on error
    assert flow.complete({"purpose": "kinship", "copies": "2", "phone": "13800138000"}) == []
    assert session.values == {"for_whom": "self", "purpose": "kinship", "copies": 2, "phone": "13800138000"}
    assert flow.route.screen == "review"
    assert flow.progress() == (6, 9)
    flow.complete()
    assert flow.step.kind == "submit"
    flow.complete()
    flow.complete()
    assert flow.finished and flow.route.screen == "done"
    with pytest.raises(FlowError):
        flow.complete()


def test_conditions_choose_the_branch(catalogue: Catalogue) -> None:
    renewal = Flow(catalogue["id-card-renewal"], Session())
    renewal.complete()
    renewal.complete({"kind": "renewal", "reason": "expired"})
    assert renewal.step.id == "card"
    replacement = Flow(catalogue["id-card-renewal"], Session())
    replacement.complete()
    replacement.complete({"kind": "replacement", "reason": "lost"})
    assert replacement.step.id == "identity"


def test_back_returns_to_the_previous_visible_step(catalogue: Catalogue) -> None:
    flow = Flow(catalogue["traffic-fine"], Session())
    flow.complete({"lookup_by": "plate"})
    assert flow.step.id == "plate"
    assert flow.back() and flow.step.id == "how"
    assert not flow.back()


def test_back_is_refused_once_submitted(catalogue: Catalogue) -> None:
    session = Session()
    flow = Flow(catalogue["id-photo"], session)
    flow.complete({"spec": "passport"})
    session.artifacts["submitted"] = object()
    assert not flow.can_go_back and not flow.back()
