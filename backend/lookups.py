"""Look-ups the services need, with simulated data: the seam where a real police system plugs in.

Each adapter method takes the decoded JSON of a signed request and returns (HTTP status, answer).
A deployment replaces :class:`Lookups` with one that calls the real traffic-management, vehicle
registry, payment and identity systems; the routes and answer shapes stay the same.

    POST /v1/lookup/violations   {"id_number"} or {"plate"} -> {"violations": [...]}
    POST /v1/lookup/vehicle      {"plate"}                  -> {"vehicle": {...}} or 404
    POST /v1/payments            {"amount_fen", "purpose"}  -> {"payment_id", "qr_text", "status"}
    GET  /v1/payments/{id}                                  -> {"status": pending|paid|cancelled}
    POST /v1/payments/{id}/cancel                           -> {"status": "cancelled"}
    POST /v1/payments/{id}/code  {"code"}  pay with the phone's payment code (the kiosk's scanner)
    POST /v1/payments/{id}/simulate-paid   (test hook)      -> {"status": "paid"}
    POST /v1/identity/verify     {"id_number", "name", "photo_jpeg_b64", "request_id"?, "purpose"?}
                                 -> {"verification_id", "verified", "reason", "holder"?, ...}
                                 (the register and the face match: :mod:`backend.identity`)

Simulated data is derived from a hash of the input, so the same plate always has the same
violations. Payments go to a provider adapter (:mod:`backend.payments`; the simulated non-tax
platform pays after ``paid_after_polls`` polls and answers a fiscal e-receipt number). Identity
verification is not simulated: the live face is matched against the register photo (:mod:`backend.identity`).
"""

from __future__ import annotations

import hashlib
import re
from typing import TYPE_CHECKING, Any

from backend.payments import PaymentProvider, SimulatedNonTaxPlatform
from backend.register import id_check_ok

if TYPE_CHECKING:
    from backend.fines import FinesRegister
    from backend.identity import IdentityVerifier
    from backend.store import Store

_PAY_RE = re.compile(r"^/v1/payments/([0-9a-f]{32})(/cancel|/simulate-paid|/code)?$")
_OFFENCES = [
    ("闯红灯", "Running a red light", 20000, 6),
    ("超速行驶未超过20%", "Speeding under 20%", 20000, 3),
    ("违反禁止标线指示", "Ignoring road markings", 10000, 1),
    ("违法停车", "Illegal parking", 15000, 0),
]

__all__ = ["Lookups", "id_check_ok"]


def _seed(text: str) -> bytes:
    return hashlib.sha256(text.encode("utf-8")).digest()


class Lookups:
    """Simulated adapters; thread-safe (payments live in memory)."""

    def __init__(
        self,
        paid_after_polls: int = 3,
        identity: IdentityVerifier | None = None,
        payments: PaymentProvider | None = None,
    ) -> None:
        self.paid_after_polls = paid_after_polls
        self.identity = identity
        self.payments: PaymentProvider = payments or SimulatedNonTaxPlatform(paid_after_polls)
        self.fines: FinesRegister | None = None  # the traffic-management stand-in (backend/fines.py)

    def bind(self, store: Store) -> None:
        """Use ``store`` for identity verification unless a verifier was given (the default: the
        register in that store, dlib's matcher, no certificate key)."""
        if self.identity is None:
            from backend.identity import IdentityVerifier
            from backend.register import Register, matcher_factory

            self.identity = IdentityVerifier(store, Register(store, matcher_factory()))
        if self.fines is None:
            from backend.fines import FinesRegister

            self.fines = FinesRegister(store)

    def handle(
        self, method: str, path: str, data: dict[str, Any], kiosk_id: str = ""
    ) -> tuple[int, dict[str, Any]]:
        """Route a signed look-up; ``kiosk_id`` is the id of the key that signed it."""
        path = path.split("?", 1)[0]
        if method == "POST" and path == "/v1/lookup/violations":
            return self.violations(data)
        if method == "POST" and path == "/v1/lookup/vehicle":
            return self.vehicle(data)
        if method == "POST" and path == "/v1/payments":
            return self.create_payment(data)
        if method == "POST" and path == "/v1/identity/verify":
            return self.verify_identity(data, kiosk_id)
        m = _PAY_RE.match(path)
        if m:
            return self.payment(m.group(1), method, m.group(2) or "", data)
        return 404, {"error": "not_found"}

    def violations(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        subject = str(data.get("plate") or data.get("id_number") or "")
        if not subject:
            return 400, {"error": "plate_or_id_number_required"}
        seed = _seed(subject)
        found = []
        for i in range(seed[0] % 4):
            zh, en, fen, points = _OFFENCES[seed[i + 1] % len(_OFFENCES)]
            found.append(
                {
                    "violation_id": f"V{seed[i + 5]:03d}{seed[i + 9]:03d}{i}",
                    "date": f"2026-{1 + seed[i + 2] % 9:02d}-{1 + seed[i + 3] % 28:02d}",
                    "place_zh": "示例路与测试街交叉口",
                    "place_en": "Example Rd at Test St",
                    "description_zh": zh,
                    "description_en": en,
                    "amount_fen": fen,
                    "points": points,
                    # the penalty decision's number (处罚决定书编号), as the resident's notice shows it
                    "decision_no": f"1101{seed[i + 4]:04d}{seed[i + 6]:04d}{seed[i + 8]:04d}{i}",
                }
            )
        return 200, {"violations": found}

    def vehicle(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        plate = str(data.get("plate", ""))
        if not plate:
            return 400, {"error": "plate_required"}
        seed = _seed(plate)
        if seed[0] % 10 == 0:
            return 404, {"error": "unknown_plate"}
        return 200, {
            "vehicle": {
                "plate": plate,
                "plate_type": "new_energy_small" if len(plate) == 8 else "small",
                "brand": ["示例牌", "测试牌"][seed[1] % 2],
                "colour": ["白", "黑", "蓝"][seed[2] % 3],
                "registered": f"20{10 + seed[3] % 15}-0{1 + seed[4] % 9}-15",
                "status": "normal",
            }
        }

    def create_payment(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        amount = data.get("amount_fen")
        if not isinstance(amount, int) or isinstance(amount, bool) or amount <= 0:  # JSON true is no amount
            return 400, {"error": "amount_fen_must_be_positive"}
        if not isinstance(data.get("purpose", ""), str):
            return 400, {"error": "purpose_must_be_text"}
        return 201, self.payments.create(amount, str(data.get("purpose", "")), str(data.get("reference", "")))

    def payment_status(self, payment_id: str) -> dict[str, Any] | None:
        """A payment's status and amount for the staff console, without counting as a poll."""
        found = self.payments.status(payment_id, poll=False)
        return None if found is None else {"status": found["status"], "amount_fen": found["amount_fen"]}

    def payment(
        self, payment_id: str, method: str, action: str, data: dict[str, Any] | None = None
    ) -> tuple[int, dict[str, Any]]:
        if action == "/cancel" and method == "POST":
            found = self.payments.cancel(payment_id)
        elif action == "/simulate-paid" and method == "POST":
            found = self.payments.mark_paid(payment_id)
        elif action == "/code" and method == "POST":
            code = (data or {}).get("code")
            if not isinstance(code, str) or not code:
                return 400, {"error": "code_required"}
            found = self.payments.pay_with_code(payment_id, code.strip())
        elif not action and method == "GET":
            found = self.payments.status(payment_id)
        else:
            return 405, {"error": "method_not_allowed"}
        return (404, {"error": "unknown_payment"}) if found is None else (200, found)

    def verify_identity(self, data: dict[str, Any], kiosk_id: str = "") -> tuple[int, dict[str, Any]]:
        """The live face against the register (:meth:`backend.identity.IdentityVerifier.verify`)."""
        if self.identity is None:
            return 503, {"error": "identity_unavailable", "detail": "no register is configured"}
        return self.identity.verify(data, kiosk_id)
