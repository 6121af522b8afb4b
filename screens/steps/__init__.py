"""Step widgets: one class per step kind the presentation layer can show.

``STEP_WIDGETS`` is the explicit kind -> widget table; the flow engine treats a service whose step
kinds are not all in it as not available yet. Each widget gets ``flow`` and ``step``, calls
``app.step_done(values)`` when the resident finishes, and may implement ``back()`` (return True
when it went back inside itself), ``refresh_texts()`` and ``teardown()``.
"""

from __future__ import annotations

from typing import Any

from screens.steps.consent import ConsentStep
from screens.steps.form import FormStep
from screens.steps.lookups import PaymentStep, VehicleLookupStep, VerifyIdentityStep, ViolationsStep
from screens.steps.photo import TakePhotoStep
from screens.steps.plate import PlateStep
from screens.steps.submit import SubmitStep

STEP_WIDGETS: dict[str, Any] = {
    "consent": ConsentStep,
    "form": FormStep,
    "plate": PlateStep,
    "submit": SubmitStep,
    "take_photo": TakePhotoStep,
    "verify_identity": VerifyIdentityStep,
    "vehicle_lookup": VehicleLookupStep,
    "violations": ViolationsStep,
    "payment": PaymentStep,
}

KV_FILES: tuple[str, ...] = ("consent.kv", "form.kv", "plate.kv", "submit.kv", "photo.kv", "lookups.kv")
