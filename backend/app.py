"""The reference backend's HTTP ingest (stdlib ``http.server``, threaded, HTTP/1.1 keep-alive).

Routes (the OpenAPI document is served at ``/openapi.json``, see :mod:`backend.openapi`):

    POST /v1/requests                 signed; 201 new, 200 duplicate (same receipt), 422 id reused
    GET  /v1/requests/{id}            signed; the request's status as JSON
    GET  /v1/requests/by-tail/{12hex} signed; {"requests": [...]} ending in the number's last group
    GET  /status/{id}                 public HTML status page (the receipt's QR points here)
    POST /v1/lookup/...  /v1/payments signed look-ups, see :mod:`backend.lookups`
    POST /v1/alerts                   signed; a resident asked for staff (no personal data)
    POST /v1/jobs/take, /v1/jobs/{id}/complete|reject   staff API, bearer token (off without one)
    GET  /healthz

A stdlib server rather than a framework keeps the extra small and the ingest path visible: verify
signature → refuse stale/replayed → validate schema → one transaction → answer.
"""

from __future__ import annotations

import html
import json
import logging
import re
import socket
import ssl
import sys
import threading
import time
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from backend.alerts import parse_alert, store_alert
from backend.lookups import Lookups
from backend.openapi import openapi_document
from backend.store import Store
from contract.schemas import SchemaViolation, validate_envelope
from contract.signing import MAX_SKEW_S, SignatureError, verify

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024
_STATUS_RE = re.compile(r"^/status/([0-9a-f-]{36})$")
_REQ_RE = re.compile(r"^/v1/requests/([0-9a-f-]{36})$")
_TAIL_RE = re.compile(r"^/v1/requests/by-tail/([0-9a-f]{12})$")
_JOB_RE = re.compile(r"^/v1/jobs/([0-9a-f-]{36})/(complete|reject)$")

_STATUS_TEXT = {
    "received": ("已受理", "Received"),
    "in_progress": ("办理中", "In progress"),
    "done": ("已办结", "Done"),
    "rejected": ("未通过", "Rejected"),
}


def _loads(body: bytes, *, nul_ok: bool = False) -> Any:
    """JSON from UTF-8 bytes, refusing what the store could not keep: ``json.loads`` alone takes
    UTF-16/32 bytes, ``\\ud800`` escapes (lone surrogates, which no UTF-8 text can hold) and
    ``\\u0000`` escapes (NUL, which PostgreSQL's text type cannot hold: found twice by the
    contract fuzzer on PostgreSQL, in a job's reason and in heartbeat health, so it is refused here
    for every endpoint that stores decoded strings). ``nul_ok``: the submit endpoint stores the
    body's own bytes, where a NUL is the six characters of its escape, and its schema-checked
    fields cannot hold one. Raises ValueError (UnicodeError, JSONDecodeError) or RecursionError."""
    doc = json.loads(body.decode("utf-8"))
    json.dumps(doc, ensure_ascii=False).encode("utf-8")  # UnicodeEncodeError on a lone surrogate
    if not nul_ok and _has_nul(doc):
        raise ValueError("a JSON string contains U+0000 (NUL)")
    return doc


def _has_nul(doc: Any) -> bool:
    """Whether any key or string value anywhere in ``doc`` holds U+0000 (iterative: any depth)."""
    stack = [doc]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return True
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return False


class Backend:
    """Everything a request handler needs; shared by the server's threads."""

    def __init__(
        self,
        store: Store,
        keys: Mapping[str, bytes],
        *,
        staff_token: str = "",
        lookups: Lookups | None = None,
        max_skew_s: int = MAX_SKEW_S,
        answer_delay_s: float = 0.0,
    ) -> None:
        self.store = store
        self.answer_delay_s = answer_delay_s  # a slow backend, for tests: stored, answer not yet sent
        self.keys = dict(keys)
        self.staff_token = staff_token
        self.lookups = lookups or Lookups()
        self.lookups.bind(store)  # identity verification uses the register in this store
        self.max_skew_s = max_skew_s
        self._last_purge = 0.0
        self._purge_lock = threading.Lock()

    def maybe_purge_nonces(self) -> None:
        """Nonces older than twice the skew window can no longer be replayed (they are stale)."""
        now = time.time()
        with self._purge_lock:
            if now - self._last_purge < 60:
                return
            self._last_purge = now
        self.store.purge_nonces(int(now) - 2 * self.max_skew_s)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kiosk-backend"
    backend: Backend  # set on the subclass made by make_server

    def setup(self) -> None:
        super().setup()
        # headers and body go out in two writes: without NODELAY, Nagle + delayed ACK add ~40 ms
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if isinstance(self.connection, ssl.SSLSocket):
            self.connection.settimeout(30)  # a client that never finishes the handshake

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)

    # -- plumbing ------------------------------------------------------------------------------

    def _send(
        self,
        status: int,
        body: str | bytes,
        content_type: str = "application/json",
        extra: Mapping[str, str] | None = None,
    ) -> None:
        data = body.encode("utf-8") if isinstance(body, str) else body
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, error: str, detail: str = "") -> None:
        self._send(status, json.dumps({"error": error, "detail": detail}, ensure_ascii=False))

    def _body(self) -> bytes | None:
        try:
            length = int(self.headers.get("Content-Length", "0"))
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self._error(413 if length > 0 else 400, "bad_length")
            self.close_connection = True
            return None
        return self.rfile.read(length)

    def _json_object(self, body: bytes) -> dict[str, Any] | None:
        """The body as a JSON object (empty: ``{}``); anything else is answered 400 here."""
        try:
            data = _loads(body) if body else {}
        except (ValueError, RecursionError) as exc:  # RecursionError: nested deeper than the parser's stack
            self._error(400, "invalid_body", f"the body is not a JSON object the backend can store ({exc})")
            return None
        if not isinstance(data, dict):
            self._error(400, "invalid_body", "the body is not a JSON object")
            return None
        return data

    def _verified(self, body: bytes) -> tuple[str, str, int] | None:
        try:
            return verify(
                dict(self.headers.items()),
                self.command,
                self.path,
                body,
                self.backend.keys,
                max_skew_s=self.backend.max_skew_s,
            )
        except SignatureError as exc:
            self._error(401, exc.reason, str(exc))
            return None

    # -- routes --------------------------------------------------------------------------------

    def do_GET(self) -> None:
        path = self.path.split("?", 1)[0]
        if path == "/healthz":
            self._send(200, '{"ok":true}')
        elif path == "/openapi.json":
            self._send(200, json.dumps(openapi_document(), ensure_ascii=False))
        elif m := _STATUS_RE.match(path):
            self._status_page(m.group(1))
        elif m := _REQ_RE.match(path):
            if self._verified(b"") is None:
                return
            found = self.backend.store.status(m.group(1))
            self._send(200, json.dumps(found)) if found else self._error(404, "unknown_request")
        elif m := _TAIL_RE.match(path):
            if self._verified(b"") is None:
                return
            self._send(200, json.dumps({"requests": self.backend.store.find_by_tail(m.group(1))}))
        elif path.startswith("/v1/"):
            self._lookup(b"")
        else:
            self._error(404, "not_found")

    def do_POST(self) -> None:
        body = self._body()
        if body is None:
            return
        path = self.path.split("?", 1)[0]
        if path == "/v1/requests":
            self._ingest(body)
        elif path == "/v1/heartbeat":
            self._heartbeat(body)
        elif path == "/v1/alerts":
            self._alert(body)
        elif path.startswith("/v1/jobs/"):
            self._jobs(path, body)
        elif path.startswith("/v1/"):
            self._lookup(body)
        else:
            self._error(404, "not_found")

    def _ingest(self, body: bytes) -> None:
        verified = self._verified(body)
        if verified is None:
            return
        key_id, nonce, ts = verified
        try:
            envelope = _loads(body, nul_ok=True)
            validate_envelope(envelope)
        except (
            ValueError,
            TypeError,
            KeyError,
            RecursionError,  # nested deeper than the parser's stack
        ) as exc:  # JSONDecodeError, UnicodeDecodeError and SchemaViolation are ValueErrors
            detail = "; ".join(exc.problems) if isinstance(exc, SchemaViolation) else str(exc)
            self._error(400, "invalid_body", detail)
            return
        if envelope["kiosk_id"] != key_id:
            self._error(400, "kiosk_mismatch", "kiosk_id does not belong to the signing key")
            return
        if self.headers.get("Idempotency-Key") != envelope["request_id"]:
            self._error(400, "idempotency_key_mismatch")
            return
        result = self.backend.store.ingest(key_id, nonce, ts, envelope, body)
        if self.backend.answer_delay_s:
            time.sleep(self.backend.answer_delay_s)
        self._send(result.status, result.body)
        self.backend.maybe_purge_nonces()

    def _heartbeat(self, body: bytes) -> None:
        verified = self._verified(body)
        if verified is None:
            return
        key_id = verified[0]
        try:
            doc = _loads(body)
            health, analytics = doc["health"], doc.get("analytics", [])
            if (
                doc.get("kiosk_id") != key_id
                or not isinstance(health, dict)
                or not isinstance(analytics, list)
            ):
                raise ValueError("kiosk_id must match the key; health is an object, analytics a list")
            for item in analytics:
                if not (isinstance(item, dict) and {"service", "step", "outcome", "count"} <= set(item)):
                    raise ValueError("analytics items need service, step, outcome and count")
                if not all(isinstance(item[k], str) for k in ("service", "step", "outcome")):
                    raise ValueError("analytics service, step and outcome are strings")
                count = item["count"]
                if not isinstance(count, int) or isinstance(count, bool) or not 0 <= count < 2**31:
                    raise ValueError("analytics counts are integers from 0 to 2**31 - 1")
        except (ValueError, KeyError, TypeError, RecursionError) as exc:
            self._error(400, "invalid_heartbeat", str(exc))
            return
        self.backend.store.heartbeat(key_id, health, analytics, time.time())
        self._send(200, '{"ok":true}')

    def _alert(self, body: bytes) -> None:
        """A help alert (backend/alerts.py): 201 stored, 200 already stored (a retry)."""
        verified = self._verified(body)
        if verified is None:
            return
        try:
            alert = parse_alert(body, verified[0])
        except (ValueError, TypeError, RecursionError) as exc:
            self._error(400, "invalid_alert", str(exc))
            return
        new = store_alert(self.backend.store, alert)
        self._send(201 if new else 200, json.dumps({"alert_id": alert["alert_id"], "stored": True}))

    def _lookup(self, body: bytes) -> None:
        verified = self._verified(body)
        if verified is None:
            return
        data = self._json_object(body)
        if data is None:
            return
        status, answer = self.backend.lookups.handle(self.command, self.path, data, verified[0])
        self._send(status, json.dumps(answer, ensure_ascii=False))

    def _jobs(self, path: str, body: bytes) -> None:
        token = self.backend.staff_token
        if not token or self.headers.get("Authorization") != f"Bearer {token}":
            self._error(401 if token else 404, "staff_token_required")
            return
        data = self._json_object(body)
        if data is None:
            return
        worker, reason = str(data.get("worker", "http")), str(data.get("reason", ""))
        store = self.backend.store
        if path == "/v1/jobs/take":
            job = store.take(worker)
            self._send(200, json.dumps(job, ensure_ascii=False)) if job else self._send(204, b"")
        elif m := _JOB_RE.match(path):
            status = "done" if m.group(2) == "complete" else "rejected"
            ok = store.finish(m.group(1), status, reason)
            self._send(200, '{"ok":true}') if ok else self._error(409, "not_open")
        else:
            self._error(404, "not_found")

    def _status_page(self, request_id: str) -> None:
        found = self.backend.store.status(request_id)
        if found is None:
            zh, en, reason = "未找到该申请", "No such request", ""
            code = 404
        else:
            zh, en = _STATUS_TEXT.get(found["status"], (found["status"], found["status"]))
            reason = found["reason"]
            code = 200
        page = (
            "<!doctype html><html lang='zh'><meta charset='utf-8'>"
            "<meta name='viewport' content='width=device-width'><title>申请状态 Request status</title>"
            "<body style='font-family:sans-serif;max-width:32em;margin:2em auto'>"
            f"<h1>{html.escape(zh)} · {html.escape(en)}</h1>"
            f"<p>申请编号 Request number: <code>{html.escape(request_id)}</code></p>"
            + (f"<p>原因 Reason: {html.escape(reason)}</p>" if reason else "")
            + "</body></html>"
        )
        self._send(code, page, "text/html; charset=utf-8")


def tls_context(cert: str, key: str, client_ca: str = "") -> ssl.SSLContext:
    """Server TLS (1.2+); with ``client_ca``, kiosks must present a certificate it signed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key or None)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


class BackendServer(ThreadingHTTPServer):
    """One thread per connection; a client that leaves is a log line, not a traceback on stderr."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        peer = client_address[0] if isinstance(client_address, tuple) and client_address else "?"
        if isinstance(exc, (ConnectionError, TimeoutError, ssl.SSLError)):
            # the kiosk timed out, was unplugged or failed the TLS handshake: it retries with the same
            # idempotency key, so nothing is lost; an operator needs the fact, not a stack
            log.info("client %s went away mid-request: %s: %s", peer, type(exc).__name__, exc)
        else:
            log.error("unexpected error serving %s", peer, exc_info=exc)


def make_server(backend: Backend, host: str, port: int, tls: ssl.SSLContext | None = None) -> BackendServer:
    """The threaded server; with ``tls`` the handshake happens in each connection's own thread."""
    handler = type("BoundHandler", (Handler,), {"backend": backend})
    server = BackendServer((host, port), handler)
    if tls is not None:
        server.socket = tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
    return server


__all__ = ["Backend", "BackendServer", "HTTPStatus", "make_server"]
