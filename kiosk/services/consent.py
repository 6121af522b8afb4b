"""What a service's consent step tells the resident it collects (个人信息使用告知), from the steps
the service is made of, so the notice never promises less than the service takes.

The Personal Information Protection Law (《个人信息保护法》) counts biometric data (a face image, a
fingerprint) and identity numbers as sensitive personal information: processing it needs the
person's separate consent after being told what is taken and why (arts. 28, 29, 30). So the notice
names each kind the visit will collect, face and fingerprints first and on their own lines."""

from __future__ import annotations

from typing import Any

# the kinds of data, in the order the notice names them (biometric first: art. 29's separate notice)
KINDS = ("face", "fingerprint", "identity", "photo", "member", "phone", "address")
SENSITIVE = ("face", "fingerprint")

_BY_STEP_KIND = {
    "read_card": "identity",
    "face_check": "face",
    "take_photo": "photo",
    "fingerprint": "fingerprint",
    "household_check": "member",
    "address": "address",
}
_BY_FIELD_TYPE = {"id_number": "identity", "phone": "phone"}


def consent_items(service: Any) -> tuple[str, ...]:
    """The kinds of personal data ``service`` collects, in :data:`KINDS` order."""
    found: set[str] = set()
    for step in service.steps:
        kind = _BY_STEP_KIND.get(step.kind)
        if kind:
            found.add(kind)
        for field in step.fields:
            kind = _BY_FIELD_TYPE.get(field.type)
            if kind:
                found.add(kind)
    return tuple(k for k in KINDS if k in found)
