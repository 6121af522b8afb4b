"""Serving the ASGI app: uvicorn with its h11 protocol, read deadlines, a connection limit, TLS,
and several worker processes behind one listening socket.

Why uvicorn + h11: h11 is a strict HTTP/1.1 parser (a malformed or doubled ``Content-Length`` such
as ``1_0`` is a 400, one answer per request, a connection it cannot frame is closed) and uvicorn
gives flow control (it stops reading a body the app has not asked for past 64 KiB) and a
concurrency limit. What uvicorn lacks is a deadline on reading a request: a client that sends half
its headers or half its body held a connection forever. :class:`GuardedH11Protocol` adds both:
the headers must be complete ``header_timeout_s`` after the connection (or the previous answer)
and the body ``body_timeout_s`` after the headers, else the connection is closed.

Workers: the parent binds the socket and forks ``workers`` processes that each open their own
store and serve the inherited socket (the kernel spreads connections over them); a worker that
dies is replaced. Meant for PostgreSQL (SQLite serialises writers through one file).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import ssl
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import h11
import uvicorn
from fastapi import APIRouter
from uvicorn.protocols.http.h11_impl import H11Protocol

from backend.app import Backend
from backend.asgi import create_app

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Limits:
    """Connection limits of one worker process."""

    header_timeout_s: float = 10.0
    body_timeout_s: float = 30.0
    keep_alive_s: float = 5.0
    max_connections: int = 256  # uvicorn answers 503 past this many connections or requests
    backlog: int = 128


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with read deadlines (set by :func:`guarded_protocol`)."""

    header_timeout_s = 10.0
    body_timeout_s = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _deadline_for: Any = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        sock = transport.get_extra_info("socket")  # asyncio's TransportSocket: setsockopt only
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            # uvicorn writes the head and the body apart: without NODELAY, Nagle and the client's
            # delayed ACK add 40 ms to every answer
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._arm()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._arm()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        if exc is not None and self.cycle is not None and not self.cycle.response_complete:
            # the kiosk timed out, was unplugged or failed the TLS handshake: it retries with the same
            # idempotency key, so nothing is lost; an operator needs the fact, not a stack
            log.info("client %s went away mid-request: %s: %s", self.client, type(exc).__name__, exc)
        super().connection_lost(exc)

    def _arm(self) -> None:
        """A deadline for what the connection is waiting for: headers (IDLE, once bytes came or
        a connection is new) or the body (SEND_BODY); none while the app answers."""
        state = self.conn.their_state
        if state is h11.IDLE and (self.cycle is None or self.cycle.response_complete):
            want, delay = "headers", self.header_timeout_s
            if self.cycle is not None and not self.conn.trailing_data[0] and self._deadline_for != want:
                return  # between requests: uvicorn's keep-alive timer is running
        elif state is h11.SEND_BODY:
            want, delay = "body", self.body_timeout_s
        else:
            self._disarm()
            return
        if self._deadline_for == want:
            return
        self._disarm()
        self._deadline_for = want
        self._deadline = self.loop.call_later(delay, self._expired, want)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
        self._deadline, self._deadline_for = None, None

    def _expired(self, what: str) -> None:
        self._deadline, self._deadline_for = None, None
        if self.transport.is_closing():
            return
        log.info("closing a connection from %s: its %s did not arrive in time", self.client, what)
        if self.cycle is not None and not self.cycle.response_complete:
            self.cycle.disconnected = True
            self.cycle.message_event.set()
        self.transport.close()


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


def guarded_protocol(limits: Limits) -> type[GuardedH11Protocol]:
    return type(
        "BoundGuardedH11Protocol",
        (GuardedH11Protocol,),
        {"header_timeout_s": limits.header_timeout_s, "body_timeout_s": limits.body_timeout_s},
    )


def tls_context(cert: str, key: str, client_ca: str = "") -> ssl.SSLContext:
    """Server TLS (1.2+); with ``client_ca``, kiosks must present a certificate it signed."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    ctx.load_cert_chain(cert, key or None)
    if client_ca:
        ctx.verify_mode = ssl.CERT_REQUIRED
        ctx.load_verify_locations(client_ca)
    return ctx


def listen(host: str, port: int, backlog: int = 128) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(backlog)
    sock.set_inheritable(True)
    return sock


class BackendServer:
    """One worker: the app on uvicorn over a listening socket. ``serve_forever`` blocks (run it on
    a thread for tests); ``shutdown`` stops it from another thread; ``server_port`` is the port."""

    def __init__(
        self,
        backend: Backend,
        sock: socket.socket,
        tls: ssl.SSLContext | None = None,
        limits: Limits = Limits(),
        routers: Sequence[APIRouter] = (),
    ) -> None:
        self.backend = backend
        self.socket = sock
        self.server_port: int = sock.getsockname()[1]
        config = uvicorn.Config(
            create_app(backend, routers=routers),
            http=guarded_protocol(limits),
            lifespan="off",
            log_config=None,
            access_log=False,
            limit_concurrency=limits.max_connections,
            timeout_keep_alive=int(max(1, limits.keep_alive_s)),
            backlog=limits.backlog,
            server_header=False,
            date_header=False,
            timeout_graceful_shutdown=10,
        )
        config.load()
        config.ssl = tls  # our context (client certificates, TLS 1.2+), not one built from file names
        self._server = uvicorn.Server(config)
        self._stopped = threading.Event()

    @property
    def open_connections(self) -> int:
        """Connections this worker holds open now (read from another thread: a snapshot)."""
        return len(self._server.server_state.connections)

    def serve_forever(self, poll_interval: float = 0.1) -> None:
        try:
            self._server.run(sockets=[self.socket])
        finally:
            self._stopped.set()

    def shutdown(self) -> None:
        self._server.should_exit = True
        self._stopped.wait(10)

    def server_close(self) -> None:
        self.socket.close()


def make_server(
    backend: Backend,
    host: str,
    port: int,
    tls: ssl.SSLContext | None = None,
    limits: Limits = Limits(),
    routers: Sequence[APIRouter] = (),
) -> BackendServer:
    """A one-process server listening on ``host:port`` (0: a free port, see ``server_port``);
    ``routers`` are mounted after the built-in routes (``create_app``)."""
    return BackendServer(backend, listen(host, port, limits.backlog), tls, limits, routers)


def serve_workers(
    make_backend: Callable[[], Backend],
    sock: socket.socket,
    workers: int,
    tls: ssl.SSLContext | None,
    limits: Limits,
    *,
    routers: Callable[[], Sequence[APIRouter]] = tuple,
    keep_running: Callable[[], bool] = lambda: True,
) -> None:
    """Fork ``workers`` processes serving ``sock``; replace any that dies; on SIGTERM/SIGINT (or
    once ``keep_running()`` is false) stop them all. Each worker builds its own backend (its own
    store connection) after the fork."""
    children: dict[int, int] = {}  # pid -> slot
    started: dict[int, float] = {}  # slot -> when its worker was started
    stopping = False

    def spawn(slot: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            code = 0
            try:
                # uvicorn handles SIGTERM/SIGINT while it serves (a graceful stop) and raises the
                # signal again afterwards: then, or before it started, this ends the worker
                signal.signal(signal.SIGTERM, _exit_quietly)
                signal.signal(signal.SIGINT, _exit_quietly)
                backend = make_backend()
                try:
                    BackendServer(backend, sock, tls, limits, routers()).serve_forever()
                finally:
                    backend.store.close()
            except SystemExit:
                pass
            except BaseException:
                log.exception("worker %d failed", slot)
                code = 1
            os._exit(code)
        children[pid] = slot
        started[slot] = time.monotonic()

    def stop(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for slot in range(workers):
        spawn(slot)
    while children:
        if stopping or not keep_running():
            for pid in list(children):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGTERM)
            deadline = time.monotonic() + 10
            while children and time.monotonic() < deadline:
                pid, _ = os.waitpid(-1, os.WNOHANG)
                if pid:
                    children.pop(pid, None)
                else:
                    time.sleep(0.05)
            for pid in list(children):
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
                children.pop(pid)
            break
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            break
        if not pid:
            time.sleep(0.1)
            continue
        slot = children.pop(pid)
        if not stopping:
            log.warning("worker %d (pid %d) ended (status %d); starting another", slot, pid, status)
            if time.monotonic() - started[slot] < 1.0:
                time.sleep(1.0)  # it failed at start (the store down?): do not spin
            spawn(slot)
