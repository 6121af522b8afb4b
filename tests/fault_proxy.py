"""A fault-injecting HTTP(S) proxy in front of the reference backend, for the fault matrix.

Real HTTP on the wire: the kiosk's own clients (delivery, look-ups) talk to the proxy as they
would to the backend; the proxy forwards to the backend or injects the fault set in ``mode``:

    pass        forward unchanged
    timeout     read the request, answer nothing until the client gives up (or the mode changes)
    http500     500 Internal Server Error, nothing forwarded
    http503     503 with ``Retry-After: 1``, nothing forwarded
    http429     429 with ``Retry-After: 1``, nothing forwarded
    reset       close the connection with an RST (SO_LINGER 0) after reading the request
    lost_answer forward (the backend stores and answers), then reset instead of passing the answer on
    wrong_key   forward with the signature flipped: the backend itself answers 401
    clock_skew  forward with the timestamp 15 minutes old: the backend itself answers 401 (stale)
    tls         (TLS proxies only) handshake with a certificate the kiosk does not trust

Every connection is closed after one answer (``Connection: close``), so a mode change applies to
the very next request. ``hits`` counts requests seen per mode (a cell can assert its fault was
actually met), ``forwarded`` counts requests that reached the backend by path.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import struct
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler
from socketserver import ThreadingTCPServer
from typing import Any
from urllib.parse import urlsplit

MODES = (
    "pass",
    "timeout",
    "http500",
    "http503",
    "http429",
    "reset",
    "lost_answer",
    "wrong_key",
    "clock_skew",
    "tls",
)
_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length", "host", "proxy-connection"}


class _Refused(Exception):
    """The TLS handshake failed (the point of the ``tls`` fault): nothing to answer."""


class _Server(ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    proxy: FaultProxy

    def handle_error(self, request: object, client_address: object) -> None:
        import sys

        if not isinstance(sys.exc_info()[1], _Refused | ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def setup(self) -> None:
        proxy = self.server.proxy
        if proxy.tls is not None:
            context = proxy.untrusted if proxy.mode == "tls" else proxy.tls
            assert context is not None
            self.request.settimeout(10)
            wrapped = context.wrap_socket(self.request, server_side=True, do_handshake_on_connect=False)
            self.request = wrapped
            try:
                wrapped.do_handshake()
            except (ssl.SSLError, OSError) as exc:
                proxy.count("tls")
                wrapped.close()
                raise _Refused from exc
        super().setup()

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            if isinstance(self.request, ssl.SSLSocket):  # the server closes only the plain socket
                self.request.close()

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        self._handle()

    def do_POST(self) -> None:
        self._handle()

    def _handle(self) -> None:
        proxy = self.server.proxy
        body = self.rfile.read(int(self.headers.get("Content-Length", "0") or 0))
        mode = proxy.mode
        proxy.count(mode)
        if mode == "timeout":
            proxy.released.wait(proxy.hold_s)
            self.close_connection = True
            return
        if mode == "lost_answer":
            keep = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
            proxy.forward(self.command, self.path, keep, body)
        if mode in ("reset", "lost_answer"):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            self.connection.close()
            return
        if mode in ("http500", "http503", "http429"):
            status = int(mode[4:])
            extra = {"Retry-After": "1"} if status != 500 else {}
            self._answer(status, b'{"error": "injected"}', {"Content-Type": "application/json", **extra})
            return
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP}
        if mode == "wrong_key":
            sig = headers.get("X-Kiosk-Signature", "")
            headers["X-Kiosk-Signature"] = ("0" if sig[:1] != "0" else "1") + sig[1:]
        if mode == "clock_skew":
            headers["X-Kiosk-Timestamp"] = str(int(headers.get("X-Kiosk-Timestamp", "0")) - 900)
        status, answer_headers, answer = proxy.forward(self.command, self.path, headers, body)
        self._answer(status, answer, answer_headers)

    def _answer(self, status: int, body: bytes, headers: dict[str, str]) -> None:
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)
        self.close_connection = True


class FaultProxy:
    """Listen on 127.0.0.1 (``url``), forward to ``upstream`` (an ``http://`` backend).

    ``tls``/``untrusted`` (server-side SSL contexts) make it an HTTPS proxy; ``untrusted`` is the
    certificate presented in ``tls`` mode.
    """

    def __init__(
        self,
        upstream: str,
        *,
        tls: ssl.SSLContext | None = None,
        untrusted: ssl.SSLContext | None = None,
        hold_s: float = 30.0,
    ) -> None:
        parts = urlsplit(upstream)
        self.upstream_host, self.upstream_port = parts.hostname or "127.0.0.1", parts.port or 80
        self.tls, self.untrusted, self.hold_s = tls, untrusted, hold_s
        self.mode = "pass"
        self.released = threading.Event()
        self.hits: Counter[str] = Counter()
        self.forwarded: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.proxy = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="fault-proxy", daemon=True
        )

    @property
    def url(self) -> str:
        scheme = "https" if self.tls is not None else "http"
        return f"{scheme}://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> FaultProxy:
        self._thread.start()
        return self

    def set(self, mode: str) -> None:
        """Inject ``mode`` from the next request on (``pass`` clears it and frees held requests)."""
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r} (known: {', '.join(MODES)})")
        if mode == "tls" and self.untrusted is None:
            raise ValueError("the tls fault needs an HTTPS proxy with an untrusted certificate")
        if mode == "timeout":
            self.released.clear()
        else:
            self.released.set()
        self.mode = mode

    def count(self, mode: str) -> None:
        with self._lock:
            self.hits[mode] += 1

    def forward(
        self, method: str, path: str, headers: dict[str, str], body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            kept = {k: v for k, v in resp.getheaders() if k.lower() not in _HOP}
            with self._lock:
                self.forwarded[path.split("?", 1)[0]] += 1
            return resp.status, kept, data
        finally:
            conn.close()

    def wait_for(self, mode: str, count: int = 1, timeout_s: float = 20.0) -> bool:
        """Whether ``count`` requests met ``mode`` within ``timeout_s`` (for integration tests)."""
        deadline = time.monotonic() + timeout_s
        while self.hits[mode] < count:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.02)
        return True

    def close(self) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()
