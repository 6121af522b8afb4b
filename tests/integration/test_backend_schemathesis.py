"""Contract fuzzing: schemathesis generates requests for every operation of the backend's own OpenAPI
document (``/openapi.json``, read from the running server), valid ones and invalid ones, and every
answer must be documented: no 5xx or dropped connection, a documented status code, the documented
content type and a body matching the documented schema.

Each generated request is signed with the kiosk's key exactly as the kiosk signs (``SigningKey.sign``
over the bytes actually sent and the path with its query), so the fuzzer reaches the handlers past
authentication; for valid (positive) cases the per-case code also does what the kiosk does when it
builds a request: ``kiosk_id`` is the signing key's, ``Idempotency-Key`` the ``request_id``. The
staff operations get the staff bearer token. A second test sends generated requests unsigned, with
a wrong key or with schemathesis's junk signature: always 401, nothing stored.

Generated ids almost never name anything stored, so on their own the id routes would only ever be
fuzzed down their 404 branch. The server is seeded with real requests (submitted through a kiosk
outbox and delivered by the kiosk's sender) and real payments, and half of the positive cases aim
their ``request_id`` / ``payment_id`` / ``tail`` at one of them.

``KIOSK_SCHEMATHESIS_EXAMPLES`` is the number of cases per operation (default
10: 15 operations plus 11 x 3 unsigned, about 180 cases; positive and negative cases are drawn
together). The long run, 102,061 cases (docs/fuzzing.md):
``KIOSK_SCHEMATHESIS_EXAMPLES=6300 .venv/bin/python -m pytest tests/integration/test_backend_schemathesis.py --timeout 0``
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import (  # type: ignore[attr-defined]  # registered checks, module __getattr__
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from backend import staff
from backend.asgi import openapi_document
from contract.signing import SigningKey
from kiosk.queue.delivery import HttpSender, deliver_until_empty
from kiosk.queue.outbox import Outbox
from tests.integration.backend_server import Server, serving_store

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-C1", b"c" * 32)
STAFF = ""  # a reviewer's API token, made by the server fixture (backend/staff.py)
EXAMPLES = int(os.environ.get("KIOSK_SCHEMATHESIS_EXAMPLES", "10"))
FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # cases come from the document; a stored failing case would outlive a fix of it
    suppress_health_check=list(HealthCheck),
)
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
SCHEMA = schemathesis.openapi.from_dict(openapi_document())
OPERATIONS = {op.label: op for op in (r.ok() for r in SCHEMA.get_all_operations())}
PUBLIC = {"GET /healthz", "GET /status/{request_id}"}
STAFF_OPS = {"POST /v1/jobs/take", "POST /v1/jobs/{request_id}/{action}"}
SIGNED = sorted(set(OPERATIONS) - PUBLIC - STAFF_OPS)


@pytest.fixture(scope="module")
def server(module_store_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    global STAFF
    with serving_store(module_store_url, {KEY.key_id: KEY.secret}) as running:
        store = running.backend.store
        if staff.get_account(store, "fuzz") is None:
            staff.add_account(store, "fuzz", "reviewer", "fuzz-password-1")
        STAFF = staff.create_token(store, "fuzz", "schemathesis")
        _seed(running, tmp_path_factory.mktemp("seed-kiosk"))
        yield running
    print(f"\nschemathesis answers by operation and status: {json.dumps(running.counts, sort_keys=True)}")


def _seed(server: Server, folder: Path) -> None:
    """Three requests the way a kiosk files them, and three payments, for the id routes to find."""
    with Outbox(folder / "outbox.db", KEY.key_id) as outbox:
        ids = [
            outbox.submit("system.test", 1, {"fields": {"note": f"seed {i}"}}, test=True).request_id
            for i in range(3)
        ]
        sender = HttpSender(server.url, KEY)
        try:
            assert deliver_until_empty(outbox, sender, timeout_s=30) == 3
        finally:
            sender.close()
    payments = []
    for amount in (100, 20000, 5):
        body = json.dumps({"amount_fen": amount, "purpose": "seed"}).encode()
        headers = {"Content-Type": "application/json", **KEY.sign("POST", "/v1/payments", body)}
        answer = server.session.post(server.url + "/v1/payments", data=body, headers=headers, timeout=10)
        assert answer.status_code == 201, answer.text
        payments.append(answer.json()["payment_id"])
    server.known = {
        "request_id": ids,
        "payment_id": payments,
        "tail": [i.replace("-", "")[-12:] for i in ids],
    }


def _aim_at_known(case: schemathesis.Case, server: Server, data: st.DataObject) -> None:
    """Half of the time, point the case's id path parameters at something that exists."""
    params = case.path_parameters or {}
    for name in sorted(set(params) & set(server.known)):
        if data.draw(st.booleans(), label=f"aim {name}"):
            params[name] = data.draw(st.sampled_from(server.known[name]), label=name)


def test_the_served_document_is_the_one_fuzzed(server: Server) -> None:
    served = server.session.get(server.url + "/openapi.json", timeout=5).json()
    assert served == json.loads(json.dumps(openapi_document()))
    assert len(OPERATIONS) >= 15


def _prepare(case: schemathesis.Case, server: Server, positive: bool) -> requests.PreparedRequest:
    """The request as requests would send it; positive cases made the way the kiosk makes them."""
    kwargs: dict[str, Any] = case.as_transport_kwargs(base_url=server.url)
    body = kwargs.get("json")
    if positive and isinstance(body, dict) and case.operation.label == "POST /v1/requests":
        body["kiosk_id"] = KEY.key_id
        if isinstance(body.get("request_id"), str):
            kwargs["headers"]["Idempotency-Key"] = body["request_id"]
    if (
        positive
        and isinstance(body, dict)
        and case.operation.label in ("POST /v1/alerts", "POST /v1/heartbeat")
    ):
        body["kiosk_id"] = KEY.key_id
    allowed = {"method", "url", "headers", "params", "json", "data", "cookies", "files"}
    return requests.Request(**{k: v for k, v in kwargs.items() if k in allowed}).prepare()


def _body_bytes(prepared: requests.PreparedRequest) -> bytes:
    body = prepared.body
    if body is None:
        return b""
    return body.encode("utf-8") if isinstance(body, str) else bytes(body)


def _send(server: Server, prepared: requests.PreparedRequest) -> requests.Response:
    try:
        return server.session.send(prepared, timeout=10)
    except requests.ConnectionError as exc:  # the handler died: the stdlib server drops the connection
        server.session.close()
        server.session = requests.Session()
        pytest.fail(f"the server dropped {prepared.method} {prepared.path_url}: {exc}")


def _count(server: Server, label: str, status: int) -> None:
    key = f"{label} {status}"
    server.counts[key] = server.counts.get(key, 0) + 1


def _case(label: str) -> st.SearchStrategy[tuple[schemathesis.Case, bool]]:
    op = OPERATIONS[label]
    return st.one_of(
        op.as_strategy(generation_mode=GenerationMode.POSITIVE).map(lambda c: (c, True)),
        op.as_strategy(generation_mode=GenerationMode.NEGATIVE).map(lambda c: (c, False)),
    )


@pytest.mark.parametrize("label", sorted(OPERATIONS))
@FUZZ
@given(data=st.data())
def test_every_answer_is_documented(server: Server, label: str, data: st.DataObject) -> None:
    case, positive = data.draw(_case(label))
    if positive:
        _aim_at_known(case, server, data)
    prepared = _prepare(case, server, positive)
    if label in STAFF_OPS:
        prepared.headers["Authorization"] = f"Bearer {STAFF}"
    elif label not in PUBLIC:
        prepared.headers.update(KEY.sign(prepared.method or "GET", prepared.path_url, _body_bytes(prepared)))
    response = _send(server, prepared)
    _count(server, label, response.status_code)
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize("label", SIGNED)
@settings(FUZZ, max_examples=max(3, EXAMPLES // 5))
@given(data=st.data(), how=st.sampled_from(["unsigned", "wrong_key", "junk"]))
def test_unsigned_requests_are_refused(server: Server, label: str, data: st.DataObject, how: str) -> None:
    case, positive = data.draw(_case(label))
    prepared = _prepare(case, server, positive)
    if how == "unsigned":
        prepared.headers.pop("X-Kiosk-Signature", None)
    elif how == "wrong_key":
        wrong = SigningKey(KEY.key_id, b"w" * 32)
        prepared.headers.update(
            wrong.sign(prepared.method or "GET", prepared.path_url, _body_bytes(prepared))
        )
    before = server.backend.store.stats()["requests"]
    response = _send(server, prepared)
    _count(server, f"{how} {label}", response.status_code)
    assert response.status_code == 401, (response.status_code, response.text)
    assert response.json()["error"] in ("missing_header", "bad_signature", "malformed", "digest_mismatch")
    assert server.backend.store.stats()["requests"] == before


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/jobs/take", {"worker": "desk\u00001"}),
        ("/v1/jobs/00000000-0000-7000-8000-000000000000/reject", {"reason": "bad\u0000photo"}),
        ("/v1/heartbeat", {"kiosk_id": KEY.key_id, "health": {"ok": True, "printer\u0000": "ok"}}),
        ("/v1/heartbeat", {"kiosk_id": KEY.key_id, "health": {"printer": ["paper\u0000out"]}}),
        ("/v1/lookup/vehicle", {"plate": "京A1\u00000005"}),
    ],
)
def test_nul_in_stored_text_is_refused_not_a_crash(server: Server, path: str, body: dict[str, Any]) -> None:
    """Found by this fuzzer on PostgreSQL, twice (its text type cannot hold NUL): the handler died on
    a job's reason, then on a heartbeat's health. Every endpoint that stores decoded strings now
    refuses a NUL anywhere in the body, as a key or a value, at any depth."""
    raw = json.dumps(body).encode()
    assert b"\\u0000" in raw
    headers = {"Content-Type": "application/json"}
    if path.startswith("/v1/jobs/"):
        headers["Authorization"] = f"Bearer {STAFF}"
    else:
        headers.update(KEY.sign("POST", path, raw))
    answer = server.session.post(server.url + path, data=raw, headers=headers, timeout=10)
    assert answer.status_code == 400, (answer.status_code, answer.text)
    assert answer.json()["error"] in ("invalid_body", "invalid_heartbeat")
    assert "NUL" in answer.json().get("detail", answer.text)
