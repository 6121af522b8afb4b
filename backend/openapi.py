"""The ingest's OpenAPI 3.1 document, served at ``/openapi.json``; request bodies reference the
same JSON Schemas the kiosk validates against (``contract/schemas``).

Every answer the server can give to a documented operation is listed with its body's schema, so a
contract fuzzer (tests/integration/test_backend_schemathesis.py) can hold the server to it: an
undocumented status or a body of the wrong shape is a failure.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from backend.alerts import SCHEMA as ALERT_SCHEMA
from contract.schemas import load_schema, request_types

_SIGNED: list[dict[str, list[str]]] = [{"kioskHmac": []}]
_UUID = "^[0-9a-f-]{36}$"
_JSON = "application/json"


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


def _answers(responses: dict[str, tuple[str, str | None]]) -> dict[str, Any]:
    """``{code: (description, schema name or None)}`` as OpenAPI responses with JSON bodies."""
    out: dict[str, Any] = {}
    for code, (text, schema) in responses.items():
        out[code] = {"description": text}
        if schema:
            out[code]["content"] = {_JSON: {"schema": _ref(schema)}}
    return out


def _op(
    summary: str,
    responses: dict[str, tuple[str, str | None]],
    body: dict[str, Any] | None = None,
    params: list[dict[str, Any]] | None = None,
    security: list[dict[str, list[str]]] | None = None,
) -> dict[str, Any]:
    """A signed operation: 401 (signature refused) is always a possible answer."""
    answers = {"401": ("signature, stale timestamp or replayed nonce", "Problem"), **responses}
    op: dict[str, Any] = {"summary": summary, "security": security or _SIGNED, "responses": _answers(answers)}
    if body is not None:
        op["requestBody"] = {"required": True, "content": {_JSON: {"schema": body}}}
    if params:
        op["parameters"] = params
    return op


def _path_param(name: str, pattern: str) -> dict[str, Any]:
    return {"name": name, "in": "path", "required": True, "schema": {"type": "string", "pattern": pattern}}


def _object(props: dict[str, Any], required: tuple[str, ...] = (), extra: bool = True) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": props, "required": list(required)}
    if not extra:
        schema["additionalProperties"] = False
    return schema


_STR = {"type": "string"}
_INT = {"type": "integer"}
_REQUEST_STATUS = _object(
    {
        "request_id": _STR,
        "request_type": _STR,
        "status": {"enum": ["received", "in_progress", "done", "rejected"]},
        "reason": {"type": ["string", "null"]},
        "received_at": _STR,
        "updated_at": {"type": ["string", "null"]},
    },
    ("request_id", "request_type", "status", "received_at"),
)
_ANSWERS: dict[str, Any] = {
    "Problem": _object({"error": _STR, "detail": _STR}, ("error",)),
    "Ok": _object({"ok": {"const": True}}, ("ok",)),
    "Receipt": _object(
        {
            "request_id": _STR,
            "kiosk_id": _STR,
            "sequence": {"type": "integer", "minimum": 1},
            "received_at": _STR,
            "status_path": _STR,
        },
        ("request_id", "kiosk_id", "sequence", "received_at", "status_path"),
    ),
    "RequestStatus": _REQUEST_STATUS,
    "RequestsByTail": _object(
        {"requests": {"type": "array", "maxItems": 2, "items": _ref("RequestStatus")}}, ("requests",)
    ),
    "Violations": _object(
        {
            "violations": {
                "type": "array",
                "items": _object(
                    {
                        "violation_id": _STR,
                        "date": _STR,
                        "amount_fen": _INT,
                        "points": _INT,
                        "decision_no": _STR,
                    },
                    ("violation_id", "date", "amount_fen", "points"),
                ),
            }
        },
        ("violations",),
    ),
    "Vehicle": _object(
        {"vehicle": _object({"plate": _STR, "status": _STR}, ("plate", "status"))}, ("vehicle",)
    ),
    "Payment": _object(
        {
            "payment_id": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
            "status": {"enum": ["pending", "paid", "cancelled"]},
            "amount_fen": {"type": "integer", "minimum": 1},
            "qr_text": _STR,
        },
        ("payment_id", "status", "amount_fen"),
    ),
    "Verification": _object(
        {
            "verification_id": _STR,
            "verified": {"type": "boolean"},
            "reason": _STR,
            "holder": {"type": "object"},
        },
        ("verification_id", "verified", "reason"),
    ),
    "AlertStored": _object({"alert_id": _STR, "stored": {"const": True}}, ("alert_id", "stored")),
    "Job": {"$ref": "#/components/schemas/Envelope"},
}
_LOOKUP_BODY = _object({"id_number": _STR, "plate": _STR})
_HEARTBEAT = _object(
    {
        "kiosk_id": {"type": "string", "description": "must be the signing key's kiosk"},
        "health": {"type": "object"},
        "analytics": {
            "type": "array",
            "items": _object(
                {"service": _STR, "step": _STR, "outcome": _STR, "count": {"type": "integer", "minimum": 0}},
                ("service", "step", "outcome", "count"),
            ),
        },
    },
    ("kiosk_id", "health"),
)


def _embedded(schema: dict[str, Any]) -> dict[str, Any]:
    """A kiosk schema inside the document: its own ``$id``/``$schema`` would re-base references."""
    return {k: v for k, v in schema.items() if k not in ("$id", "$schema")}


@cache
def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Envelope": _embedded(load_schema("envelope", 1)), "HelpAlert": ALERT_SCHEMA}
    for name, versions in request_types().items():
        for v in versions:
            schemas[f"{name}.v{v}"] = _embedded(load_schema(name, v))
    # what the ingest accepts: the envelope whose payload matches its named type and version
    schemas["Submission"] = {
        "oneOf": [
            {
                "allOf": [
                    _ref("Envelope"),
                    {
                        "properties": {
                            "request_type": {"const": name},
                            "request_version": {"const": v},
                            "payload": _ref(f"{name}.v{v}"),
                        }
                    },
                ]
            }
            for name, versions in request_types().items()
            for v in versions
        ]
    }
    schemas.update(_ANSWERS)
    bad = ("bad input, or a body that is not a JSON object", "Problem")
    lookup = {"400": bad, "404": ("not found", "Problem")}
    payment = _path_param("payment_id", "^[0-9a-f]{32}$")
    staff: list[dict[str, list[str]]] = [{"staffBearer": []}]
    staff_off = ("no such job, or the staff API is off (no token configured)", "Problem")
    return {
        "openapi": "3.1.0",
        "info": {"title": "Police kiosk reference backend", "version": "1"},
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "kioskHmac": {
                    "type": "apiKey",
                    "in": "header",
                    "name": "X-Kiosk-Signature",
                    "description": "HMAC-SHA256 over timestamp, nonce, method, path and body SHA-256; "
                    "headers X-Kiosk-Key-Id, X-Kiosk-Timestamp, X-Kiosk-Nonce, X-Kiosk-Content-SHA256 "
                    "(see docs/backend.md)",
                },
                "staffBearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "paths": {
            "/v1/requests": {
                "post": _op(
                    "Submit a request (Idempotency-Key: request_id)",
                    {
                        "201": ("stored; the receipt", "Receipt"),
                        "200": ("duplicate; the same receipt", "Receipt"),
                        "400": ("invalid body, kiosk or Idempotency-Key mismatch (permanent)", "Problem"),
                        "413": ("body over 8 MiB", "Problem"),
                        "422": ("request_id reused with a different body", "Problem"),
                    },
                    _ref("Submission"),
                    [{"name": "Idempotency-Key", "in": "header", "required": True, "schema": _STR}],
                )
            },
            "/v1/requests/{request_id}": {
                "get": _op(
                    "Status of a request",
                    {"200": ("status", "RequestStatus"), "404": ("unknown", "Problem")},
                    params=[_path_param("request_id", _UUID)],
                )
            },
            "/v1/requests/by-tail/{tail}": {
                "get": _op(
                    "Requests whose number ends in this last group (12 hex digits): at most two",
                    {
                        "200": ("{requests: [status, ...]}, empty when none", "RequestsByTail"),
                        "404": ("not 12 hex digits", "Problem"),
                    },
                    params=[_path_param("tail", "^[0-9a-f]{12}$")],
                )
            },
            "/status/{request_id}": {
                "get": {
                    "summary": "HTML status page for the receipt QR",
                    "parameters": [_path_param("request_id", _UUID)],
                    "responses": {
                        "200": {"description": "page", "content": {"text/html": {"schema": _STR}}},
                        "404": {
                            "description": "no such request (a page), or not a request number (JSON)",
                            "content": {"text/html": {"schema": _STR}, _JSON: {"schema": _ref("Problem")}},
                        },
                    },
                }
            },
            "/v1/lookup/violations": {
                "post": _op(
                    "Outstanding traffic violations for a person or plate",
                    {"200": ("answer", "Violations"), **lookup},
                    _LOOKUP_BODY,
                )
            },
            "/v1/lookup/vehicle": {
                "post": _op(
                    "Vehicle record for a plate", {"200": ("answer", "Vehicle"), **lookup}, _LOOKUP_BODY
                )
            },
            "/v1/payments": {
                "post": _op(
                    "Create a payment order",
                    {"201": ("order with QR text", "Payment"), **lookup},
                    _object(
                        {"amount_fen": {"type": "integer", "minimum": 1}, "purpose": _STR}, ("amount_fen",)
                    ),
                )
            },
            "/v1/payments/{payment_id}": {
                "get": _op("Poll a payment order", {"200": ("order", "Payment"), **lookup}, params=[payment])
            },
            "/v1/payments/{payment_id}/cancel": {
                "post": _op(
                    "Cancel a payment order", {"200": ("order", "Payment"), **lookup}, params=[payment]
                )
            },
            "/v1/identity/verify": {
                "post": _op(
                    "Verify identity for a temporary certificate",
                    {"200": ("answer (verified or the reason not)", "Verification"), **lookup},
                    _object({"id_number": _STR, "name": _STR, "photo_sha256": _STR}),
                )
            },
            "/v1/alerts": {
                "post": _op(
                    "A resident asked for staff at a kiosk (help button); no personal data",
                    {
                        "201": ("stored", "AlertStored"),
                        "200": ("this alert_id was stored before (a retry)", "AlertStored"),
                        "400": ("invalid alert (permanent)", "Problem"),
                    },
                    _ref("HelpAlert"),
                )
            },
            "/v1/heartbeat": {
                "post": _op(
                    "Kiosk health and step counts (analytics), every few minutes",
                    {"200": ("kept", "Ok"), "400": ("invalid heartbeat", "Problem")},
                    _HEARTBEAT,
                )
            },
            "/v1/jobs/take": {
                "post": _op(
                    "Staff: take the oldest received request (bearer token)",
                    {
                        "200": ("the request's envelope", "Job"),
                        "204": ("none waiting", None),
                        "400": bad,
                        "404": staff_off,
                    },
                    _object({"worker": _STR}),
                    security=staff,
                )
            },
            "/v1/jobs/{request_id}/{action}": {
                "post": _op(
                    "Staff: complete or reject (with a reason) a taken request",
                    {"200": ("done", "Ok"), "400": bad, "404": staff_off, "409": ("not open", "Problem")},
                    _object({"reason": _STR}),
                    [
                        _path_param("request_id", _UUID),
                        {**_path_param("action", ""), "schema": {"enum": ["complete", "reject"]}},
                    ],
                    security=staff,
                )
            },
            "/healthz": {"get": {"summary": "Liveness", "responses": _answers({"200": ("ok", "Ok")})}},
        },
    }
