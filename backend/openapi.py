"""The ingest's OpenAPI 3.1 document, served at ``/openapi.json``; request bodies reference the
same JSON Schemas the kiosk validates against (``kiosk/schemas``)."""

from __future__ import annotations

from functools import cache
from typing import Any

from backend.alerts import SCHEMA as ALERT_SCHEMA
from kiosk.schemas import load_schema, request_types

_SIGNED: list[dict[str, list[str]]] = [{"kioskHmac": []}]


def _op(summary: str, responses: dict[str, str], body: str | None = None) -> dict[str, Any]:
    op: dict[str, Any] = {
        "summary": summary,
        "security": _SIGNED,
        "responses": {code: {"description": text} for code, text in responses.items()},
    }
    if body:
        op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": body}}}}
    return op


@cache
def openapi_document() -> dict[str, Any]:
    schemas: dict[str, Any] = {"Envelope": load_schema("envelope", 1), "HelpAlert": ALERT_SCHEMA}
    for name, versions in request_types().items():
        for v in versions:
            schemas[f"{name}.v{v}"] = load_schema(name, v)
    lookup = {"200": "answer", "400": "bad input", "401": "signature refused", "404": "not found"}
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
                }
            },
        },
        "paths": {
            "/v1/requests": {
                "post": _op(
                    "Submit a request (Idempotency-Key: request_id)",
                    {
                        "201": "stored; the receipt",
                        "200": "duplicate; the same receipt",
                        "400": "invalid body (permanent)",
                        "401": "signature, stale timestamp or replayed nonce",
                        "422": "request_id reused with a different body",
                    },
                    "#/components/schemas/Envelope",
                )
            },
            "/v1/requests/{request_id}": {
                "get": _op("Status of a request", {"200": "status", "404": "unknown"})
            },
            "/v1/requests/by-tail/{tail}": {
                "get": _op(
                    "Requests whose number ends in this last group (12 hex digits): at most two",
                    {"200": "{requests: [status, ...]}, empty when none"},
                )
            },
            "/status/{request_id}": {
                "get": {
                    "summary": "HTML status page for the receipt QR",
                    "responses": {"200": {"description": "page"}},
                }
            },
            "/v1/lookup/violations": {
                "post": _op("Outstanding traffic violations for a person or plate", lookup)
            },
            "/v1/lookup/vehicle": {"post": _op("Vehicle record for a plate", lookup)},
            "/v1/payments": {"post": _op("Create a payment order", {"201": "order with QR text", **lookup})},
            "/v1/payments/{payment_id}": {"get": _op("Poll a payment order", lookup)},
            "/v1/payments/{payment_id}/cancel": {"post": _op("Cancel a payment order", lookup)},
            "/v1/identity/verify": {"post": _op("Verify identity for a temporary certificate", lookup)},
            "/v1/alerts": {
                "post": _op(
                    "A resident asked for staff at a kiosk (help button); no personal data",
                    {
                        "201": "stored",
                        "200": "this alert_id was stored before (a retry)",
                        "400": "invalid alert (permanent)",
                        "401": "signature, stale timestamp or replayed nonce",
                    },
                    "#/components/schemas/HelpAlert",
                )
            },
            "/v1/jobs/take": {
                "post": {
                    "summary": "Staff: take the oldest received request (bearer token)",
                    "responses": {"200": {"description": "job"}, "204": {"description": "none"}},
                }
            },
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
        },
    }
