"""The backend's one key loader: 32-byte minimum, rotation, key id → kiosk id (backend/keys.py).

Issue 20: an empty key file enrolled the key ``b""`` and requests signed with it were accepted.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from pathlib import Path

import pytest

from backend.keys import MIN_SECRET_BYTES, KeyConfigError, KeyRing, check_body, load_keyring
from contract.signing import SignatureError, SigningKey, canonical


def _key(folder: Path, name: str, secret: bytes) -> Path:
    path = folder / name
    path.write_text(secret.hex() + "\n", encoding="ascii")
    return path


@pytest.mark.parametrize("text", ["", "\n", "   ", "00" * (MIN_SECRET_BYTES - 1), "zz" * 40])
def test_empty_short_or_garbled_key_files_are_refused(tmp_path: Path, text: str) -> None:
    path = tmp_path / "k.hex"
    path.write_text(text, encoding="ascii")
    with pytest.raises(KeyConfigError, match=r"k\.hex"):
        load_keyring(pairs=[f"K1={path}"])


def test_an_empty_secret_cannot_be_enrolled_in_code_either() -> None:
    with pytest.raises(KeyConfigError, match="too short"):
        KeyRing.from_mapping({"K1": b""})


def test_a_request_signed_with_an_empty_key_is_not_accepted() -> None:
    """The old loader enrolled ``b""``: a request signed with the empty key verified."""
    body = b"{}"
    headers = SigningKey("K1", b"").sign("POST", "/v1/heartbeat", body)
    ring = KeyRing.from_mapping({"K1": b"k" * 32})
    with pytest.raises(SignatureError):
        ring.verify_headers(headers, "POST", "/v1/heartbeat", now=time.time(), max_skew_s=300)


def test_several_secrets_per_key_id_all_verify(tmp_path: Path) -> None:
    old, new = b"o" * 32, b"n" * 32
    ring = load_keyring(
        pairs=[f"K1:KIOSK-1={_key(tmp_path, 'old', old)}", f"K1:KIOSK-1={_key(tmp_path, 'new', new)}"]
    )
    body = b'{"a":1}'
    for secret in (old, new):
        headers = SigningKey("K1", secret).sign("POST", "/v1/alerts", body)
        verified = ring.verify_headers(headers, "POST", "/v1/alerts", now=time.time(), max_skew_s=300)
        assert (verified.key_id, verified.kiosk_id) == ("K1", "KIOSK-1")
        check_body(verified, body)
        with pytest.raises(SignatureError, match="digest"):
            check_body(verified, body + b" ")
    wrong = SigningKey("K1", b"w" * 32).sign("POST", "/v1/alerts", body)
    with pytest.raises(SignatureError, match="does not verify"):
        ring.verify_headers(wrong, "POST", "/v1/alerts", now=time.time(), max_skew_s=300)


def test_one_key_id_cannot_belong_to_two_kiosks(tmp_path: Path) -> None:
    a, b = _key(tmp_path, "a", b"a" * 32), _key(tmp_path, "b", b"b" * 32)
    with pytest.raises(KeyConfigError, match="already belongs"):
        load_keyring(pairs=[f"K1:KIOSK-1={a}", f"K1:KIOSK-2={b}"])


def test_trust_folders_map_the_key_to_the_configured_kiosk_id(tmp_path: Path) -> None:
    """``kiosk-tech config init`` writes kiosk.id and backend.key_id; they may differ."""
    site = tmp_path / "kiosk-07"
    site.mkdir()
    _key(site, "hmac.key", b"s" * 32)
    (site / "kiosk.toml").write_text(
        '[kiosk]\nid = "STATION-07"\n[backend]\nkey_id = "KEY-07"\nsecret_file = "hmac.key"\n',
        encoding="utf-8",
    )
    ring = load_keyring(folders=[str(tmp_path)])
    assert ring.entries["KEY-07"].kiosk_id == "STATION-07"


def test_a_keys_file_lists_rotation_secrets(tmp_path: Path) -> None:
    _key(tmp_path, "k1-2026.hex", b"1" * 32)
    _key(tmp_path, "k1-2027.hex", b"2" * 32)
    (tmp_path / "keys.toml").write_text(
        '[keys.K1]\nkiosk_id = "KIOSK-1"\nsecret_files = ["k1-2026.hex", "k1-2027.hex"]\n', encoding="utf-8"
    )
    entry = load_keyring(key_files=[str(tmp_path / "keys.toml")]).entries["K1"]
    assert entry.kiosk_id == "KIOSK-1" and entry.secrets == (b"1" * 32, b"2" * 32)


def test_the_signature_is_checked_from_the_headers_before_any_body() -> None:
    """The signed string covers the digest header, so verify_headers needs no body at all."""
    secret = b"h" * 32
    ts, nonce, digest = str(int(time.time())), "ab" * 16, hashlib.sha256(b"unseen").hexdigest()
    mac = hmac.new(secret, canonical(ts, nonce, "POST", "/v1/requests", digest), hashlib.sha256).hexdigest()
    headers = {
        "X-Kiosk-Key-Id": "K1",
        "X-Kiosk-Timestamp": ts,
        "X-Kiosk-Nonce": nonce,
        "X-Kiosk-Content-SHA256": digest,
        "X-Kiosk-Signature": mac,
    }
    ring = KeyRing.from_mapping({"K1": secret})
    verified = ring.verify_headers(headers, "POST", "/v1/requests", now=time.time(), max_skew_s=300)
    assert verified.digest == digest
    with pytest.raises(SignatureError, match="off the server clock"):
        ring.verify_headers(headers, "POST", "/v1/requests", now=time.time() + 301, max_skew_s=300)
