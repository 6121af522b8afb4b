"""Kiosk keys at the backend: one loader, rotation, and the key id → kiosk id mapping.

A :class:`KeyRing` maps each key id to the kiosk it belongs to and to its *active secrets*: a
request verifies against any of them, so a key is rotated without a hard cut-over (enrol the new
secret beside the old one, move the kiosk to it, then retire the old one). Every secret is at
least :data:`MIN_SECRET_BYTES` bytes: an empty or short key file is refused with its path named.

The signature is checked from the headers alone (the signed string covers the body's digest
header, not the body), so a request whose signature does not verify is refused before a byte of
its body is read; the body is then read and held to the digest it was signed with.

Sources, all through :func:`load_keyring`:

- ``--trust DIR``: every ``kiosk.toml`` written by ``kiosk-tech config init`` in DIR (and one level
  below): ``backend.key_id``, ``backend.secret_file`` and, when it differs, ``kiosk.id``;
- ``--trust-key KEY_ID=FILE`` or ``KEY_ID:KIOSK_ID=FILE`` (repeatable: several files for one key
  id are several active secrets);
- ``--keys FILE``: a TOML file ``[keys.KEY_ID]`` with ``kiosk_id`` and ``secret_files = [...]``.
"""

from __future__ import annotations

import hashlib
import hmac
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from contract.signing import (
    H_DIGEST,
    H_KEY_ID,
    H_NONCE,
    H_SIGNATURE,
    H_TIMESTAMP,
    SignatureError,
    body_digest,
    canonical,
)

MIN_SECRET_BYTES = 32


class KeyConfigError(ValueError):
    """A key source that cannot be used (named in the message)."""


@dataclass(frozen=True)
class KeyEntry:
    kiosk_id: str
    secrets: tuple[bytes, ...]


@dataclass(frozen=True)
class Verified:
    """A request whose headers verified: who signed it, with which nonce and timestamp."""

    key_id: str
    kiosk_id: str
    nonce: str
    timestamp: int
    digest: str


@dataclass
class KeyRing:
    """key id → :class:`KeyEntry`. Built by :func:`load_keyring` (or :meth:`from_mapping` for tests
    and embedded use, where each key id is its own kiosk id)."""

    entries: dict[str, KeyEntry] = field(default_factory=dict)

    @classmethod
    def from_mapping(cls, keys: Mapping[str, bytes]) -> KeyRing:
        ring = cls()
        for key_id, secret in keys.items():
            ring.add(key_id, key_id, secret, source=f"key {key_id!r}")
        return ring

    def add(self, key_id: str, kiosk_id: str, secret: bytes, *, source: str) -> None:
        """Enrol one more active secret for ``key_id``; the kiosk id must agree with earlier ones."""
        if len(secret) < MIN_SECRET_BYTES:
            raise KeyConfigError(
                f"{source}: key too short ({len(secret)} bytes, need at least {MIN_SECRET_BYTES})"
            )
        old = self.entries.get(key_id)
        if old is not None and old.kiosk_id != kiosk_id:
            raise KeyConfigError(f"{source}: key id {key_id!r} already belongs to kiosk {old.kiosk_id!r}")
        secrets = (old.secrets if old else ()) + ((secret,) if not old or secret not in old.secrets else ())
        self.entries[key_id] = KeyEntry(kiosk_id, secrets)

    def __len__(self) -> int:
        return len(self.entries)

    def verify_headers(
        self, headers: Mapping[str, str], method: str, path: str, *, now: float, max_skew_s: int
    ) -> Verified:
        """Check the signature over the signed headers (not the body); raise SignatureError."""
        lower = {k.lower(): v for k, v in headers.items()}
        try:
            key_id, ts, nonce = lower[H_KEY_ID.lower()], lower[H_TIMESTAMP.lower()], lower[H_NONCE.lower()]
            digest, signature = lower[H_DIGEST.lower()], lower[H_SIGNATURE.lower()]
        except KeyError as exc:
            raise SignatureError("missing_header", f"missing header {exc.args[0]}") from exc
        entry = self.entries.get(key_id)
        if entry is None:
            raise SignatureError("unknown_key", f"unknown key id {key_id!r}")
        if not all(part.isascii() for part in (ts, nonce, digest, signature, method, path)):
            raise SignatureError("malformed", "non-ASCII characters in the signed headers or the path")
        if not ts.isdigit() or len(nonce) < 16 or len(nonce) > 64 or len(digest) != 64:
            raise SignatureError("malformed", "malformed timestamp, nonce or digest")
        signed = canonical(ts, nonce, method, path, digest)
        if not any(
            hmac.compare_digest(hmac.new(s, signed, hashlib.sha256).hexdigest(), signature)
            for s in entry.secrets
        ):
            raise SignatureError("bad_signature", "signature does not verify")
        if abs(now - int(ts)) > max_skew_s:
            raise SignatureError("stale", f"timestamp {int(now - int(ts))} s off the server clock")
        return Verified(key_id, entry.kiosk_id, nonce, int(ts), digest)


def check_body(verified: Verified, body: bytes) -> None:
    """The body read after the headers verified must be the one signed."""
    if not hmac.compare_digest(verified.digest, body_digest(body)):
        raise SignatureError("digest_mismatch", "body digest does not match the body")


def read_secret(path: Path) -> bytes:
    """A hex key file of at least :data:`MIN_SECRET_BYTES` bytes (the one reader of key files)."""
    try:
        text = path.read_text(encoding="ascii").strip()
    except OSError as exc:
        raise KeyConfigError(f"cannot read key file {path}: {exc.strerror or exc}") from exc
    except UnicodeError as exc:
        raise KeyConfigError(f"key file {path} is not hex text") from exc
    if not text:
        raise KeyConfigError(f"key file {path} is empty")
    try:
        secret = bytes.fromhex(text)
    except ValueError as exc:
        raise KeyConfigError(f"key file {path} is not hex text: {exc}") from exc
    if len(secret) < MIN_SECRET_BYTES:
        raise KeyConfigError(
            f"key file {path}: key too short ({len(secret)} bytes, need at least {MIN_SECRET_BYTES})"
        )
    return secret


def load_keyring(
    folders: Sequence[str] = (), pairs: Sequence[str] = (), key_files: Sequence[str] = ()
) -> KeyRing:
    """Every key the backend trusts, from ``--trust`` folders, ``--trust-key`` pairs and ``--keys``
    files (see the module docstring); any unusable source raises KeyConfigError naming it."""
    ring = KeyRing()
    for folder in folders:
        base = Path(folder)
        found = 0
        for path in [base / "kiosk.toml", *sorted(base.glob("*/kiosk.toml"))]:
            if not path.is_file():
                continue
            try:
                doc = tomllib.loads(path.read_text(encoding="utf-8"))
            except (OSError, UnicodeError, tomllib.TOMLDecodeError) as exc:
                raise KeyConfigError(f"cannot read {path}: {exc}") from exc
            section = doc.get("backend", {})
            key_id, secret_file = section.get("key_id"), section.get("secret_file")
            if key_id and secret_file:
                kiosk_id = str(doc.get("kiosk", {}).get("id") or key_id)
                ring.add(key_id, kiosk_id, read_secret(path.parent / secret_file), source=str(path))
                found += 1
        if not found:
            raise KeyConfigError(
                f"--trust {folder}: no kiosk.toml with backend.key_id and backend.secret_file"
            )
    for pair in pairs:
        ids, sep, file = pair.partition("=")
        key_id, _, kiosk_id = ids.partition(":")
        if not sep or not key_id or not file:
            raise KeyConfigError(f"--trust-key expects KEY_ID=FILE or KEY_ID:KIOSK_ID=FILE, got {pair!r}")
        ring.add(key_id, kiosk_id or key_id, read_secret(Path(file)), source=f"--trust-key {pair}")
    for name in key_files:
        path = Path(name)
        try:
            doc = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeError, tomllib.TOMLDecodeError) as exc:
            raise KeyConfigError(f"cannot read --keys {path}: {exc}") from exc
        for key_id, spec in doc.get("keys", {}).items():
            files = spec.get("secret_files", []) if isinstance(spec, dict) else []
            if not files or not isinstance(files, list):
                raise KeyConfigError(f"{path}: [keys.{key_id}] needs secret_files = [...]")
            for file in files:
                secret = read_secret(path.parent / str(file))
                ring.add(
                    key_id, str(spec.get("kiosk_id") or key_id), secret, source=f"{path} [keys.{key_id}]"
                )
    return ring
