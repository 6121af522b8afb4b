"""Step widgets: one class per step kind the presentation layer can show.

``STEP_WIDGETS`` is the explicit kind -> widget table; the flow engine treats a service whose step
kinds are not all in it as not available yet. Modules are imported on first use (the photo step
brings OpenCV, which must not slow the first frame). Each widget gets ``flow`` and ``step``, calls
``app.step_done(values)`` when the resident finishes, and is a :class:`~screens.steps.base.StepWidget`:
it inherits :class:`~screens.steps.base.StepBase` and overrides ``next()``, ``back()`` (True when it
went back inside itself), ``refresh_texts()``, ``teardown()`` and ``wants_next`` as it needs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from screens.steps.base import StepWidget

STEP_WIDGETS: dict[str, str] = {
    "consent": "screens.steps.consent:ConsentStep",
    "form": "screens.steps.form:FormStep",
    "plate": "screens.steps.plate:PlateStep",
    "address": "screens.steps.address:AddressStep",
    "submit": "screens.steps.submit:SubmitStep",
    "take_photo": "screens.steps.photo:TakePhotoStep",
    "verify_identity": "screens.steps.lookups:VerifyIdentityStep",
    "face_check": "screens.steps.face_check:FaceCheckStep",
    "vehicle_lookup": "screens.steps.lookups:VehicleLookupStep",
    "violations": "screens.steps.lookups:ViolationsStep",
    "payment": "screens.steps.lookups:PaymentStep",
    "read_card": "screens.steps.read_card:ReadCardStep",
    "print": "screens.steps.printing:PrintingStep",
    "request_status": "screens.steps.status:RequestStatusStep",
    "licence_check": "screens.steps.vehicle_checks:LicenceCheckStep",
    "health_check": "screens.steps.vehicle_checks:HealthCheckStep",
    "owner_check": "screens.steps.vehicle_checks:OwnerCheckStep",
    "inspection_check": "screens.steps.vehicle_checks:InspectionCheckStep",
    "applicant_rules": "screens.steps.household:ApplicantRulesStep",
    "household_check": "screens.steps.household:HouseholdCheckStep",
    "fingerprint": "screens.steps.household:FingerprintStep",
}

KV_FILES: tuple[str, ...] = (
    "consent.kv",
    "form.kv",
    "plate.kv",
    "address.kv",
    "submit.kv",
    "photo.kv",
    "face_check.kv",
    "lookups.kv",
    "read_card.kv",
    "printing.kv",
    "status.kv",
    "vehicle_checks.kv",
    "household.kv",
)


def widget_class(kind: str) -> Callable[..., StepWidget]:
    """The widget class for a step kind, importing its module on first use."""
    module_name, _, class_name = STEP_WIDGETS[kind].partition(":")
    return cast("Callable[..., StepWidget]", getattr(importlib.import_module(module_name), class_name))
