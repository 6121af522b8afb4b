"""Fuzzing the ingest's request bodies: arbitrary bytes, arbitrary JSON, and valid envelopes with
one thing broken (a field dropped, added or replaced by any JSON value, another text encoding, cut
short, nested deep), each POSTed to ``/v1/requests`` signed with the kiosk's key over a real HTTP
server with a real store (SQLite, and PostgreSQL when KIOSK_TEST_PG_URL is set).

The property: the answer is never a 5xx or a dropped connection; a 2xx only for a body that is a
valid envelope in UTF-8, and then the request is stored; any other body gets a 4xx with a JSON
problem (``error``) and nothing is stored.

``KIOSK_FUZZ_EXAMPLES`` scales the run (default 200 per property). The long run (docs/fuzzing.md):
``KIOSK_FUZZ_EXAMPLES=100000 .venv/bin/python -m pytest tests/integration/test_backend_body_fuzz.py --timeout 0``
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from contract.schemas import validate_envelope
from contract.signing import SigningKey
from tests.integration.backend_server import Server, serving_store

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-C1", b"c" * 32)
EXAMPLES = int(os.environ.get("KIOSK_FUZZ_EXAMPLES", "200"))
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def server(module_store_url: str) -> Iterator[Server]:
    with serving_store(module_store_url, {KEY.key_id: KEY.secret}) as running:
        yield running


# -- strategies ---------------------------------------------------------------------------------

JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=12,
)


@st.composite
def request_ids(draw: st.DrawFn) -> str:
    """A UUIDv7-shaped id (what the envelope schema asks for), fresh from Hypothesis's bits."""
    h = draw(st.uuids()).hex
    variant = "89ab"[int(h[16], 16) % 4]
    return f"{h[:8]}-{h[8:12]}-7{h[13:16]}-{variant}{h[17:20]}-{h[20:]}"


@st.composite
def envelopes(draw: st.DrawFn) -> dict[str, Any]:
    """A valid envelope: system.test or a household certificate, with generated field values."""
    if draw(st.booleans()):
        rtype, payload = "system.test", {"fields": {"note": draw(st.text(max_size=200))}}
    else:
        applicant = {"id_number": "990000199001010017", "name": "张三", "identified_by": "card"}
        fields = {
            "purpose": draw(st.sampled_from(["school", "employment", "other"])),
            "copies": draw(st.integers(1, 3)),
            "phone": "138" + draw(st.text("0123456789", min_size=8, max_size=8)),
        }
        rtype, payload = "household.household_certificate", {"applicant": applicant, "fields": fields}
    return {
        "envelope_version": 1,
        "request_id": draw(request_ids()),
        "kiosk_id": KEY.key_id,
        "sequence": draw(st.integers(1, 2**63 - 1)),
        "created_at": "2026-11-28T12:00:00.000Z",
        "request_type": rtype,
        "request_version": 1,
        "test": draw(st.booleans()),
        "payload": payload,
        "attachments": [],
    }


@st.composite
def near_valid(draw: st.DrawFn) -> tuple[bytes, str]:
    """A valid envelope with one thing broken, as (body bytes, Idempotency-Key)."""
    env = draw(envelopes())
    key = env["request_id"]
    how = draw(
        st.sampled_from(["drop", "add", "replace", "payload", "encoding", "cut", "deep", "surrogate", "none"])
    )
    encoding = "utf-8"
    ascii_only = draw(st.booleans())
    if how == "drop":
        del env[draw(st.sampled_from(sorted(env)))]
    elif how == "add":
        env[draw(st.text(max_size=10))] = draw(JSON)
    elif how == "replace":
        env[draw(st.sampled_from(sorted(env)))] = draw(JSON)
    elif how == "payload":
        target = env["payload"]["fields"]
        target[draw(st.sampled_from([*sorted(target), "extra"]))] = draw(JSON)
    elif how == "surrogate":  # a "\\ud800" escape: valid JSON, but no UTF-8 text can hold it
        target = env["payload"]["fields"]
        lone = draw(st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3))
        target[draw(st.sampled_from(sorted(target)))] = draw(st.text(max_size=5)) + lone
        ascii_only = True
    elif how == "encoding":
        encoding = draw(st.sampled_from(["utf-16", "utf-16-le", "utf-32", "utf-8-sig", "gb18030"]))
    elif how == "deep":
        depth = draw(st.integers(10, 100_000))
        env["payload"]["fields"]["note"] = json.loads("[" * min(depth, 500) + "]" * min(depth, 500))
        if depth > 500:  # deeper than Python's parser can go: built as text
            text = json.dumps(env).replace('"note": [', '"note": ' + "[" * depth, 1)
            return text.replace("]", "]" * depth, 1).encode(), key
    body = json.dumps(env, ensure_ascii=ascii_only).encode(encoding)
    if how == "cut":
        body = body[: draw(st.integers(0, len(body) - 1))]
    return body, key


# -- the property -------------------------------------------------------------------------------


def _valid(body: bytes) -> bool:
    """The contract: UTF-8 JSON text (no lone surrogates) that is a valid envelope."""
    try:
        doc = json.loads(body.decode("utf-8"))
        json.dumps(doc, ensure_ascii=False).encode("utf-8")
        validate_envelope(doc)
    except (ValueError, RecursionError):
        return False
    return True


def _post_and_check(server: Server, body: bytes, idem: str) -> requests.Response:
    headers = KEY.sign("POST", "/v1/requests", body)
    headers["Idempotency-Key"] = idem
    before = server.backend.store.stats()["requests"]
    try:
        answer = server.session.post(server.url + "/v1/requests", data=body, headers=headers, timeout=10)
    except requests.ConnectionError as exc:
        server.session.close()
        server.session = requests.Session()
        pytest.fail(f"the server dropped the connection (a crash in the handler): {exc}")
    after = server.backend.store.stats()["requests"]
    assert answer.status_code < 500, answer.text
    problem = answer.json()
    if 200 <= answer.status_code < 300:
        assert _valid(body), (answer.status_code, body[:200])
        assert server.backend.store.status(problem["request_id"]) is not None
        assert after - before == (1 if answer.status_code == 201 else 0)
    else:
        assert 400 <= answer.status_code < 500
        assert isinstance(problem["error"], str) and problem["error"], problem
        assert after == before, "a refused body was stored"
    return answer


@FUZZ
@given(
    body=st.binary(max_size=2000),
    idem=st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), max_size=40),
)
def test_arbitrary_bytes_are_refused_calmly(server: Server, body: bytes, idem: str) -> None:
    _post_and_check(server, body, idem)


@FUZZ
@given(doc=JSON, encoding=st.sampled_from(["utf-8", "utf-16", "utf-32"]))
def test_arbitrary_json_is_refused_calmly(server: Server, doc: Any, encoding: str) -> None:
    _post_and_check(server, json.dumps(doc).encode(encoding), "k")


@FUZZ
@given(case=near_valid())
def test_near_valid_envelopes_are_refused_or_stored(server: Server, case: tuple[bytes, str]) -> None:
    body, idem = case
    answer = _post_and_check(server, body, idem)
    if _valid(body):
        assert answer.status_code in (200, 201, 422), answer.text  # 422: a generated id met again


@FUZZ
@given(env=envelopes())
def test_valid_envelopes_are_stored(server: Server, env: dict[str, Any]) -> None:
    body = json.dumps(env, ensure_ascii=False).encode()
    answer = _post_and_check(server, body, env["request_id"])
    assert answer.status_code in (200, 201, 422), answer.text
    if answer.status_code != 422:
        assert answer.json()["request_id"] == env["request_id"]


# -- crashes the fuzzers found, kept as examples --------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/requests", "\ufeff{}".encode("utf-16")),  # json.loads takes UTF-16; the store wanted UTF-8
        ("/v1/requests", b"[" * 100_000),  # RecursionError in the JSON parser
        ("/v1/heartbeat", b'{"kiosk_id": "KIOSK-C1", "health": {"a": "\\ud800"}}'),  # lone surrogate
        (
            "/v1/heartbeat",
            b'{"kiosk_id": "KIOSK-C1", "health": {}, "analytics": [{"service": "s",'
            b' "step": "s", "outcome": "o", "count": 99999999999999999999}]}',
        ),  # SQLite INTEGER overflow
        ("/v1/lookup/violations", b'{"plate": "\\udc00"}'),
        ("/v1/lookup/violations", b"[1]"),  # not an object: .get on a list
        ("/v1/alerts", b"[" * 100_000),
    ],
)
def test_bodies_that_crashed_a_handler_are_400(server: Server, path: str, body: bytes) -> None:
    headers = KEY.sign("POST", path, body)
    answer = server.session.post(server.url + path, data=body, headers=headers, timeout=10)
    assert answer.status_code == 400 and answer.json()["error"].startswith("invalid_"), answer.text


@pytest.mark.parametrize("header", ["X-Kiosk-Nonce", "X-Kiosk-Timestamp", "X-Kiosk-Signature"])
def test_latin1_header_bytes_are_a_malformed_signature(server: Server, header: str) -> None:
    headers = KEY.sign("GET", "/v1/requests/by-tail/000000000000", b"")
    headers[header] = "\xb2" * 20  # "²": str.isdigit() says yes, the ASCII canonical string says no
    answer = server.session.get(server.url + "/v1/requests/by-tail/000000000000", headers=headers, timeout=10)
    assert answer.status_code == 401 and answer.json()["error"] == "malformed"
