"""The backend's HTTP API as an ASGI app: ``create_app(backend) -> FastAPI``.

Routes (the OpenAPI document, generated from the routes and :mod:`backend.models`, is served at
``/openapi.json``):

    POST /v1/requests                 signed; 201 new, 200 duplicate (same receipt), 422 id reused
    GET  /v1/requests/{id}            signed; the request's status
    GET  /v1/requests/by-tail/{12hex} signed; {"requests": [...]} ending in the number's last group
    GET  /v1/requests/by-number/{12}  signed; the status of the request with this 受理号
    POST /v1/requests/by-holder       signed; {"id_number", "source": "card_reader"}: masked list
    GET  /status/{id or 受理号}       public HTML status page (the receipt QR points here)
    POST /v1/lookup/violations|vehicle, /v1/identity/verify, /v1/payments,
    GET  /v1/payments/{id}, POST /v1/payments/{id}/cancel|code   signed look-ups (backend/lookups.py)
    POST /v1/fines/by-holder|by-plate|by-decision|decide|settle   signed (backend/fines.py)
    POST /v1/payments/{id}/simulate-paid   only with ``kiosk-backend serve --simulate``
    POST /v1/lookup/household         signed; same household or not (backend/households.py)
    POST /v1/alerts, /v1/heartbeat    signed
    POST /v1/jobs/take, /v1/jobs/{id}/complete|reject   staff API, a person's bearer token (backend/staff.py)
    GET  /healthz

Every signed route goes through :func:`read_signed`: the signature is checked from the headers
alone (it covers the body's digest header), so an unsigned or wrongly signed request is refused
before its body is read; then the body is read against the size limit, held to its digest, and
the nonce is claimed in the store (per key, durably): a replay is refused on every signed route.
Refusals that leave a body unread close the connection, so it is never parsed as a next request.

Adding a route is one function on a router, handed to ``create_app(backend, routers=[...])``
(``kiosk-backend serve`` mounts what ``backend.cli.mounted_routers()`` returns; or add the
function to :func:`kiosk_router` here)::

    router = APIRouter()

    @router.get("/v1/requests/by-number/{number}", **documented(
        "Requests by acceptance number", {200: ("found", RequestStatus), 404: ("unknown", Problem)}))
    async def by_number(request: Request, number: str) -> Response:
        await read_signed(request)                       # 401 unless signed, fresh and new
        store = backend_of(request).store
        found = await run_in_threadpool(store.status_by_number, number)  # blocking store: a thread
        return answer(200, found) if found else problem(404, "unknown_request")

Import ``Request`` and ``Response`` at module level: FastAPI resolves the (postponed) annotations
from the module's globals. ``documented`` takes ``signed=False`` for a public route and
``body="ModelName"`` for a request body schema (a model listed in ``backend.models.BODY_MODELS``);
staff routes use :func:`require_staff` (a person's token, backend/staff.py). Blocking work (the
store, the adapters) runs in the thread pool.
"""

from __future__ import annotations

import html
import json
import logging
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

from fastapi import APIRouter, FastAPI, Path, Request
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect
from starlette.types import ASGIApp, Receive, Scope, Send

from backend import fines, models, review, staff, vehicles
from backend.alerts import SCHEMA as ALERT_SCHEMA
from backend.alerts import parse_alert, store_alert
from backend.app import MAX_BODY, Backend, loads
from backend.console.app import create_console
from backend.keys import Verified, check_body
from backend.staff import Account, transport_ok
from backend.store import mask_holder, parse_holder_query
from contract.ids import NUMBER_DIGITS, group_number
from contract.schemas import SchemaViolation, load_schema, request_types, validate_envelope
from contract.signing import SignatureError

log = logging.getLogger(__name__)

_UUID = "^[0-9a-f-]{36}$"
_UUID_RE = re.compile(_UUID)
_TAIL = "^[0-9a-f]{12}$"
_NUMBER = "^[0-9]{12}$"  # an acceptance number (受理号), its check digit verified by the store
_STATUS_KEY = "^([0-9a-f-]{36}|[0-9]{12})$"
_PAY = "^[0-9a-f]{32}$"
_JSON = "application/json"
_IDEMPOTENCY_KEY = {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string"}}
_STATUS_TEXT = {
    "received": ("已受理", "Received"),
    "in_progress": ("办理中", "In progress"),
    "done": ("已办结", "Done"),
    "rejected": ("未通过", "Rejected"),
}


class Refusal(Exception):
    """An answer other than success, raised from inside a route: ``{"error", "detail"}``.
    ``close``: the body was left unread, so the connection is closed after the answer."""

    def __init__(self, status: int, error: str, detail: str = "", *, close: bool = False) -> None:
        super().__init__(detail or error)
        self.status, self.error, self.detail, self.close = status, error, detail, close


# -- helpers for routes ---------------------------------------------------------------------------


def backend_of(request: Request) -> Backend:
    backend: Backend = request.app.state.backend
    return backend


def answer(status: int, body: Any) -> Response:
    """A JSON answer (``body`` already JSON text, or anything ``json.dumps`` takes)."""
    text = body if isinstance(body, str | bytes) else json.dumps(body, ensure_ascii=False)
    return Response(content=text, status_code=status, media_type=_JSON)


def problem(status: int, error: str, detail: str = "", *, close: bool = False) -> Response:
    headers = {"Connection": "close"} if close else None
    body = json.dumps({"error": error, "detail": detail}, ensure_ascii=False)
    return Response(content=body, status_code=status, media_type=_JSON, headers=headers)


def signed_path(request: Request) -> str:
    """The request target as the kiosk signed it: the raw path and its query string."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode("utf-8")
    query = request.scope.get("query_string", b"")
    return raw.decode("latin-1") + ("?" + query.decode("latin-1") if query else "")


async def read_body(request: Request) -> bytes:
    """The body, read only up to :data:`MAX_BODY` (a larger declared length is refused unread)."""
    declared = request.headers.get("content-length", "0")
    length = int(declared) if declared.isdigit() else -1  # h11 already refused a malformed length
    if length > MAX_BODY:
        raise Refusal(413, "bad_length", f"the body is over {MAX_BODY} bytes", close=True)
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > MAX_BODY:
                raise Refusal(413, "bad_length", f"the body is over {MAX_BODY} bytes", close=True)
            chunks.append(chunk)
    except ClientDisconnect as exc:
        raise Refusal(400, "client_disconnected", close=True) from exc
    return b"".join(chunks)


async def read_signed(request: Request, *, claim_nonce: bool = True) -> tuple[Verified, bytes]:
    """Verify the signature from the headers, then read the body and hold it to its digest, then
    claim the nonce (``claim_nonce=False``: the route claims it in its own transaction)."""
    backend = backend_of(request)
    try:
        verified = backend.keyring.verify_headers(
            dict(request.headers.items()),
            request.method,
            signed_path(request),
            now=time.time(),
            max_skew_s=backend.max_skew_s,
        )
    except SignatureError as exc:
        raise Refusal(401, exc.reason, str(exc), close=_has_body(request)) from exc
    body = await read_body(request)
    try:
        check_body(verified, body)
    except SignatureError as exc:
        raise Refusal(401, exc.reason, str(exc)) from exc
    if claim_nonce and not await run_in_threadpool(backend.claim_nonce, verified):
        raise Refusal(401, "replayed_nonce", "this signed request was received before")
    return verified, body


def _has_body(request: Request) -> bool:
    return request.headers.get("content-length", "0") not in ("0", "")


def json_object(body: bytes) -> dict[str, Any]:
    """The body as a JSON object (empty: ``{}``); anything else is refused with 400."""
    try:
        data = loads(body) if body else {}
    except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser's stack
        raise Refusal(
            400, "invalid_body", f"the body is not a JSON object the backend can store ({exc})"
        ) from exc
    if not isinstance(data, dict):
        raise Refusal(400, "invalid_body", "the body is not a JSON object")
    return data


def require_staff(request: Request) -> Account:
    """The staff member whose API token (``Authorization: Bearer kbt_...``, made by ``kiosk-backend
    staff token USER``) the request carries: the acting person comes from the account, never from
    the body. Refused over plain HTTP from another host (403), without a live token (401)."""
    if not transport_ok(request.url.scheme, request.client.host if request.client else ""):
        raise Refusal(403, "https_required", "staff routes need HTTPS off loopback", close=True)
    account = staff.account_for_token(backend_of(request).store, request.headers.get("authorization"))
    if account is None or not account.may("review"):
        raise Refusal(401, "staff_token_required", close=_has_body(request))
    return account


def documented(
    summary: str,
    answers: dict[int, tuple[str, type[BaseModel] | None]],
    *,
    body: str | dict[str, Any] | None = None,
    signed: bool = True,
    staff: bool = False,
    parameters: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Decorator keywords documenting a route: its answers (status → description, model), its
    request body (a model name of ``models.BODY_MODELS`` or a schema) and its security."""
    if signed and not staff:
        answers = {401: ("signature, stale timestamp or replayed nonce", models.Problem), **answers}
    if staff:
        answers = {401: ("staff token missing or wrong", models.Problem), **answers}
    responses: dict[int | str, dict[str, Any]] = {}
    for code, (text, model) in answers.items():
        responses[code] = {"description": text, **({"model": model} if model else {})}
    extra: dict[str, Any] = {}
    if signed or staff:
        extra["security"] = [{"staffBearer": []}] if staff else [{"kioskHmac": []}]
    if body is not None:
        schema = {"$ref": f"#/components/schemas/{body}"} if isinstance(body, str) else body
        extra["requestBody"] = {"required": True, "content": {_JSON: {"schema": schema}}}
    if parameters:
        extra["parameters"] = list(parameters)
    success = min((c for c in answers if 200 <= c < 300), default=200)
    return {"summary": summary, "responses": responses, "openapi_extra": extra, "status_code": success}


def _param(pattern: str) -> Any:
    """A path parameter documented with its pattern but checked by the route after the signature
    (a malformed id from an unsigned client gets 401, not a hint that the route exists)."""
    return Path(json_schema_extra={"pattern": pattern})


# -- the kiosk's routes ---------------------------------------------------------------------------

P = models


def kiosk_router() -> APIRouter:
    r = APIRouter()
    lookup: dict[int, tuple[str, type[BaseModel] | None]] = {
        400: ("bad input, or a body that is not a JSON object", P.Problem),
        404: ("not found", P.Problem),
    }

    @r.post(
        "/v1/requests",
        **documented(
            "Submit a request (Idempotency-Key: request_id)",
            {
                201: ("stored; the receipt", P.Receipt),
                200: ("duplicate; the same receipt", P.Receipt),
                400: ("invalid body, kiosk or Idempotency-Key mismatch (permanent)", P.Problem),
                413: ("body over 8 MiB", P.Problem),
                422: ("request_id reused with a different body", P.Problem),
            },
            body="Submission",
            parameters=[
                {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string"}}
            ],
        ),
    )
    async def submit(request: Request) -> Response:
        verified, body = await read_signed(request, claim_nonce=False)  # claimed with the request
        try:
            envelope = loads(body, nul_ok=True)
            validate_envelope(envelope)
        except (ValueError, TypeError, KeyError, RecursionError) as exc:
            detail = "; ".join(exc.problems) if isinstance(exc, SchemaViolation) else str(exc)
            raise Refusal(400, "invalid_body", detail) from exc
        if envelope["kiosk_id"] != verified.kiosk_id:
            raise Refusal(400, "kiosk_mismatch", "kiosk_id does not belong to the signing key")
        if request.headers.get("idempotency-key") != envelope["request_id"]:
            raise Refusal(400, "idempotency_key_mismatch")
        backend = backend_of(request)
        result = await run_in_threadpool(
            backend.store.ingest, verified.key_id, verified.nonce, verified.timestamp, envelope, body
        )
        if backend.answer_delay_s:
            await run_in_threadpool(time.sleep, backend.answer_delay_s)
        await run_in_threadpool(backend.maybe_purge_nonces)
        return answer(result.status, result.body)

    @r.get(
        "/v1/requests/{request_id}",
        **documented("Status of a request", {200: ("status", P.RequestStatus), 404: ("unknown", P.Problem)}),
    )
    async def request_status(request: Request, request_id: str = _param(_UUID)) -> Response:
        await read_signed(request)
        if not _UUID_RE.match(request_id):
            raise Refusal(404, "not_found")
        found = await run_in_threadpool(backend_of(request).store.status, request_id)
        return answer(200, found) if found else problem(404, "unknown_request")

    @r.get(
        "/v1/requests/by-tail/{tail}",
        **documented(
            "Requests whose number ends in this last group (12 hex digits): at most two",
            {
                200: ("{requests: [status, ...]}, empty when none", P.RequestsByTail),
                404: ("not 12 hex digits", P.Problem),
            },
        ),
    )
    async def by_tail(request: Request, tail: str = _param(_TAIL)) -> Response:
        await read_signed(request)
        if not re.fullmatch(_TAIL, tail):
            raise Refusal(404, "not_found")
        found = await run_in_threadpool(backend_of(request).store.find_by_tail, tail)
        return answer(200, {"requests": found})

    @r.get(
        "/v1/requests/by-number/{number}",
        **documented(
            "Status of the request with this acceptance number (受理号, 12 digits)",
            {200: ("status", P.RequestStatus), 404: ("unknown, or a failed check digit", P.Problem)},
        ),
    )
    async def by_number(request: Request, number: str = _param(_NUMBER)) -> Response:
        await read_signed(request)
        if not re.fullmatch(_NUMBER, number):
            raise Refusal(404, "not_found")
        found = await run_in_threadpool(backend_of(request).store.find_by_number, number)
        return answer(200, found) if found else problem(404, "unknown_request")

    @r.post(
        "/v1/requests/by-holder",
        **documented(
            "A card holder's newest requests, masked (the card lies on the kiosk's reader)",
            {200: ("{requests: [...]}", P.RequestsByHolder), 400: ("not a card-reader query", P.Problem)},
            body="HolderQuery",
        ),
    )
    async def by_holder(request: Request) -> Response:
        verified, body = await read_signed(request)
        try:
            id_number = parse_holder_query(json_object(body))
        except ValueError as exc:
            raise Refusal(400, "invalid_query", str(exc)) from exc
        found = await run_in_threadpool(backend_of(request).store.find_by_holder, id_number)
        log.info(
            "requests of card holder %s listed for kiosk %s: %d",
            mask_holder(id_number),
            verified.kiosk_id,
            len(found),
        )
        return answer(200, {"requests": found})

    async def _lookup(request: Request) -> Response:
        """A look-up adapter route: signed, then ``Lookups.handle`` (backend/lookups.py)."""
        verified, body = await read_signed(request)
        data = json_object(body)
        lookups = backend_of(request).lookups
        status, found = await run_in_threadpool(
            lookups.handle, request.method, signed_path(request), data, verified.kiosk_id
        )
        return answer(status, found)

    r.add_api_route(
        "/v1/lookup/violations",
        _lookup,
        methods=["POST"],
        **documented(
            "Outstanding traffic violations for a person or plate",
            {200: ("answer", P.Violations), **lookup},
            body="LookupBody",
        ),
    )
    r.add_api_route(
        "/v1/lookup/vehicle",
        _lookup,
        methods=["POST"],
        **documented("Vehicle record for a plate", {200: ("answer", P.Vehicle), **lookup}, body="LookupBody"),
    )
    r.add_api_route(
        "/v1/payments",
        _lookup,
        methods=["POST"],
        **documented(
            "Create a payment order", {201: ("order with QR text", P.Payment), **lookup}, body="PaymentBody"
        ),
    )
    r.add_api_route(
        "/v1/identity/verify",
        _lookup,
        methods=["POST"],
        **documented(
            "Verify identity for a temporary certificate",
            {200: ("answer (verified or the reason not)", P.Verification), **lookup},
            body="IdentityBody",
        ),
    )

    @r.get(
        "/v1/payments/{payment_id}",
        **documented("Poll a payment order", {200: ("order", P.Payment), **lookup}),
    )
    async def poll_payment(request: Request, payment_id: str = _param(_PAY)) -> Response:
        return await _lookup(request)

    @r.post(
        "/v1/payments/{payment_id}/cancel",
        **documented("Cancel a payment order", {200: ("order", P.Payment), **lookup}),
    )
    async def cancel_payment(request: Request, payment_id: str = _param(_PAY)) -> Response:
        return await _lookup(request)

    @r.post(
        "/v1/alerts",
        **documented(
            "A resident asked for staff at a kiosk (help button); no personal data",
            {
                201: ("stored", P.AlertStored),
                200: ("this alert_id was stored before (a retry)", P.AlertStored),
                400: ("invalid alert (permanent)", P.Problem),
            },
            body="HelpAlert",
        ),
    )
    async def alert(request: Request) -> Response:
        verified, body = await read_signed(request)
        try:
            parsed = parse_alert(body, verified.kiosk_id)
        except (ValueError, TypeError, RecursionError) as exc:
            raise Refusal(400, "invalid_alert", str(exc)) from exc
        new = await run_in_threadpool(store_alert, backend_of(request).store, parsed)
        return answer(201 if new else 200, {"alert_id": parsed["alert_id"], "stored": True})

    @r.post(
        "/v1/heartbeat",
        **documented(
            "Kiosk health and step counts (analytics), every few minutes",
            {200: ("kept", P.Ok), 400: ("invalid heartbeat", P.Problem)},
            body="Heartbeat",
        ),
    )
    async def heartbeat(request: Request) -> Response:
        verified, body = await read_signed(request)
        try:
            health, analytics = _heartbeat(body, verified.kiosk_id)
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            raise Refusal(400, "invalid_heartbeat", str(exc)) from exc
        store = backend_of(request).store
        await run_in_threadpool(store.heartbeat, verified.kiosk_id, health, analytics, time.time())
        return answer(200, '{"ok":true}')

    return r


def _heartbeat(body: bytes, kiosk_id: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    doc = loads(body)
    health, analytics = doc["health"], doc.get("analytics", [])
    if doc.get("kiosk_id") != kiosk_id or not isinstance(health, dict) or not isinstance(analytics, list):
        raise ValueError("kiosk_id must match the key; health is an object, analytics a list")
    for item in analytics:
        if not (isinstance(item, dict) and {"service", "step", "outcome", "count"} <= set(item)):
            raise ValueError("analytics items need service, step, outcome and count")
        if not all(isinstance(item[k], str) for k in ("service", "step", "outcome")):
            raise ValueError("analytics service, step and outcome are strings")
        count = item["count"]
        if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count < 2**31:
            raise ValueError("analytics counts are integers from 0 to 2**31 - 1")
    return health, analytics


def simulation_router() -> APIRouter:
    """Test hooks, mounted only with ``kiosk-backend serve --simulate``."""
    r = APIRouter()

    @r.post(
        "/v1/payments/{payment_id}/simulate-paid",
        **documented(
            "Simulation only: mark a payment order paid",
            {200: ("order", P.Payment), 404: ("not found", P.Problem)},
        ),
    )
    async def simulate_paid(request: Request, payment_id: str = _param(_PAY)) -> Response:
        await read_signed(request)
        status, found = await run_in_threadpool(
            backend_of(request).lookups.payment, payment_id, "POST", "/simulate-paid"
        )
        return answer(status, found)

    return r


# -- staff and public routes ----------------------------------------------------------------------


def staff_router() -> APIRouter:
    r = APIRouter()
    bad = ("bad input, or a body that is not a JSON object", P.Problem)
    off = ("no such job, or the staff API is off (no token configured)", P.Problem)

    @r.post(
        "/v1/jobs/take",
        **documented(
            "Staff: take the oldest received request (bearer token)",
            {200: ("the request's envelope", None), 204: ("none waiting", None), 400: bad, 404: off},
            body="TakeBody",
            staff=True,
        ),
    )
    async def take(request: Request) -> Response:
        account = await run_in_threadpool(require_staff, request)
        json_object(await read_body(request))  # "worker" is ignored: the taker is the token's owner
        actor = review.Actor(account, "api", request.client.host if request.client else "")
        job = await run_in_threadpool(review.take_next, backend_of(request).store, actor)
        return answer(200, job) if job else Response(status_code=204)

    @r.post(
        "/v1/jobs/{request_id}/{action}",
        **documented(
            "Staff: complete or reject (with a reason) a taken request",
            {200: ("done", P.Ok), 400: bad, 404: off, 409: ("not open", P.Problem)},
            body="FinishBody",
            staff=True,
        ),
    )
    async def finish(
        request: Request,
        request_id: str = _param(_UUID),
        action: str = Path(json_schema_extra={"enum": ["complete", "reject"]}),
    ) -> Response:
        account = await run_in_threadpool(require_staff, request)
        data = json_object(await read_body(request))
        if action not in ("complete", "reject") or not _UUID_RE.match(request_id):
            raise Refusal(404, "not_found")
        status = "done" if action == "complete" else "rejected"
        actor = review.Actor(account, "api", request.client.host if request.client else "")
        store = backend_of(request).store
        try:
            await run_in_threadpool(
                review.finish, store, actor, request_id, status, str(data.get("reason", ""))
            )
        except review.ReviewError as exc:
            return problem(400 if exc.code == "reason_required" else 409, exc.code, str(exc))
        return answer(200, '{"ok":true}')

    return r


def public_router() -> APIRouter:
    r = APIRouter()

    @r.get("/healthz", **documented("Liveness", {200: ("ok", P.Ok)}, signed=False))
    async def healthz() -> Response:
        return answer(200, '{"ok":true}')

    @r.get(
        "/status/{request_id}",
        response_class=HTMLResponse,
        summary="HTML status page for the receipt QR",
        responses={
            200: {"description": "page", "content": {"text/html": {"schema": {"type": "string"}}}},
            404: {
                "description": "no such request (a page), or not a request number (JSON)",
                "content": {
                    "text/html": {"schema": {"type": "string"}},
                    _JSON: {"schema": {"$ref": "#/components/schemas/Problem"}},
                },
            },
        },
    )
    async def status_page(request: Request, request_id: str = _param(_STATUS_KEY)) -> Response:
        if not re.fullmatch(_STATUS_KEY, request_id):
            raise Refusal(404, "not_found")
        store = backend_of(request).store
        # a 受理号 is short and guessable, the UUIDv7 of the receipt's QR (74 random bits) is not: by
        # number the page says only the status, never the officer's reason
        by_number = len(request_id) == NUMBER_DIGITS
        find = store.find_by_number if by_number else store.status
        found = await run_in_threadpool(find, request_id)
        return HTMLResponse(*_status_html(found, by_number=by_number))

    return r


def _status_html(found: dict[str, Any] | None, *, by_number: bool) -> tuple[str, int]:
    if found is None:
        zh, en, reason, code = "未找到该申请", "No such request", "", 404
    else:
        zh, en = _STATUS_TEXT.get(found["status"], (found["status"], found["status"]))
        reason, code = ("" if by_number else found["reason"]), 200
    number = (found or {}).get("acceptance_number")
    page = (
        "<!doctype html><html lang='zh'><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width'><title>申请状态 Request status</title>"
        "<body style='font-family:sans-serif;max-width:32em;margin:2em auto'>"
        f"<h1>{html.escape(zh)} · {html.escape(en)}</h1>"
        + (f"<p>受理号 Acceptance number: <strong>{group_number(number)}</strong></p>" if number else "")
        + (f"<p>原因 Reason: {html.escape(reason)}</p>" if reason else "")
        + "</body></html>"
    )
    return page, code


# -- framing, the document, the factory -----------------------------------------------------------


class StrictFraming:
    """Refuse request framings a proxy in front could read differently (request smuggling):
    any ``Transfer-Encoding`` (bodies carry a ``Content-Length``; h11 already refuses a malformed
    or doubled one) and a body on GET/HEAD. The refusal closes the connection unread."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = scope["headers"]
            refusal = None
            if any(k == b"transfer-encoding" for k, _ in headers):
                refusal = (411, "transfer_encoding_refused", "send the body with a Content-Length")
            elif scope["method"] in ("GET", "HEAD") and any(
                k == b"content-length" and v.strip() != b"0" for k, v in headers
            ):
                refusal = (400, "body_not_allowed", f"a {scope['method']} request has no body")
            if refusal is not None:
                await problem(*refusal, close=True)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def _embedded(schema: dict[str, Any]) -> dict[str, Any]:
    """A kiosk schema inside the document: its own ``$id``/``$schema`` would re-base references."""
    return {k: v for k, v in schema.items() if k not in ("$id", "$schema")}


def _contract_schemas() -> dict[str, Any]:
    """The wire contract's JSON Schemas, as the submission's body."""
    ref: Callable[[str], dict[str, str]] = lambda name: {"$ref": f"#/components/schemas/{name}"}  # noqa: E731
    schemas: dict[str, Any] = {"Envelope": _embedded(load_schema("envelope", 1)), "HelpAlert": ALERT_SCHEMA}
    kinds = [(name, v) for name, versions in request_types().items() for v in versions]
    for name, v in kinds:
        schemas[f"{name}.v{v}"] = _embedded(load_schema(name, v))
    schemas["Submission"] = {
        "oneOf": [
            {
                "allOf": [
                    ref("Envelope"),
                    {
                        "properties": {
                            "request_type": {"const": name},
                            "request_version": {"const": v},
                            "payload": ref(f"{name}.v{v}"),
                        }
                    },
                ]
            }
            for name, v in kinds
        ]
    }
    return schemas


def build_document(app: FastAPI) -> dict[str, Any]:
    """The OpenAPI 3.1 document: FastAPI's, from the routes and models, plus the request-body
    models, the contract's schemas and the two security schemes."""
    doc = get_openapi(title="Police kiosk reference backend", version="1", routes=app.routes)
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    _, defs = models_json_schema(
        [(m, "validation") for m in models.BODY_MODELS], ref_template="#/components/schemas/{model}"
    )
    schemas.update(defs.get("$defs", {}))
    schemas.update(_contract_schemas())
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path in doc.get("paths", {}).values():
        for op in path.values():
            if op.get("responses", {}).get("422", {}).get("description") == "Validation Error":
                del op["responses"]["422"]  # path parameters are plain strings: never answered
    components["securitySchemes"] = {
        "kioskHmac": {
            "type": "apiKey",
            "in": "header",
            "name": "X-Kiosk-Signature",
            "description": "HMAC-SHA256 over timestamp, nonce, method, path and body SHA-256; headers "
            "X-Kiosk-Key-Id, X-Kiosk-Timestamp, X-Kiosk-Nonce, X-Kiosk-Content-SHA256 (docs/backend.md)",
        },
        "staffBearer": {"type": "http", "scheme": "bearer"},
    }
    return doc


def _routed(simulate: bool, routers: Sequence[APIRouter]) -> FastAPI:
    app = FastAPI(
        title="Police kiosk reference backend", version="1", docs_url=None, redoc_url=None, openapi_url=None
    )
    app.include_router(kiosk_router())
    app.include_router(staff_router())
    app.include_router(public_router())
    app.include_router(fines.fines_router())  # traffic fines and the payment code (backend/fines.py)
    app.include_router(vehicles.router())  # licences, owners, health-check records (backend/vehicles.py)
    if simulate:
        app.include_router(simulation_router())
    from backend.households import households_router  # its routes import this module's helpers

    app.include_router(households_router())
    for router in routers:
        app.include_router(router)
    return app


def openapi_document(*, simulate: bool = False, routers: Sequence[APIRouter] = ()) -> dict[str, Any]:
    """The document a backend built with these options serves at ``/openapi.json`` (the contract
    fuzzer reads it without a running server)."""
    return build_document(_routed(simulate, routers))


def create_app(backend: Backend, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The backend's ASGI app: the kiosk, staff and public routes, the simulation routes with
    ``backend.simulate``, and ``routers`` (e.g. the staff console) mounted after them."""
    app = _routed(backend.simulate, routers)
    app.state.backend = backend
    # the staff console (backend/console): its own sessions, CSRF and security headers
    app.mount("/console", create_console(backend.store, lookups=backend.lookups, settings=backend.console))

    document: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        if not document:
            document.update(build_document(app))
        return document

    app.openapi = openapi  # type: ignore[method-assign]

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_json() -> Response:
        return answer(200, app.openapi())

    @app.exception_handler(Refusal)
    async def refused(request: Request, exc: Refusal) -> Response:
        return problem(exc.status, exc.error, exc.detail, close=exc.close)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        error = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return problem(exc.status_code, error, str(exc.detail), close=_has_body(request))

    app.add_middleware(StrictFraming)
    return app
