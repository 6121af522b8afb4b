"""Signed synchronous look-ups for worker threads: violations, vehicle records, payments,
identity verification and request status.

Every call blocks (call it from a worker thread, never the UI thread) and either returns the
answer or raises :class:`~kiosk.errors.BackendUnavailable` (network, timeout, TLS, 429, 5xx: try
again later) or :class:`~kiosk.errors.BackendRejected` (other 4xx, including a refused signature,
which a retry will not fix, and any redirect: it is never followed, since ``requests`` would resend
the signed body, ID number included, to wherever ``Location`` points). Same signing, TLS and
timeout rules as delivery.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

import requests

from contract.signing import SigningKey
from kiosk.config.model import KioskConfig
from kiosk.errors import BackendRejected, BackendUnavailable
from kiosk.queue.delivery import check_url, http_options, redirect_refused, secure_session, signing_key


class BackendClient:
    """One kiosk's signed client of the backend's look-up API. Thread-safe enough for one worker
    thread per instance (``requests.Session`` is not guaranteed thread-safe: make one per thread)."""

    def __init__(
        self,
        base_url: str,
        key: SigningKey,
        *,
        ca_file: str | None = None,
        client_cert: tuple[str, str] | None = None,
        connect_timeout_s: float = 5.0,
        read_timeout_s: float = 10.0,
        on_exchange: Callable[[bool, str], None] | None = None,
    ) -> None:
        check_url(base_url)
        self._on_exchange = on_exchange  # (answered?, cause): the runtime's BackendLink
        self.base_url = base_url.rstrip("/")
        self._prefix = urlsplit(self.base_url).path
        self.key = key
        self.timeout = (connect_timeout_s, read_timeout_s)
        self.session = secure_session(ca_file, client_cert)

    @classmethod
    def from_config(cls, config: KioskConfig, url: str | None = None) -> BackendClient:
        """``url`` overrides ``backend.url`` (the local backend's address in demo mode)."""
        return cls(url or config.backend.url, signing_key(config), **http_options(config))

    def close(self) -> None:
        self.session.close()

    # -- the look-ups -------------------------------------------------------------------------

    def violations(self, *, id_number: str = "", plate: str = "") -> list[dict[str, Any]]:
        """Outstanding traffic violations for a person or a plate."""
        data = {"plate": plate} if plate else {"id_number": id_number}
        found: list[dict[str, Any]] = self._call("POST", "/v1/lookup/violations", data)["violations"]
        return found

    def vehicle(self, plate: str) -> dict[str, Any] | None:
        """The vehicle record, or None when the plate is unknown."""
        answer = self._call("POST", "/v1/lookup/vehicle", {"plate": plate}, not_found_ok=True)
        return None if answer is None else dict(answer["vehicle"])

    # the vehicle register (backend/vehicles.py): licences, health-check records, owners
    def licence(self, id_number: str) -> dict[str, Any] | None:
        """The driving licence of this ID number, or None when there is none."""
        answer = self._call("POST", "/v1/vehicles/licence", {"id_number": id_number}, not_found_ok=True)
        return None if answer is None else dict(answer["licence"])

    def health_check(self, id_number: str, record_no: str) -> dict[str, Any]:
        """Whether the electronic health-check record is this person's and passed."""
        return dict(
            self._call("POST", "/v1/vehicles/health-check", {"id_number": id_number, "record_no": record_no})
        )

    def owner_check(self, id_number: str, plate: str) -> dict[str, Any] | None:
        """Whether this person owns the vehicle (its record only for the owner); None: unknown plate."""
        answer = self._call(
            "POST", "/v1/vehicles/owner-check", {"id_number": id_number, "plate": plate}, not_found_ok=True
        )
        return None if answer is None else dict(answer)

    def household_member(self, id_number: str, member_id_number: str) -> dict[str, Any]:
        """Whether ``member_id_number`` is registered in the applicant's household: only that and
        why not (backend/households.py)."""
        data = {"id_number": id_number, "member_id_number": member_id_number}
        return dict(self._call("POST", "/v1/lookup/household", data))

    def create_payment(self, amount_fen: int, purpose: str, reference: str = "") -> dict[str, Any]:
        """A payment order: ``payment_id``, ``qr_text`` (show as a QR), ``status``."""
        return dict(
            self._call(
                "POST", "/v1/payments", {"amount_fen": amount_fen, "purpose": purpose, "reference": reference}
            )
        )

    def payment_status(self, payment_id: str) -> dict[str, Any]:
        """Poll an order: ``status`` is pending, paid or cancelled."""
        return dict(self._call("GET", f"/v1/payments/{payment_id}"))

    def cancel_payment(self, payment_id: str) -> dict[str, Any]:
        return dict(self._call("POST", f"/v1/payments/{payment_id}/cancel", {}))

    def pay_with_code(self, payment_id: str, code: str) -> dict[str, Any]:
        """Charge the payment code (付款码) the resident's phone shows, read by the kiosk's scanner:
        the order, ``paid`` or with ``error`` (declined, not_a_payment_code)."""
        return dict(self._call("POST", f"/v1/payments/{payment_id}/code", {"code": code}))

    # -- traffic fines (backend/fines.py) -------------------------------------------------------

    def fines_of_holder(self, id_number: str) -> dict[str, Any]:
        """The identified holder's licence (or None) and the violations of their vehicles."""
        return dict(self._call("POST", "/v1/fines/by-holder", {"id_number": id_number}))

    def fines_by_plate(self, plate: str) -> list[dict[str, Any]]:
        """What is outstanding on a plate: amounts and points, never when or where."""
        found: list[dict[str, Any]] = self._call("POST", "/v1/fines/by-plate", {"plate": plate})["violations"]
        return found

    def fine_by_decision(self, decision_no: str) -> dict[str, Any] | None:
        """A decided fine by its 决定书编号, or None when the number is unknown."""
        answer = self._call("POST", "/v1/fines/by-decision", {"decision_no": decision_no}, not_found_ok=True)
        return None if answer is None else dict(answer["fine"])

    def decide_fines(self, id_number: str, violation_ids: list[str]) -> dict[str, Any]:
        """Confirm violations: ``{"violations": [... with decision_no]}``, or ``{"error": code}``
        when the register refuses (points_full, not_theirs, no_licence, licence_not_valid)."""
        data = {"id_number": id_number, "violation_ids": violation_ids}
        return dict(self._call("POST", "/v1/fines/decide", data, conflict_ok=True))

    def settle_fines(self, decision_nos: list[str], payment_id: str) -> dict[str, Any]:
        """Mark decided fines paid by a paid order: ``{"ok": true}`` or ``{"error": code}``."""
        data = {"decision_nos": decision_nos, "payment_id": payment_id}
        return dict(self._call("POST", "/v1/fines/settle", data, conflict_ok=True))

    def verify_identity(
        self, id_number: str, name: str, photo_jpeg: bytes, *, request_id: str = "", purpose: str = ""
    ) -> dict[str, Any]:
        """Whether the live face is the registered holder of ``id_number``: ``verification_id``,
        ``verified``, ``reason`` and, on a match only, ``holder`` (and ``certificate`` claims). The
        live JPEG itself goes to the backend, which matches it against its register photo; a hash
        alone proves nothing about a face. ``request_id`` is the visit's request id when it has one
        (empty before submit), ``purpose`` the service id."""
        data = {
            "id_number": id_number,
            "name": name,
            "photo_jpeg_b64": base64.b64encode(photo_jpeg).decode("ascii"),
            "request_id": request_id,
            "purpose": purpose,
        }
        return dict(self._call("POST", "/v1/identity/verify", data))

    def heartbeat(self, doc: dict[str, Any]) -> None:
        """The kiosk's health and step analytics (kiosk/queue/heartbeat.py)."""
        self._call("POST", "/v1/heartbeat", doc)

    def alert(self, doc: dict[str, Any]) -> None:
        """A help alert (kiosk/queue/alerts.py): no personal data; the backend keeps one per alert_id."""
        self._call("POST", "/v1/alerts", doc)

    def request_status(self, request_id: str) -> dict[str, Any] | None:
        """A submitted request's status at the backend, or None if it has not arrived yet."""
        answer = self._call("GET", f"/v1/requests/{request_id}", not_found_ok=True)
        return None if answer is None else dict(answer)

    def request_by_number(self, number: str) -> dict[str, Any] | None:
        """The status of the request with this acceptance number (12 digits, 受理号), or None when
        the backend knows none (not arrived yet, or never made)."""
        answer = self._call("GET", f"/v1/requests/by-number/{number}", not_found_ok=True)
        return None if answer is None else dict(answer)

    def requests_by_holder(self, id_number: str) -> list[dict[str, Any]]:
        """The newest requests of the holder of the card just read on this kiosk's reader, masked by
        the backend (acceptance number, request type, status, dates). The ID number travels only in
        the signed body, never in a path or a log line."""
        doc = {"id_number": id_number, "source": "card_reader"}
        found: list[dict[str, Any]] = self._call("POST", "/v1/requests/by-holder", doc)["requests"]
        return found

    def requests_by_tail(self, tail: str) -> list[dict[str, Any]]:
        """Requests whose number ends in the 12 hex digits ``tail`` (the last group a resident may
        type instead of the whole number): none, one, or two when the digits are ambiguous."""
        found: list[dict[str, Any]] = self._call("GET", f"/v1/requests/by-tail/{tail.lower()}")["requests"]
        return found

    # -- plumbing -----------------------------------------------------------------------------

    def _call(
        self,
        method: str,
        path: str,
        data: dict[str, Any] | None = None,
        not_found_ok: bool = False,
        conflict_ok: bool = False,
    ) -> Any:
        body = json.dumps(data, ensure_ascii=False).encode("utf-8") if data is not None else b""
        headers = self.key.sign(method, self._prefix + path, body)
        if data is not None:
            headers["Content-Type"] = "application/json"
        try:
            try:
                resp = self.session.request(
                    method,
                    self.base_url + path,
                    data=body,
                    headers=headers,
                    timeout=self.timeout,
                    allow_redirects=False,
                )
            except requests.exceptions.SSLError as exc:
                raise BackendUnavailable(f"TLS failure talking to the backend: {exc}") from exc
            except requests.exceptions.Timeout as exc:
                raise BackendUnavailable(f"backend timed out on {path}") from exc
            except requests.exceptions.RequestException as exc:
                raise BackendUnavailable(f"backend unreachable: {type(exc).__name__}") from exc
            if resp.status_code == 429 or resp.status_code >= 500:
                raise BackendUnavailable(f"backend answered HTTP {resp.status_code} on {path}")
        except BackendUnavailable as exc:
            self._report(False, str(exc))
            raise
        redirected = 300 <= resp.status_code < 400
        self._report(True, f"HTTP {resp.status_code}" + (" (redirect refused)" if redirected else ""))
        if resp.status_code == 404 and not_found_ok:
            return None
        if resp.status_code == 409 and conflict_ok:  # a refusal the caller shows: {"error": code}
            try:
                return resp.json()
            except ValueError as exc:
                raise BackendRejected(f"backend refused {path}: HTTP 409 without JSON") from exc
        if redirected:
            raise BackendRejected(f"{redirect_refused(resp.headers.get('Location'))} (on {path})")
        if resp.status_code >= 400:
            raise BackendRejected(f"backend refused {path}: HTTP {resp.status_code} {resp.text[:200]}")
        try:
            return resp.json()
        except ValueError as exc:
            raise BackendUnavailable(f"backend sent something other than JSON on {path}") from exc

    def _report(self, answered: bool, detail: str) -> None:
        if self._on_exchange is not None:
            self._on_exchange(answered, detail)
