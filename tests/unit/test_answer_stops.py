"""A choice answer marked ``stops`` ends the service there: the field refuses it with its reason."""

from __future__ import annotations

from pathlib import Path

from kiosk.config.messages import Messages
from kiosk.services.catalogue import Catalogue
from kiosk.services.fields import validate_field

ROOT = Path(__file__).resolve().parents[2]


def test_health_answers_no_stop_the_driving_licence_renewal() -> None:
    service = Catalogue.load(ROOT / "config" / "services.toml")["driving-licence-renewal"]
    health = next(s for s in service.steps if s.id == "health")
    assert len(health.fields) == 3  # eyesight and hearing: the electronic health-check record now
    for field in health.fields:
        assert validate_field(field, "yes") == ("yes", None)
        assert validate_field(field, "no") == (None, "health.declaration_stops")


def test_the_stop_reason_reads_in_both_languages() -> None:
    messages = Messages.load([ROOT / "config" / "messages"])
    zh, en = messages.get("health.declaration_stops", "zh"), messages.get("health.declaration_stops", "en")
    assert "车管所" in zh and "counter" in en
