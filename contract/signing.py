"""HMAC-SHA256 request signing, shared by the delivery thread, the look-up client and the backend.

The signature covers a canonical string of five lines::

    <timestamp: Unix seconds>
    <nonce: 32 hex chars, fresh per attempt>
    <METHOD>
    <path including the query string>
    <hex SHA-256 of the body bytes>

sent as headers ``X-Kiosk-Key-Id``, ``X-Kiosk-Timestamp``, ``X-Kiosk-Nonce``,
``X-Kiosk-Content-SHA256`` and ``X-Kiosk-Signature`` (hex). Every retry gets a fresh timestamp and
nonce while the body bytes stay the same, so the backend can refuse replays and stale requests
without refusing an honest retry. Keys are 32+ random bytes stored as hex in a file of their own.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

H_KEY_ID = "X-Kiosk-Key-Id"
H_TIMESTAMP = "X-Kiosk-Timestamp"
H_NONCE = "X-Kiosk-Nonce"
H_DIGEST = "X-Kiosk-Content-SHA256"
H_SIGNATURE = "X-Kiosk-Signature"

MAX_SKEW_S = 300
"""Timestamps further than this from the verifier's clock are refused (and nonces kept this long)."""


def body_digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def canonical(timestamp: str, nonce: str, method: str, path: str, digest: str) -> bytes:
    return "\n".join((timestamp, nonce, method.upper(), path, digest)).encode("ascii")


@dataclass(frozen=True)
class SigningKey:
    """A kiosk's HMAC key and the id the backend knows it by."""

    key_id: str
    secret: bytes

    def sign(self, method: str, path: str, body: bytes, *, now: float | None = None) -> dict[str, str]:
        """Headers for one attempt (fresh nonce and timestamp)."""
        ts = str(int(time.time() if now is None else now))
        nonce = secrets.token_hex(16)
        digest = body_digest(body)
        mac = hmac.new(self.secret, canonical(ts, nonce, method, path, digest), hashlib.sha256).hexdigest()
        return {H_KEY_ID: self.key_id, H_TIMESTAMP: ts, H_NONCE: nonce, H_DIGEST: digest, H_SIGNATURE: mac}


class SignatureError(Exception):
    """Why a signed request was refused; ``reason`` is a short machine-readable word."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


def verify(
    headers: Mapping[str, str],
    method: str,
    path: str,
    body: bytes,
    keys: Mapping[str, bytes],
    *,
    now: float | None = None,
    max_skew_s: int = MAX_SKEW_S,
) -> tuple[str, str, int]:
    """Check a request's signature; return (key_id, nonce, timestamp) or raise SignatureError.

    Replay checking (has this nonce been seen?) is the caller's, since it needs shared storage.
    Header names are matched without regard to case.
    """
    lower = {k.lower(): v for k, v in headers.items()}
    try:
        key_id, ts, nonce = lower[H_KEY_ID.lower()], lower[H_TIMESTAMP.lower()], lower[H_NONCE.lower()]
        digest, signature = lower[H_DIGEST.lower()], lower[H_SIGNATURE.lower()]
    except KeyError as exc:
        raise SignatureError("missing_header", f"missing header {exc.args[0]}") from exc
    secret = keys.get(key_id)
    if secret is None:
        raise SignatureError("unknown_key", f"unknown key id {key_id!r}")
    # ASCII first: str.isdigit() takes "²", compare_digest refuses non-ASCII str, the canonical
    # string is ASCII, and a server hands over header and path bytes as Latin-1 text
    if not all(part.isascii() for part in (ts, nonce, digest, signature, method, path)):
        raise SignatureError("malformed", "non-ASCII characters in the signed headers or the path")
    if not ts.isdigit() or len(nonce) < 16 or len(nonce) > 64:
        raise SignatureError("malformed", "malformed timestamp or nonce")
    if not hmac.compare_digest(digest, body_digest(body)):
        raise SignatureError("digest_mismatch", "body digest does not match the body")
    expected = hmac.new(secret, canonical(ts, nonce, method, path, digest), hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature):
        raise SignatureError("bad_signature", "signature does not verify")
    current = time.time() if now is None else now
    if abs(current - int(ts)) > max_skew_s:
        raise SignatureError("stale", f"timestamp {int(current - int(ts))} s off the server clock")
    return key_id, nonce, int(ts)


def new_secret() -> str:
    """A fresh HMAC key as hex text, for a key file."""
    return secrets.token_hex(32)


def write_key_file(path: Path, text: str) -> None:
    """Write a secret readable by the owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as fh:
        fh.write(text + "\n")


class KeyFileError(ValueError):
    """A key file that cannot be used: missing, unreadable, not hex, or too short.

    The contract knows no configuration system of its own; the kiosk turns this into a ConfigError
    naming the file (``kiosk.config.keyfile``), the backend into a one-line CLI error.
    """

    def __init__(self, path: Path, problem: str) -> None:
        super().__init__(f"{path}: {problem}")
        self.path = path
        self.problem = problem


def load_secret(path: Path) -> bytes:
    """Read a hex key file of at least 16 bytes; problems raise KeyFileError naming the file."""
    try:
        text = path.read_text(encoding="ascii").strip()
        secret = bytes.fromhex(text)
    except FileNotFoundError as exc:
        raise KeyFileError(path, "key file not found") from exc
    except (OSError, ValueError) as exc:
        raise KeyFileError(path, f"unreadable key file: {exc}") from exc
    if len(secret) < 16:
        raise KeyFileError(path, "key too short (need at least 16 bytes)")
    return secret
