"""Identity verification (人证核验) for services without a card: the live face against the register.

``POST /v1/identity/verify`` (signed) carries the number typed at the kiosk and the live JPEG::

    {"id_number", "name", "photo_jpeg_b64", "request_id"?, "purpose"?}
    -> 200 {"verification_id", "verified", "reason", "holder"?, "similarity"?, "certificate"?}

``reason`` is "" on a match, else one of ``REASONS``. Holder data (name, nation, address) and the
similarity come only with a match. A request without the photo itself (only ``photo_sha256``, as
kiosks before this change sent, or nothing) is answered ``photo_missing``: a hash proves nothing
about a face. For a certificate service (``CERTIFICATE_SERVICES``) with a ``request_id``, a match
also carries ``certificate``: the claims signed with the backend's certificate key
(:mod:`backend.certificates`), which the kiosk prints as they are.

Failed verifications (``COUNTED``: a face that is not the holder's, a number nobody holds) are
limited per ID number and per kiosk: ``max_failures`` within ``window_s`` (default 5 an hour) and
further attempts, even with the right face, are ``too_many_attempts`` until the window has moved
on (exact within a process: the check, the match and the record are serialised). Every attempt
is audited in ``identity_audit`` (kiosk key id, masked number, outcome, time);
the live photo and its template exist only in memory for the request.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets
import threading
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from backend.certificates import CertificateIssuer, KeyRingError
from backend.register import Register, RegisterError, Resident, id_check_ok, mask_number
from backend.store import Store, utc_now

log = logging.getLogger(__name__)

REASONS = (
    "id_number_invalid",
    "photo_missing",
    "photo_unusable",
    "photo_mismatch",
    "no_record",
    "too_many_attempts",
)
COUNTED = frozenset({"photo_mismatch", "no_record"})  # the failures the rate limit counts
CERTIFICATE_SERVICES = frozenset({"temp-id-certificate"})
_TEXT_FIELDS = ("id_number", "name", "photo_jpeg_b64", "photo_sha256", "request_id", "purpose")
MAX_REQUEST_ID = 64


@dataclass(frozen=True)
class RateLimit:
    """At most ``max_failures`` counted failures per ID number and per kiosk in ``window_s``."""

    max_failures: int = 5
    window_s: float = 3600.0


class IdentityVerifier:
    """The route's logic: :meth:`verify` takes the decoded JSON and the authenticated kiosk (its key
    id) and answers (HTTP status, JSON object). Thread-safe."""

    def __init__(
        self,
        store: Store,
        register: Register,
        *,
        limit: RateLimit | None = None,
        issuer: CertificateIssuer | None = None,
        enrol_file: Path | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.store = store
        self.register = register
        self.limit = limit or RateLimit()
        self.issuer = issuer
        self.clock = clock
        self._enrol_file = enrol_file  # enrolled before the first verification, then forgotten
        self._enrol_lock = threading.Lock()
        self._serial = threading.Lock()
        self._pepper = b""

    # -- the route --------------------------------------------------------------------------------

    def verify(self, data: Mapping[str, Any], kiosk_id: str) -> tuple[int, dict[str, Any]]:
        verification_id = uuid.uuid4().hex
        bad = [k for k in _TEXT_FIELDS if k in data and not isinstance(data[k], str)]
        number = str(data.get("id_number", "")).strip().upper() if not bad else ""
        purpose = str(data.get("purpose", "")) if not bad else ""
        request_id = str(data.get("request_id", "")) if not bad else ""
        audit = _Audit(verification_id, kiosk_id, number, purpose[:64], request_id[:MAX_REQUEST_ID])
        if bad or len(request_id) > MAX_REQUEST_ID or "|" in request_id:
            self._record(audit, "invalid_body")
            detail = (
                f"{', '.join(bad)} must be text" if bad else f"request_id: at most {MAX_REQUEST_ID}, no '|'"
            )
            return 400, {"error": "invalid_body", "detail": detail}
        if purpose in CERTIFICATE_SERVICES and self.issuer is None:
            log.error("identity: a %s was asked for but no certificate key is configured", purpose)
            self._record(audit, "certificate_signing_unavailable")
            return 503, {"error": "certificate_signing_unavailable"}

        def refused(reason: str) -> tuple[int, dict[str, Any]]:
            self._record(audit, reason)
            log.info("identity %s for %s at %s: %s", verification_id, mask_number(number), kiosk_id, reason)
            return 200, {"verification_id": verification_id, "verified": False, "reason": reason}

        if not id_check_ok(number):
            return refused("id_number_invalid")
        photo_b64 = str(data.get("photo_jpeg_b64", ""))
        if not photo_b64:
            return refused("photo_missing")  # a photo_sha256 alone is no photo
        # the limit's check and the attempt's record as one step in this process (dlib serialises
        # matching anyway), so racing requests cannot slip past the limit; across several
        # PostgreSQL ingest processes two racing requests may each still pass once
        with self._serial:
            if self._too_many(number, kiosk_id):
                return refused("too_many_attempts")
            try:
                photo = base64.b64decode(photo_b64, validate=True)
            except (binascii.Error, ValueError):
                return refused("photo_unusable")
            try:
                self._enrol_pending()
                resident = self.register.get(number)
                if resident is None:
                    return refused("no_record")
                similarity = self._similarity(photo, resident)
            except _Unusable:
                return refused("photo_unusable")
            except (RegisterError, KeyRingError, RuntimeError) as exc:  # MatcherUnavailable is a RuntimeError
                log.error("identity: cannot verify: %s", exc)
                self._record(audit, "face_matcher_unavailable")
                return 503, {"error": "face_matcher_unavailable", "detail": str(exc)}
            if similarity < self.register.matcher.threshold:
                audit.similarity = similarity
                return refused("photo_mismatch")
            answer: dict[str, Any] = {
                "verification_id": verification_id,
                "verified": True,
                "reason": "",
                "holder": resident.holder(),
                "similarity": round(similarity, 4),
            }
            if purpose in CERTIFICATE_SERVICES and request_id and self.issuer is not None:
                answer["certificate"] = self.issuer.issue(
                    request_id=request_id, kiosk_id=kiosk_id, id_number=resident.id_number,
                    name=resident.name, photo_sha256=hashlib.sha256(photo).hexdigest(),
                )  # fmt: skip
            audit.similarity = similarity
            self._record(audit, "verified")
            log.info("identity %s for %s at %s: verified", verification_id, mask_number(number), kiosk_id)
            return 200, answer

    # -- parts ------------------------------------------------------------------------------------

    def _similarity(self, photo: bytes, resident: Resident) -> float:
        from contract.faces import FaceUnusable, decode_image

        matcher = self.register.matcher
        try:
            live = matcher.template(decode_image(photo))
        except FaceUnusable as exc:
            raise _Unusable(exc.reason) from exc
        return float(matcher.similarity(live, self.register.template(resident)))

    def enrol_in_background(self) -> None:
        """Start enrolling the pending residents now, on a daemon thread (the demo backend at start:
        loading the face model and making the templates takes seconds, which the first verification
        would otherwise spend inside the kiosk's read timeout). A verification arriving meanwhile
        waits for it on the lock."""
        if self._enrol_file is not None:
            threading.Thread(target=self._enrol_pending, name="register-enrol", daemon=True).start()

    def _enrol_pending(self) -> None:
        with self._enrol_lock:
            if self._enrol_file is None:
                return
            added = self.register.enrol_file(self._enrol_file)
            if added:
                log.info("register: enrolled %d demo resident(s) from %s", len(added), self._enrol_file)
            self._enrol_file = None

    def _digest(self, number: str) -> str:
        """A keyed digest of the number: failures are counted per number without keeping it (a plain
        SHA-256 of an 18-digit number with a known structure is reversed by trying them all)."""
        if not self._pepper:
            with self.store.transaction() as cur:
                self.store._exec(
                    cur,
                    "INSERT INTO identity_meta (name, value) VALUES ('audit_pepper', ?)"
                    " ON CONFLICT DO NOTHING",
                    (secrets.token_hex(32),),
                )
                row = self.store._exec(
                    cur, "SELECT value FROM identity_meta WHERE name = 'audit_pepper'"
                ).fetchone()
            self._pepper = bytes.fromhex(row[0])
        return hmac.new(self._pepper, number.encode("utf-8"), hashlib.sha256).hexdigest()

    def _too_many(self, number: str, kiosk_id: str) -> bool:
        since = self.clock() - self.limit.window_s
        digest = self._digest(number)
        with self.store.transaction() as cur:
            by_number = self.store._exec(
                cur,
                "SELECT count(*) FROM identity_audit WHERE id_digest = ? AND at_ts > ? AND counts",
                (digest, since),
            ).fetchone()[0]
            by_kiosk = self.store._exec(
                cur,
                "SELECT count(*) FROM identity_audit WHERE kiosk_id = ? AND at_ts > ? AND counts",
                (kiosk_id, since),
            ).fetchone()[0]
        return bool(by_number >= self.limit.max_failures or by_kiosk >= self.limit.max_failures)

    def _record(self, audit: _Audit, outcome: str) -> None:
        digest = self._digest(audit.number)  # before the transaction: it may open one itself
        with self.store.transaction() as cur:
            self.store._exec(
                cur,
                "INSERT INTO identity_audit (verification_id, at_ts, at_utc, kiosk_id, id_masked, id_digest,"
                " purpose, request_id, outcome, counts, similarity) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    audit.verification_id, self.clock(), utc_now(), audit.kiosk_id,
                    mask_number(audit.number[:32]), digest, audit.purpose,
                    audit.request_id, outcome, outcome in COUNTED, audit.similarity,
                ),
            )  # fmt: skip


class _Unusable(Exception):
    """The live photo gives no template (no face, two faces, too small, unreadable)."""


@dataclass
class _Audit:
    verification_id: str
    kiosk_id: str
    number: str
    purpose: str
    request_id: str
    similarity: float | None = None


def audit_rows(store: Store, limit: int = 100) -> list[dict[str, Any]]:
    """The latest audit rows, newest first (``kiosk-backend register audit``)."""
    with store.transaction() as cur:
        rows = store._exec(
            cur,
            "SELECT verification_id, at_utc, kiosk_id, id_masked, purpose, request_id, outcome, counts,"
            f" similarity FROM identity_audit ORDER BY at_ts DESC LIMIT {int(limit)}",
        ).fetchall()
    keys = (
        "verification_id", "at", "kiosk_id", "id_masked", "purpose", "request_id", "outcome", "counts",
        "similarity",
    )  # fmt: skip
    out = []
    for row in rows:
        item = dict(zip(keys, row, strict=True))
        item["counts"] = bool(item["counts"])
        out.append(item)
    return out
