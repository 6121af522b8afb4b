"""Certificates the kiosk cannot forge: the backend signs the claims, the kiosk prints them as a QR.

After a successful identity verification for a certificate service, the backend signs the
certificate's claims with its Ed25519 certificate key; the kiosk prints the claims and this text as
the QR, and ``kiosk-tech verify-qr`` checks it with the backend's *public* key only.

Text form (the QR's content): ``KC1.<payload>.<signature>``, both base32 without padding, so the
whole text is in the QR alphanumeric set. The payload is UTF-8, fields joined by ``|`` in this order:

    key_id | request_id | kiosk_id | issued_unix | valid_until | id_number | name | photo_sha256

``key_id`` names the signing key (the first 40 bits of SHA-256 over its raw public key, base32), so
a verifier holding several public keys (after a rotation) knows which one to use, and a key file
whose ids were swapped is noticed. The signature covers ``b"KC1." + payload``. One spelling only is
accepted (base32 ignores the low bits of its last character), so no altered text verifies.
"""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

PREFIX = "KC1"
FIELDS = (
    "key_id",
    "request_id",
    "kiosk_id",
    "issued_at",
    "valid_until",
    "id_number",
    "name",
    "photo_sha256",
)
# reasons a check gives (a stable word each; kiosk-tech verify-qr prints them)
REASONS = ("ok", "malformed", "unknown_key", "bad_signature", "expired", "wrong_holder")
_SHA256_HEX = re.compile(r"[0-9a-f]{64}")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_KEY_ID_LINE = "Key-Id:"


def _b32(data: bytes) -> str:
    return base64.b32encode(data).rstrip(b"=").decode("ascii")


def _unb32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def key_id_of(public_key: Ed25519PublicKey) -> str:
    """The key's id: 8 base32 characters of SHA-256 over its raw 32 bytes."""
    return _b32(hashlib.sha256(public_key.public_bytes_raw()).digest()[:5])


@dataclass(frozen=True)
class CertificateClaims:
    """What the backend vouches for; ``issued_at`` is Unix seconds, ``valid_until`` YYYY-MM-DD."""

    key_id: str
    request_id: str
    kiosk_id: str
    issued_at: int
    valid_until: str
    id_number: str
    name: str
    photo_sha256: str

    def __post_init__(self) -> None:
        for name in FIELDS:
            value = getattr(self, name)
            if isinstance(value, str) and ("|" in value or "\n" in value):
                raise ValueError(f"certificate claim {name} must not contain '|' or a line break")
        if not _SHA256_HEX.fullmatch(self.photo_sha256):
            raise ValueError("photo_sha256 must be 64 lower-case hex digits")
        if not _DATE.fullmatch(self.valid_until):
            raise ValueError("valid_until must be YYYY-MM-DD")
        date.fromisoformat(self.valid_until)  # ValueError on 2026-02-30

    def encode(self) -> bytes:
        return "|".join(str(getattr(self, name)) for name in FIELDS).encode("utf-8")

    @classmethod
    def decode(cls, payload: bytes) -> CertificateClaims:
        """Raises ValueError (UnicodeDecodeError included) on anything but a well-formed payload."""
        parts = payload.decode("utf-8").split("|")
        if len(parts) != len(FIELDS):
            raise ValueError(f"{len(parts)} fields, {len(FIELDS)} expected")
        values = dict(zip(FIELDS, parts, strict=True))
        issued = values.pop("issued_at")
        if not issued.isdigit():
            raise ValueError("issued_at is not Unix seconds")
        return cls(issued_at=int(issued), **values)

    def as_dict(self) -> dict[str, str | int]:
        return {name: getattr(self, name) for name in FIELDS}

    def issued_datetime(self) -> datetime:
        return datetime.fromtimestamp(self.issued_at, UTC)


@dataclass(frozen=True)
class CertificateCheck:
    """``valid`` or not, ``reason`` (one of ``REASONS``) and the claims when they could be read."""

    valid: bool
    reason: str
    claims: CertificateClaims | None = None


def sign_certificate(claims: CertificateClaims, key: Ed25519PrivateKey) -> str:
    """The QR text of ``claims`` signed with ``key`` (whose id must be ``claims.key_id``)."""
    if key_id_of(key.public_key()) != claims.key_id:
        raise ValueError("claims.key_id is not the id of the signing key")
    payload = claims.encode()
    return f"{PREFIX}.{_b32(payload)}.{_b32(key.sign(PREFIX.encode() + b'.' + payload))}"


def _split(text: str) -> tuple[bytes, bytes] | None:
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return None
    try:
        payload, signature = _unb32(parts[1]), _unb32(parts[2])
    except ValueError:
        return None
    if _b32(payload) != parts[1] or _b32(signature) != parts[2]:
        return None
    return payload, signature


def read_claims(text: str) -> CertificateClaims:
    """The claims in a certificate text, *without* checking the signature (the kiosk prints them as
    the backend signed them; only :func:`verify_certificate` says whether they are genuine).
    Raises ValueError when the text is not a certificate."""
    split = _split(text)
    if split is None:
        raise ValueError("not a KC1 certificate text")
    return CertificateClaims.decode(split[0])


def verify_certificate(
    text: str,
    public_keys: Mapping[str, Ed25519PublicKey],
    *,
    today: date | None = None,
    holder: Mapping[str, str] | None = None,
) -> CertificateCheck:
    """Check ``text`` with the public keys by id: the signature first, then (given ``today``)
    the validity date, then (given ``holder``: ``name`` and/or ``id_number`` as printed on the
    paper) that the claims are that person's."""
    split = _split(text)
    if split is None:
        return CertificateCheck(False, "malformed")
    payload, signature = split
    try:
        claims = CertificateClaims.decode(payload)
    except ValueError:
        return CertificateCheck(False, "malformed")
    key = public_keys.get(claims.key_id)
    if key is None:
        return CertificateCheck(False, "unknown_key", claims)
    try:
        key.verify(signature, PREFIX.encode() + b"." + payload)
    except InvalidSignature:
        return CertificateCheck(False, "bad_signature", claims)
    if today is not None and date.fromisoformat(claims.valid_until) < today:
        return CertificateCheck(False, "expired", claims)
    for field_name, printed in (holder or {}).items():
        if printed.strip() != str(getattr(claims, field_name)).strip():
            return CertificateCheck(False, "wrong_holder", claims)
    return CertificateCheck(True, "ok", claims)


# -- public key files (what `kiosk-backend keys export-public` writes) -----------------------------


def public_key_block(public_key: Ed25519PublicKey, note: str = "") -> str:
    """One key of a public key file: a ``Key-Id:`` line (and a note) above its PEM."""
    pem = public_key.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")
    head = f"{_KEY_ID_LINE} {key_id_of(public_key)}" + (f"  ({note})" if note else "")
    return f"{head}\n{pem}"


def parse_public_keys(text: str) -> dict[str, Ed25519PublicKey]:
    """Every Ed25519 public key PEM in ``text`` by its id. A ``Key-Id:`` line above a PEM must name
    that key (the id is recomputed, never trusted). Raises ValueError when there is none or a
    block is not an Ed25519 public key."""
    keys: dict[str, Ed25519PublicKey] = {}
    claimed = ""
    lines = iter(text.splitlines())
    for line in lines:
        stripped = line.strip()
        if stripped.startswith(_KEY_ID_LINE):
            claimed = (
                stripped[len(_KEY_ID_LINE) :].split()[0] if stripped[len(_KEY_ID_LINE) :].split() else ""
            )
        elif stripped == "-----BEGIN PUBLIC KEY-----":
            block = [stripped]
            for more in lines:
                block.append(more.strip())
                if more.strip() == "-----END PUBLIC KEY-----":
                    break
            key = serialization.load_pem_public_key("\n".join(block).encode("ascii"))
            if not isinstance(key, Ed25519PublicKey):
                raise ValueError("a public key in the file is not an Ed25519 key")
            key_id = key_id_of(key)
            if claimed and claimed != key_id:
                raise ValueError(f"Key-Id {claimed} does not name the key below it ({key_id})")
            keys[key_id] = key
            claimed = ""
    if not keys:
        raise ValueError("no public key in the file")
    return keys
