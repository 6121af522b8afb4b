"""The consent notice names what each service collects (kiosk/services/consent.py), and no service
collects a face, fingerprints or an ID card's data before its consent step on the same path."""

from __future__ import annotations

from kiosk.services.catalogue import Catalogue
from kiosk.services.consent import SENSITIVE, consent_items

COLLECTS = {"read_card", "face_check", "fingerprint", "take_photo"}


def test_the_notice_names_face_and_fingerprints_where_the_service_takes_them() -> None:
    catalogue = Catalogue.load()
    renewal = consent_items(catalogue["id-card-renewal"])
    assert renewal[:2] == SENSITIVE  # biometric data first, on their own lines
    assert {"identity", "photo", "phone", "address"} <= set(renewal)
    assert consent_items(catalogue["id-photo"]) == ("photo",)  # no face check, no card
    assert "member" in consent_items(catalogue["household-certificate"])
    assert consent_items(catalogue["request-status"]) == ()


def test_no_personal_data_is_collected_before_consent_on_any_path() -> None:
    for service in Catalogue.load().services:
        agreed: list[object] = []  # the `when` of each consent step passed so far (None: every path)
        for step in service.steps:
            if step.kind == "consent":
                agreed.append(step.when)
            elif step.kind in COLLECTS:
                assert None in agreed or step.when in agreed, f"{service.id}/{step.id} before consent"
