"""Turn a finished session into the typed payload of its request (``contract/schemas/``).

``payload = {"applicant": {...}, "fields": {...}}``. The applicant comes from the ID card that was
read, or from the ID number typed in (identified by number and live photo). Fields are the
session's answers that the request type's schema declares, plus what steps produced: the payment
order, the identity verification, the violations chosen, the photo's code. The payload is checked
against its schema by the outbox at submit, so a malformed request is caught while the resident is
still at the terminal.
"""

from __future__ import annotations

from typing import Any

from contract.schemas import load_schema
from kiosk.services.catalogue import Service
from kiosk.visit.session import Session

HEALTH_FIELDS = ("vision_ok", "hearing_ok", "no_epilepsy", "no_heart_disease", "no_drugs")
SEX = {"男": "male", "女": "female", "未知": "unknown", "未说明": "unstated"}
# step results (session.artifacts) that become request fields
ARTIFACT_FIELDS = {
    "payment_id": ("payment", "payment_id"),
    "verification_id": ("verification", "verification_id"),
    "photo_code": ("photo", "photo_code"),
    "violation_ids": ("violations", "violation_ids"),
    "amount_fen": ("violations", "amount_fen"),
    "decision_nos": ("violations", "decision_nos"),
    "late_fee_fen": ("violations", "late_fee_fen"),
    "fiscal_receipt_no": ("payment", "fiscal_receipt_no"),
}


def applicant(session: Session) -> dict[str, Any]:
    """Who files the request: the card read, else the ID number typed in with a live photo."""
    card = session.identity
    if card is not None:
        card_type = getattr(card, "card_type", "")
        return {
            "card_type": getattr(card_type, "value", card_type) or "",
            "id_number": str(getattr(card, "id_number", "")),
            "name": str(getattr(card, "name", "")),
            "sex": SEX.get(str(getattr(card, "sex", "")), str(getattr(card, "sex", "") or "")),
            "nation": str(getattr(card, "nation", "") or ""),
            "birth_date": _iso(getattr(card, "birth_date", "")),
            "address": str(getattr(card, "address", "") or ""),
            "identified_by": "card",
        }
    if "id_number" in session.values:
        return {"id_number": str(session.values["id_number"]), "identified_by": "number_photo"}
    return {}


def guardian(session: Session) -> dict[str, Any]:
    """An under-16 applicant's guardian: their card (face-checked against it) and the relationship
    they stated (kiosk/steps/guardian.py)."""
    card = session.guardian
    checked = session.artifacts.get("guardian_face_check") or {}
    return {
        "id_number": str(getattr(card, "id_number", "")),
        "name": str(getattr(card, "name", "") or getattr(card, "name_en", "")),
        "relationship": str(session.values.get("guardian_relationship", "")),
        "face_checked": bool(checked),
    }


def _iso(value: Any) -> str:
    if not value:
        return ""
    iso = getattr(value, "isoformat", None)
    return str(iso()) if callable(iso) else str(value)


def _artifact(session: Session, source: str, attribute: str) -> Any:
    item = session.artifacts.get(source)
    if item is None:
        return None
    return item.get(attribute) if isinstance(item, dict) else getattr(item, attribute, None)


def build_payload(service: Service, session: Session) -> dict[str, Any]:
    """The request's payload, with exactly the fields its schema declares."""
    schema = load_schema(service.request_type, service.request_version)
    declared = schema["properties"]["fields"]["properties"]
    fields: dict[str, Any] = {}
    for name in declared:
        if name in session.values:
            fields[name] = session.values[name]
        elif name in ARTIFACT_FIELDS:
            value = _artifact(session, *ARTIFACT_FIELDS[name])
            if value is not None:
                fields[name] = value
        elif name in service.rules:  # a rule the request states (a temporary card's validity)
            fields[name] = service.rules[name]
    if "guardian" in declared and session.guardian is not None:
        fields["guardian"] = guardian(session)
    if "health" in declared:  # the questions this version asks (v2 of the renewal: the driver's own)
        asked = declared["health"].get("properties", {})
        fields["health"] = {
            name: session.values.get(name) == "yes" for name in HEALTH_FIELDS if name in asked
        }
    payload: dict[str, Any] = {"fields": fields}
    who = applicant(session)
    if who:
        payload["applicant"] = who
    return payload
