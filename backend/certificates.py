"""The backend's certificate signing keys (Ed25519) and the issuing of signed certificates.

A key ring is one folder (``kiosk-backend serve --cert-keys DIR``)::

    DIR/cert-<KEYID>.pem    PKCS#8 private key, mode 0600, one per key ever made
    DIR/current             the id of the key that signs new certificates
    DIR/public.pem          every public key with its id (rewritten by generate and rotate), mode
                            0600 like the rest of the folder; ``keys export-public`` shares it

``keys generate`` makes the first key; ``keys rotate`` makes a new one and makes it current, keeping
the older ones so the certificates they signed still verify (``keys export-public`` writes every
public key with its id; the newest first). The claim format is :mod:`contract.certificates`.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from contract.certificates import (
    CertificateClaims,
    key_id_of,
    public_key_block,
    sign_certificate,
)

CERTIFICATE_DAYS = 30
CURRENT = "current"
PUBLIC = "public.pem"


class KeyRingError(Exception):
    """The key folder cannot be read or written, or holds no usable key."""


@dataclass(frozen=True)
class KeyInfo:
    key_id: str
    current: bool
    created: float  # the private key file's modification time


class KeyRing:
    """The certificate keys in one folder; loading is cheap, so every call reads the folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)

    def _path(self, key_id: str) -> Path:
        return self.folder / f"cert-{key_id}.pem"

    def infos(self) -> list[KeyInfo]:
        """Every key, newest first."""
        current = self.current_id(missing_ok=True)
        found = []
        for path in self.folder.glob("cert-*.pem"):
            key_id = path.stem.removeprefix("cert-")
            found.append(KeyInfo(key_id, key_id == current, path.stat().st_mtime))
        return sorted(found, key=lambda k: (not k.current, -k.created, k.key_id))

    def current_id(self, *, missing_ok: bool = False) -> str:
        try:
            return (self.folder / CURRENT).read_text(encoding="ascii").strip()
        except FileNotFoundError:
            if missing_ok:
                return ""
            raise KeyRingError(
                f"no certificate key in {self.folder} (kiosk-backend keys generate --dir {self.folder})"
            ) from None
        except OSError as exc:
            raise KeyRingError(f"cannot read {self.folder / CURRENT}: {exc.strerror}") from exc

    def private_key(self, key_id: str) -> Ed25519PrivateKey:
        path = self._path(key_id)
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (OSError, ValueError) as exc:
            raise KeyRingError(f"cannot load certificate key {path}: {exc}") from exc
        if not isinstance(key, Ed25519PrivateKey) or key_id_of(key.public_key()) != key_id:
            raise KeyRingError(f"{path} is not the Ed25519 key {key_id}")
        return key

    def current(self) -> tuple[str, Ed25519PrivateKey]:
        key_id = self.current_id()
        return key_id, self.private_key(key_id)

    def public_keys(self) -> dict[str, Ed25519PublicKey]:
        return {info.key_id: self.private_key(info.key_id).public_key() for info in self.infos()}

    def generate(self, *, rotate: bool = False) -> str:
        """A new key (file 0600, never overwriting one), made current. Without ``rotate`` a folder
        that already has a current key is refused (rotation is a deliberate act)."""
        if not rotate and self.current_id(missing_ok=True):
            raise KeyRingError(f"{self.folder} already has a certificate key (use keys rotate)")
        key = Ed25519PrivateKey.generate()
        key_id = key_id_of(key.public_key())
        pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            os.chmod(self.folder, 0o700)
            fd = os.open(self._path(key_id), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(pem)
                handle.flush()
                os.fsync(handle.fileno())
            tmp = self.folder / f".{CURRENT}.tmp"
            tmp.write_text(key_id + "\n", encoding="ascii")
            os.replace(tmp, self.folder / CURRENT)  # the switch to the new key is atomic
            public = self.folder / f".{PUBLIC}.tmp"
            public.write_text(self.export_public(), encoding="ascii")
            os.chmod(public, 0o600)  # the folder is the owner's alone; export-public shares the keys
            os.replace(public, self.folder / PUBLIC)
        except OSError as exc:
            raise KeyRingError(f"cannot write a certificate key in {self.folder}: {exc.strerror}") from exc
        return key_id

    def export_public(self) -> str:
        """Every public key with its id (the current one first): a file for ``kiosk-tech verify-qr``."""
        infos = self.infos()
        if not infos:
            raise KeyRingError(f"no certificate key in {self.folder}")
        blocks = ["# kiosk-backend certificate keys (public; verify-qr needs only this file)\n"]
        for info in infos:
            made = dt.datetime.fromtimestamp(info.created, dt.UTC).strftime("%Y-%m-%d")
            note = ("current" if info.current else "retired") + f", made {made}"
            blocks.append(public_key_block(self.private_key(info.key_id).public_key(), note))
        return "\n".join(blocks)


class CertificateIssuer:
    """Signs a verified person's certificate claims with the ring's current key."""

    def __init__(self, ring: KeyRing, *, days: int = CERTIFICATE_DAYS) -> None:
        self.ring = ring
        self.days = days
        self.ring.current()  # fail at start-up, not at the first resident
        self._lock = threading.Lock()

    def issue(
        self, *, request_id: str, kiosk_id: str, id_number: str, name: str, photo_sha256: str,
        now: float | None = None,
    ) -> dict[str, object]:  # fmt: skip
        """The answer's ``certificate`` object: the signed QR text and the claims it carries."""
        issued = int(time.time() if now is None else now)
        until = (dt.datetime.fromtimestamp(issued, dt.UTC) + dt.timedelta(days=self.days)).date()
        with self._lock:
            key_id, key = self.ring.current()  # read each time: a rotation needs no restart
        claims = CertificateClaims(
            key_id=key_id, request_id=request_id, kiosk_id=kiosk_id, issued_at=issued,
            valid_until=until.isoformat(), id_number=id_number, name=name, photo_sha256=photo_sha256,
        )  # fmt: skip
        return {"qr_text": sign_certificate(claims, key), "claims": claims.as_dict()}
