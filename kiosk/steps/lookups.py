"""Kivy-free engines of the steps that ask the backend something: identity verification, the
vehicle record; outstanding traffic violations are :mod:`kiosk.steps.fines` (payment is
:mod:`kiosk.steps.payment`).

Each engine takes its events as method calls (``start``, ``retry``, a touch such as ``toggle`` or
``confirm``, ``leave``) and answers with an immutable state value through ``on_change``; the step
widget only draws that state and forwards touches. The backend is reached through an injected
client factory (a fresh signed client per call, closed after it) on an injected runner with the
interface of :class:`kiosk.work.Tasks`, so unit tests run every transition synchronously.

Outcomes are calm values, never a spinner left turning: an unreachable backend is ``offline`` (try
again), a refusal or an answer missing what it must carry is ``refused`` (the way forward is the
service counter), and ``done`` tells the widget to move the flow on.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from kiosk.steps.backend_step import (
    ANSWERED,
    DONE,
    REFUSED,
    BackendEngine,
    Closable,
    LookupState,
    MalformedAnswer,
    Runner,
    Visit,
)
from kiosk.steps.fines import ViolationsEngine, ViolationsState

log = logging.getLogger(__name__)


class IdentityClient(Closable, Protocol):
    def verify_identity(
        self, id_number: str, name: str, photo_jpeg: bytes, *, request_id: str = "", purpose: str = ""
    ) -> dict[str, Any]: ...


class VehicleClient(Closable, Protocol):
    def vehicle(self, plate: str) -> dict[str, Any] | None: ...


# -- identity verification ------------------------------------------------------------------------


@dataclass(frozen=True)
class Verification:
    verified: bool
    verification_id: str = ""
    holder: Mapping[str, Any] = field(default_factory=dict)
    reason: str = ""
    certificate: Mapping[str, Any] = field(default_factory=dict)  # the claims the backend signed


def verification_of(answer: Mapping[str, Any]) -> Verification:
    """The backend's verification answer, checked: a "verified" without its id is no verification."""
    if not isinstance(answer, Mapping) or "verified" not in answer:
        raise MalformedAnswer("identity answer without 'verified'")
    if not answer["verified"]:
        return Verification(False, reason=str(answer.get("reason") or ""))
    if not answer.get("verification_id"):
        raise MalformedAnswer("identity verified without a 'verification_id'")
    holder = answer.get("holder") or {}
    if not isinstance(holder, Mapping):
        raise MalformedAnswer("identity answer with a 'holder' that is not an object")
    certificate = answer.get("certificate") or {}
    if not isinstance(certificate, Mapping):
        raise MalformedAnswer("identity answer with a 'certificate' that is not an object")
    return Verification(True, str(answer["verification_id"]), dict(holder), certificate=dict(certificate))


def identity_number(visit: Visit) -> str:
    """The ID number to verify: the one typed, else the card's."""
    return str(visit.values.get("id_number", getattr(visit.identity, "id_number", "")))


def identity_name(visit: Visit) -> str:
    """The name the card states (empty when the number was typed)."""
    return str(getattr(visit.identity, "name", "") or "")


class VerifyIdentityEngine(BackendEngine[LookupState]):
    """The backend checks the ID number against the live photo (the JPEG itself, never only its
    hash); on a match the registered holder data goes into ``artifacts["verification"]``. Services
    now verify in their ``face_check`` step (:mod:`kiosk.steps.face_check`), which checks liveness
    first; this kind stays for site catalogues that still name it."""

    kind = "verify_identity"

    def __init__(
        self,
        visit: Visit,
        clients: Callable[[], Any],
        tasks: Runner,
        on_change: Callable[[LookupState], None] | None = None,
    ) -> None:
        super().__init__(clients, tasks, LookupState(), on_change)
        self.visit = visit

    def start(self) -> None:
        number, photo = identity_number(self.visit), self.visit.photo_jpeg
        if not photo:  # nothing to compare a face with: no question worth asking
            self._set(phase=REFUSED, message_key="lookup.not_verified")
            return

        def ask(client: IdentityClient) -> Verification:
            answer = client.verify_identity(
                number,
                identity_name(self.visit),
                photo,
                purpose=str(getattr(self.visit, "service_id", "") or ""),
            )
            return verification_of(answer)

        self._call(ask, self._answer, "lookup.verifying")

    def _answer(self, answer: Verification) -> None:
        if answer.verified:
            self.visit.artifacts["verification"] = {
                "verification_id": answer.verification_id,
                "holder": dict(answer.holder),  # the registered data the certificate states
                "certificate": dict(answer.certificate),
            }
            self._set(phase=DONE, message_key="")
        else:
            log.info("identity not verified: %s", answer.reason)
            self._set(phase=REFUSED, message_key="lookup.not_verified")


# -- vehicle record -------------------------------------------------------------------------------

VEHICLE_ROWS = (
    ("lookup.plate", "plate"),
    ("lookup.brand", "brand"),
    ("lookup.colour", "colour"),
    ("lookup.registered", "registered"),
)


@dataclass(frozen=True)
class VehicleState(LookupState):
    rows: tuple[tuple[str, str], ...] = ()  # (label message key, value) once a record was found


class VehicleLookupEngine(BackendEngine[VehicleState]):
    """The vehicle registered under the plate typed before: the resident confirms it is theirs."""

    kind = "vehicle_lookup"

    def __init__(
        self,
        visit: Visit,
        clients: Callable[[], Any],
        tasks: Runner,
        on_change: Callable[[VehicleState], None] | None = None,
    ) -> None:
        super().__init__(clients, tasks, VehicleState(), on_change)
        self.visit = visit

    def start(self) -> None:
        plate = str(self.visit.values.get("plate", ""))

        def ask(client: VehicleClient) -> dict[str, Any] | None:
            record = client.vehicle(plate)
            if record is not None and not isinstance(record, Mapping):
                raise MalformedAnswer("vehicle record that is not an object")
            return record

        self._call(ask, self._answer, "lookup.vehicle_busy")

    def _answer(self, record: dict[str, Any] | None) -> None:
        if record is None:
            self._set(phase=REFUSED, message_key="lookup.vehicle_unknown", rows=())
            return
        self.visit.artifacts["vehicle"] = record
        rows = tuple((label, str(record.get(key, ""))) for label, key in VEHICLE_ROWS)
        self._set(phase=ANSWERED, message_key="lookup.vehicle_confirm", rows=rows)

    def confirm(self) -> None:
        """The resident says: this is my vehicle."""
        if self.state.rows and not self.left:
            self._set(phase=DONE)


# -- outstanding violations: processed, not only paid (kiosk/steps/fines.py) ----------------------

__all__ = ["ViolationsEngine", "ViolationsState"]
