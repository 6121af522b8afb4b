"""The kiosk-signed QR (KQ1; certificates are now signed by the backend, contract/certificates.py):
round trip, forgery, alteration, wrong holder, key files."""

from __future__ import annotations

import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest

from kiosk.documents import samples, signed_qr
from kiosk.documents.signed_qr import Ed25519PrivateKey, QrClaims
from kiosk.errors import KioskError

HOLDER = samples.sample_certificate_data().holder()


@pytest.fixture
def key() -> Ed25519PrivateKey:
    # a fixed synthetic key, so the signed text and every altered copy of it are the same each run
    # (with a random key, changing the last character sometimes broke the encoding instead)
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture
def text(key: Ed25519PrivateKey) -> str:
    claims = QrClaims(
        "REQ-1", "KIOSK-1", datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC), signed_qr.holder_digest(HOLDER)
    )
    return signed_qr.sign(claims, key)


def test_round_trip(text: str, key: Ed25519PrivateKey) -> None:
    result = signed_qr.verify(text, key.public_key(), HOLDER)
    assert result.valid and result.reason == "ok" and result.claims is not None
    assert result.claims.request_id == "REQ-1" and result.claims.kiosk_id == "KIOSK-1"
    assert result.claims.issued_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert len(text) < 250 and text.replace(".", "").isalnum() and text == text.upper()


def test_other_key_fails(text: str) -> None:
    assert signed_qr.verify(text, Ed25519PrivateKey.generate().public_key()).reason == "bad_signature"


@pytest.mark.parametrize("position", [5, 20, 40, -5, -1])
def test_any_altered_character_fails(text: str, key: Ed25519PrivateKey, position: int) -> None:
    chars = list(text)
    chars[position] = "A" if chars[position] != "A" else "B"
    result = signed_qr.verify("".join(chars), key.public_key())
    assert not result.valid and result.reason == "bad_signature"


def test_forged_payload_with_copied_signature_fails(text: str, key: Ed25519PrivateKey) -> None:
    prefix, _, sig = text.split(".")
    forged = QrClaims("REQ-2", "KIOSK-1", datetime(2026, 1, 2, tzinfo=UTC), signed_qr.holder_digest(HOLDER))
    forged_text = f"{prefix}.{signed_qr._b32(forged.encode())}.{sig}"
    assert signed_qr.verify(forged_text, key.public_key()).reason == "bad_signature"


def test_genuine_qr_on_someone_elses_certificate_fails(text: str, key: Ed25519PrivateKey) -> None:
    other = dict(HOLDER, name="李四")
    assert signed_qr.verify(text, key.public_key(), other).reason == "wrong_holder"


@pytest.mark.parametrize("garbage", ["", "hello", "KQ1.x", "KQ2.a.b", "KQ1.!!!.???"])
def test_malformed(garbage: str, key: Ed25519PrivateKey) -> None:
    assert signed_qr.verify(garbage, key.public_key()).reason == "malformed"


def test_key_file_is_private_and_not_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "keys" / "k.pem"
    key = signed_qr.load_private_key(path, create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert signed_qr.load_private_key(path).public_key() == key.public_key()
    with pytest.raises(FileExistsError):
        signed_qr.generate_key(path)
    (tmp_path / "pub.pem").write_bytes(signed_qr.public_pem(key))
    assert signed_qr.load_public_key(tmp_path / "pub.pem") == key.public_key()


def test_bad_key_file_is_a_kiosk_error(tmp_path: Path) -> None:
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(KioskError):
        signed_qr.load_public_key(tmp_path / "bad.pem")


def test_enrolled_seed_signs(tmp_path: Path) -> None:
    from kiosk.config.model import load_config
    from kiosk.tech.config_init import init_site

    site = init_site(tmp_path / "t1", kiosk_id="KIOSK-T1")
    config = load_config(site, environ={}, validate_devices=False)
    key = signed_qr.kiosk_private_key(config)
    seed_file = config.resolve(config.backend.signing_key_file)
    assert key.private_bytes_raw() == bytes.fromhex(seed_file.read_text().strip())
    claims = QrClaims("REQ-9", "KIOSK-T1", datetime(2026, 3, 4, tzinfo=UTC), signed_qr.holder_digest(HOLDER))
    qr = signed_qr.sign(claims, key)
    assert signed_qr.verify(qr, signed_qr.load_public_key(seed_file)).valid
    other = init_site(tmp_path / "t2", kiosk_id="KIOSK-T2")
    other_config = load_config(other, environ={}, validate_devices=False)
    assert signed_qr.verify(qr, signed_qr.kiosk_public_key(other_config)).reason == "bad_signature"


def test_seed_of_wrong_length_is_a_config_error(tmp_path: Path) -> None:
    from kiosk.errors import ConfigError

    (tmp_path / "seed.key").write_text("ab" * 16 + "\n")
    with pytest.raises(ConfigError, match="32 bytes"):
        signed_qr.load_seed_key(tmp_path / "seed.key")


def test_without_enrolled_seed_a_demo_pem_is_made_in_data_dir(tmp_path: Path) -> None:
    from kiosk.config.model import load_config

    config = load_config(
        None,
        environ={},
        overrides={"kiosk": {"data_dir": str(tmp_path)}, "backend": {"signing_key_file": ""}},
        validate_devices=False,
    )
    key = signed_qr.kiosk_private_key(config)
    assert (tmp_path / "keys" / "qr-ed25519.pem").exists()
    assert signed_qr.kiosk_public_key(config) == key.public_key()
