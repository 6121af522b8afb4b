"""Typed request and answer bodies of the backend's HTTP API (pydantic v2).

The OpenAPI document (``/openapi.json``, built by :func:`backend.asgi.create_app`) is generated
from these models; the submission's body schema is the wire contract's own JSON Schema
(``contract/schemas``), embedded as it is, since the kiosk validates against the same files.
Request bodies are parsed by the route after the signature verified (never before: an
unauthenticated client must not make the server read a body), with the checks the kiosk contract
tests pin; the models document those bodies and type the answers.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, Field


class Problem(BaseModel):
    error: str
    detail: str = ""


class Ok(BaseModel):
    ok: Literal[True]


class Receipt(BaseModel):
    request_id: str
    kiosk_id: str
    sequence: int = Field(ge=1)
    received_at: str
    status_path: str


class RequestStatus(BaseModel):
    request_id: str
    request_type: str
    status: Literal["received", "in_progress", "done", "rejected"]
    reason: str | None = None
    received_at: str
    updated_at: str | None = None
    acceptance_number: str | None = Field(
        default=None, description="受理号: 12 digits, last one a Damm check"
    )


class RequestsByTail(BaseModel):
    requests: list[RequestStatus] = Field(max_length=2)


class HolderRequest(BaseModel):
    """One of a card holder's requests, masked: no id, reason or personal data."""

    acceptance_number: str | None
    request_type: str
    status: Literal["received", "in_progress", "done", "rejected"]
    received_at: str
    updated_at: str | None = None


class RequestsByHolder(BaseModel):
    requests: list[HolderRequest] = Field(max_length=20)


class HolderQuery(BaseModel):
    id_number: str = Field(description="read from the card on the kiosk's reader")
    source: Literal["card_reader"]


class Violation(BaseModel):
    violation_id: str
    date: str
    amount_fen: int
    points: int
    decision_no: str | None = Field(default=None, description="决定书编号 of the penalty decision")


class Violations(BaseModel):
    violations: list[Violation]


class VehicleRecord(BaseModel):
    plate: str
    status: str


class Vehicle(BaseModel):
    vehicle: VehicleRecord


class Payment(BaseModel):
    payment_id: str = Field(pattern="^[0-9a-f]{32}$")
    status: Literal["pending", "paid", "cancelled"]
    amount_fen: int = Field(ge=1)
    qr_text: str | None = None
    fiscal_receipt_no: str | None = Field(default=None, description="财政电子票据号, once paid")
    error: str | None = Field(
        default=None, description="a payment code refused: declined | not_a_payment_code"
    )


class LicencePoints(BaseModel):
    """The licence as the fines look-up shows it: class, status and points of this cycle."""

    licence_class: str
    status: str
    points: int = Field(ge=0, le=12)
    points_left: int
    cycle_end: str


class FinesOfHolder(BaseModel):
    licence: LicencePoints | None
    violations: list[Violation]


class PlateViolation(BaseModel):
    """What a plate alone shows: never when, where or the decision number."""

    violation_id: str
    amount_fen: int
    points: int
    decided: bool


class PlateViolations(BaseModel):
    violations: list[PlateViolation]


class DecidedFine(BaseModel):
    fine: dict[str, Any] = Field(description="amount, points, decision_no and decided_at; no time or place")


class Verification(BaseModel):
    verification_id: str
    verified: bool
    reason: str
    holder: dict[str, Any] | None = None


class HouseholdAnswer(BaseModel):
    same_household: bool
    reason: Literal["", "applicant_unknown", "member_unknown", "different_household"]


class AlertStored(BaseModel):
    alert_id: str
    stored: Literal[True]


# -- request bodies -----------------------------------------------------------------------------


class LookupBody(BaseModel):
    id_number: str | None = None
    plate: str | None = None


class PaymentBody(BaseModel):
    amount_fen: int = Field(ge=1)
    purpose: str | None = None


class IdentityBody(BaseModel):
    id_number: str | None = None
    name: str | None = None
    photo_jpeg_b64: str | None = Field(
        default=None, description="the live face as a base64 JPEG; a request with only a digest is refused"
    )
    request_id: str | None = None
    purpose: str | None = Field(default=None, description="the service id the verification is for")


class DecisionBody(BaseModel):
    decision_no: str


class DecideBody(BaseModel):
    id_number: str
    violation_ids: list[str]


class SettleBody(BaseModel):
    decision_nos: list[str]
    payment_id: str


class PaymentCodeBody(BaseModel):
    code: str = Field(description="the resident's payment code (付款码) as the kiosk's scanner read it")


class HouseholdBody(BaseModel):
    id_number: str = Field(description="the applicant's, read from the card and face-checked")
    member_id_number: str = Field(description="the household member's the certificate is for")


class StepCount(BaseModel):
    service: str
    step: str
    outcome: str
    count: int = Field(ge=0, lt=2**31)


class Heartbeat(BaseModel):
    kiosk_id: str = Field(description="the kiosk the signing key belongs to")
    health: dict[str, Any]
    analytics: list[StepCount] = []


class TakeBody(BaseModel):
    worker: str | None = None


class FinishBody(BaseModel):
    reason: str | None = None


ANSWER_MODELS: tuple[type[BaseModel], ...] = (
    Problem,
    Ok,
    Receipt,
    RequestStatus,
    RequestsByTail,
    RequestsByHolder,
    Violations,
    Vehicle,
    Payment,
    Verification,
    AlertStored,
    FinesOfHolder,
    PlateViolations,
    DecidedFine,
    HouseholdAnswer,
)
BODY_MODELS: tuple[type[BaseModel], ...] = (
    LookupBody,
    PaymentBody,
    IdentityBody,
    HolderQuery,
    Heartbeat,
    TakeBody,
    FinishBody,
    DecisionBody,
    DecideBody,
    SettleBody,
    PaymentCodeBody,
    HouseholdBody,
)


# -- the vehicle register's look-ups (backend/vehicles.py) ------------------------------------------


class VehicleIdBody(BaseModel):
    id_number: str


class HealthCheckBody(BaseModel):
    id_number: str
    record_no: str = Field(description="the hospital's electronic health-check record number, 8-20 digits")


class OwnerCheckBody(BaseModel):
    id_number: str
    plate: str


class Licence(BaseModel):
    licence_no: str = Field(description="the licence number: the holder's ID number")
    name: str
    licence_class: str
    first_issued: str
    valid_from: str
    valid_to: str
    status: Literal["normal", "suspended", "revoked", "cancelled", "full_points"]
    points: int


class LicenceAnswer(BaseModel):
    licence: Licence


class HealthCheckRecord(BaseModel):
    record_no: str
    exam_date: str
    hospital: str


class HealthCheckAnswer(BaseModel):
    valid: bool
    reason: Literal["", "unknown_record", "not_passed"]
    record: HealthCheckRecord | None = None


class OwnedVehicle(BaseModel):
    plate: str
    plate_type: str
    brand: str
    colour: str
    use_type: Literal["non_commercial", "commercial"]
    body_type: str
    registered: str
    insurance_valid_to: str
    insurance_ok: bool
    violations_outstanding: int
    injury_accident: bool
    status: str


class OwnerCheckAnswer(BaseModel):
    owner: bool
    vehicle: OwnedVehicle | None = Field(default=None, description="only for the owner")
