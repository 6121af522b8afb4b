"""Kiosk-signed QR codes (KQ1), verifiable offline with the kiosk's Ed25519 public key.

Certificates no longer use this: their QR is signed by the backend after it verified the person
(:mod:`contract.certificates`, ``kiosk-tech verify-qr``), so a kiosk cannot make one. This module
stays for the enrolled seed (``backend.signing_key_file``) until that setting is retired.

Text form: ``KQ1.<payload>.<signature>``, both base32 without padding, so the whole text is in the
QR alphanumeric set (5.5 bits a character instead of 8): a version-9 (M) or -11 (Q) symbol.
The payload is ``request_id|kiosk_id|issued_unix|digest`` where digest is the first 16 bytes of
SHA-256 over the holder's data in a canonical order, so the QR proves *which* person's data was
certified without carrying it. A changed character anywhere fails the signature check; a genuine
QR pasted onto someone else's certificate fails the digest check.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from kiosk.errors import ConfigError, ConfigProblem, KioskError

if TYPE_CHECKING:
    from kiosk.config.model import KioskConfig

PREFIX = "KQ1"


def _b32(data: bytes) -> str:
    return base64.b32encode(data).rstrip(b"=").decode("ascii")


def _unb32(text: str) -> bytes:
    return base64.b32decode(text + "=" * (-len(text) % 8))


def holder_digest(holder: Mapping[str, str]) -> str:
    """16-byte SHA-256 digest (base32) of the holder's fields, keys sorted, values stripped."""
    canonical = "\n".join(f"{key}={holder[key].strip()}" for key in sorted(holder))
    return _b32(hashlib.sha256(canonical.encode("utf-8")).digest()[:16])


@dataclass(frozen=True)
class QrClaims:
    request_id: str
    kiosk_id: str
    issued_at: datetime
    digest: str

    def encode(self) -> bytes:
        for value in (self.request_id, self.kiosk_id):
            if "|" in value:
                raise ValueError("ids must not contain '|'")
        return f"{self.request_id}|{self.kiosk_id}|{int(self.issued_at.timestamp())}|{self.digest}".encode()


@dataclass(frozen=True)
class Verification:
    """``valid`` or not, and ``reason`` (a stable word: ok, malformed, bad_signature, wrong_holder)."""

    valid: bool
    reason: str
    claims: QrClaims | None = None


def sign(claims: QrClaims, key: Ed25519PrivateKey) -> str:
    payload = claims.encode()
    return f"{PREFIX}.{_b32(payload)}.{_b32(key.sign(payload))}"


def verify(text: str, public_key: Ed25519PublicKey, holder: Mapping[str, str] | None = None) -> Verification:
    """Check the signature (and, given the holder's data, that it belongs to them)."""
    parts = text.strip().split(".")
    if len(parts) != 3 or parts[0] != PREFIX:
        return Verification(False, "malformed")
    try:
        payload, signature = _unb32(parts[1]), _unb32(parts[2])
    except ValueError:
        return Verification(False, "malformed")
    if _b32(payload) != parts[1] or _b32(signature) != parts[2]:
        # base32 ignores the unused low bits of the last character; accept one spelling only,
        # so no altered text verifies.
        return Verification(False, "malformed")
    try:
        public_key.verify(signature, payload)
    except InvalidSignature:
        return Verification(False, "bad_signature")
    try:
        request_id, kiosk_id, issued, digest = payload.decode("utf-8").split("|")
        claims = QrClaims(request_id, kiosk_id, datetime.fromtimestamp(int(issued), UTC), digest)
    except (UnicodeDecodeError, ValueError):
        return Verification(False, "malformed")
    if holder is not None and holder_digest(holder) != claims.digest:
        return Verification(False, "wrong_holder", claims)
    return Verification(True, "ok", claims)


def kiosk_key_path(data_dir: Path) -> Path:
    """Where a kiosk keeps its certificate-signing key (created on first use by the app)."""
    return data_dir / "keys" / "qr-ed25519.pem"


def generate_key(path: Path) -> Ed25519PrivateKey:
    """Create a new private key file (mode 0600), refusing to overwrite one."""
    key = Ed25519PrivateKey.generate()
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    return key


def load_private_key(path: Path, *, create: bool = False) -> Ed25519PrivateKey:
    if create and not path.exists():
        return generate_key(path)
    try:
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except (OSError, ValueError) as exc:
        raise KioskError(f"cannot load QR signing key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise KioskError(f"{path} is not an Ed25519 key")
    return key


def load_seed_key(path: Path) -> Ed25519PrivateKey:
    """The private key from a hex 32-byte Ed25519 seed file (``backend.signing_key_file``, written
    by ``kiosk-tech config init``); problems become a ConfigError naming the file."""
    from kiosk.config.keyfile import load_secret

    seed = load_secret(path)
    if len(seed) != 32:
        raise ConfigError([ConfigProblem(str(path), "", f"Ed25519 seed must be 32 bytes, not {len(seed)}")])
    return Ed25519PrivateKey.from_private_bytes(seed)


def kiosk_private_key(config: KioskConfig) -> Ed25519PrivateKey:
    """The key this kiosk signs certificate QRs with: the seed in ``backend.signing_key_file``
    when configured (the enrolled key), else a PEM under DATA_DIR/keys made on first use (demo)."""
    if config.backend.signing_key_file:
        return load_seed_key(config.resolve(config.backend.signing_key_file))
    if config.kiosk.mode == "production":  # an un-enrolled key would sign certificates nobody trusts
        raise ConfigError(
            [
                ConfigProblem(
                    str(config.source or "configuration"),
                    "backend.signing_key_file",
                    "production signs certificates only with the enrolled key",
                )
            ]
        )
    return load_private_key(kiosk_key_path(config.data_dir), create=True)


def kiosk_public_key(config: KioskConfig) -> Ed25519PublicKey:
    """The public half of :func:`kiosk_private_key`, without creating a key that is missing."""
    if config.backend.signing_key_file:
        return load_seed_key(config.resolve(config.backend.signing_key_file)).public_key()
    return load_public_key(kiosk_key_path(config.data_dir))


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key PEM, the public half of a private key PEM, or of a hex seed file."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise KioskError(f"cannot read key {path}: {exc.strerror}") from exc
    if not data.lstrip().startswith(b"-----"):
        return load_seed_key(path).public_key()
    try:
        if b"PRIVATE" in data:
            return load_private_key(path).public_key()
        key = serialization.load_pem_public_key(data)
    except ValueError as exc:
        raise KioskError(f"cannot load key {path}: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise KioskError(f"{path} is not an Ed25519 key")
    return key


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
