"""HMAC request signing: what verifies, what is refused and why; UUIDv7 ids."""

from __future__ import annotations

import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st

from contract.ids import uuid7, uuid7_time_ms
from contract.signing import H_DIGEST, H_NONCE, H_SIGNATURE, H_TIMESTAMP, SignatureError, SigningKey, verify

KEY = SigningKey("KIOSK-T1", b"k" * 32)
KEYS = {"KIOSK-T1": b"k" * 32}
NOW = 1_800_000_000.0


def test_signed_request_verifies_and_returns_the_key_nonce_and_time() -> None:
    headers = KEY.sign("POST", "/v1/requests", b'{"a":1}', now=NOW)
    key_id, nonce, ts = verify(headers, "POST", "/v1/requests", b'{"a":1}', KEYS, now=NOW + 10)
    assert (key_id, ts) == ("KIOSK-T1", int(NOW))
    assert nonce == headers[H_NONCE]


def test_header_names_are_matched_without_case() -> None:
    headers = {k.lower(): v for k, v in KEY.sign("POST", "/p", b"x", now=NOW).items()}
    assert verify(headers, "POST", "/p", b"x", KEYS, now=NOW)[0] == "KIOSK-T1"


@pytest.mark.parametrize(
    ("method", "path", "body", "reason"),
    [
        ("POST", "/v1/requests", b'{"a":2}', "digest_mismatch"),
        ("PUT", "/v1/requests", b'{"a":1}', "bad_signature"),
        ("POST", "/v1/other", b'{"a":1}', "bad_signature"),
    ],
)
def test_any_change_to_method_path_or_body_is_refused(
    method: str, path: str, body: bytes, reason: str
) -> None:
    headers = KEY.sign("POST", "/v1/requests", b'{"a":1}', now=NOW)
    with pytest.raises(SignatureError) as err:
        verify(headers, method, path, body, KEYS, now=NOW)
    assert err.value.reason == reason


def test_a_digest_header_forged_to_match_a_new_body_still_fails_the_signature() -> None:
    headers = KEY.sign("POST", "/p", b"old", now=NOW)
    import hashlib

    headers[H_DIGEST] = hashlib.sha256(b"new").hexdigest()
    with pytest.raises(SignatureError) as err:
        verify(headers, "POST", "/p", b"new", KEYS, now=NOW)
    assert err.value.reason == "bad_signature"


def test_wrong_key_unknown_key_and_missing_header() -> None:
    other = SigningKey("KIOSK-T1", b"z" * 32).sign("POST", "/p", b"", now=NOW)
    with pytest.raises(SignatureError, match="does not verify"):
        verify(other, "POST", "/p", b"", KEYS, now=NOW)
    with pytest.raises(SignatureError) as err:
        verify(
            SigningKey("NOPE", b"k" * 32).sign("POST", "/p", b"", now=NOW), "POST", "/p", b"", KEYS, now=NOW
        )
    assert err.value.reason == "unknown_key"
    headers = KEY.sign("POST", "/p", b"", now=NOW)
    del headers[H_SIGNATURE]
    with pytest.raises(SignatureError) as err:
        verify(headers, "POST", "/p", b"", KEYS, now=NOW)
    assert err.value.reason == "missing_header"


@pytest.mark.parametrize("skew", [-301, 301, 10_000])
def test_stale_or_future_timestamps_are_refused(skew: int) -> None:
    headers = KEY.sign("POST", "/p", b"", now=NOW)
    with pytest.raises(SignatureError) as err:
        verify(headers, "POST", "/p", b"", KEYS, now=NOW - skew)
    assert err.value.reason == "stale"


def test_a_tampered_timestamp_breaks_the_signature() -> None:
    headers = KEY.sign("POST", "/p", b"", now=NOW - 1000)
    headers[H_TIMESTAMP] = str(int(NOW))
    with pytest.raises(SignatureError) as err:
        verify(headers, "POST", "/p", b"", KEYS, now=NOW)
    assert err.value.reason == "bad_signature"


def test_every_attempt_gets_a_fresh_nonce() -> None:
    nonces = {KEY.sign("POST", "/p", b"", now=NOW)[H_NONCE] for _ in range(100)}
    assert len(nonces) == 100


@given(
    st.binary(max_size=2000), st.sampled_from(["GET", "POST"]), st.text("abc/?=&", min_size=1, max_size=30)
)
def test_sign_then_verify_round_trips(body: bytes, method: str, path: str) -> None:
    headers = KEY.sign(method, "/" + path, body, now=NOW)
    assert verify(headers, method, "/" + path, body, KEYS, now=NOW)[0] == "KIOSK-T1"


def test_uuid7_is_version_7_time_ordered_and_strictly_increasing() -> None:
    ids = [uuid7() for _ in range(5000)]
    assert all(u.version == 7 and u.variant == uuid.RFC_4122 for u in ids)
    assert ids == sorted(ids, key=lambda u: u.int)
    assert len(set(ids)) == len(ids)


def test_uuid7_stays_increasing_when_the_clock_steps_back() -> None:
    first = uuid7(now_ms=4_000_000_000_000)
    second = uuid7(now_ms=3_000_000_000_000)  # the clock went back a long way
    assert second.int > first.int
    assert uuid7_time_ms(first) == 4_000_000_000_000
