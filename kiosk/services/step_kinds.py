"""The kinds of step a service may use, and what each needs to run.

The flow engine runs any service built from these kinds. A kind needs the device roles listed
here (a service using it is disabled while one is down) and possibly the backend. Whether a kind
can be shown at all is decided by the presentation layer, which tells the engine which kinds it
has a screen for (``ready_kinds``); a service using a kind without one is shown disabled.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class StepKind:
    name: str
    devices: tuple[str, ...] = ()
    backend: bool = False
    collects_personal_data: bool = False
    produces: tuple[str, ...] = ()  # session values it sets that later steps' ``when`` may test


STEP_KINDS: dict[str, StepKind] = {
    k.name: k
    for k in (
        StepKind("consent"),
        StepKind("form"),
        StepKind("review"),
        StepKind("done"),
        StepKind("read_card", devices=("card_reader",), collects_personal_data=True),
        StepKind("take_photo", devices=("camera",), collects_personal_data=True),
        StepKind("plate"),
        StepKind("address", collects_personal_data=True),  # the card's address or region lists
        StepKind("verify_identity", backend=True),
        # 人证核验 (kiosk/steps/face_check.py): the camera always; the backend only when the match is
        # at the register (no card, or identity.match = register | both), so a service without a
        # card lists "backend" itself, and a card service keeps working offline in "card" mode
        StepKind("face_check", devices=("camera",), collects_personal_data=True),
        StepKind("vehicle_lookup", backend=True),
        StepKind("violations", backend=True),
        StepKind("payment", backend=True),
        StepKind("submit", backend=False),  # the outbox is local; delivery happens later
        StepKind("print", devices=("printer",)),
        StepKind("request_status", backend=True),  # camera optional: the number can be typed
        # the vehicle register (kiosk/steps/licence.py, kiosk/steps/vehicle_owner.py)
        StepKind("licence_check", backend=True),  # the licence and its renewal window
        StepKind("health_check", backend=True, collects_personal_data=True),  # 电子体检 record number
        StepKind("owner_check", backend=True),  # the resident is the vehicle's registered owner
        StepKind("inspection_check", backend=True),  # owner, exemption, insurance, violations
        # issue #19, household (kiosk/steps/household_rules.py, household_check.py, fingerprint.py):
        # the applicant's age and card window; "applicant_minor" = yes sends a guardian's steps
        StepKind("applicant_rules", produces=("applicant_minor",)),
        StepKind("household_check", backend=True, collects_personal_data=True),
        # the collector is optional: without one the request says fingerprints are taken at pick-up
        StepKind("fingerprint", collects_personal_data=True),
    )
}
