"""The reference backend served on 127.0.0.1 for a test: an ephemeral port, its own thread (uvicorn's
event loop runs there)."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import requests

from backend.app import Backend
from backend.server import BackendServer, Limits, make_server
from backend.store import open_store

DEFAULT_LIMITS = Limits()


@contextmanager
def serving(
    backend: Backend, tls: ssl.SSLContext | None = None, limits: Limits = DEFAULT_LIMITS
) -> Iterator[BackendServer]:
    """Serve ``backend`` until the block ends; ``server_port`` is the port. Shut down and closed
    on exit (the store is the caller's)."""
    httpd = make_server(backend, "127.0.0.1", 0, tls, limits)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


class Server:
    """A served backend and a client session to it (the fuzzers send thousands of requests)."""

    def __init__(self, url: str, backend: Backend) -> None:
        self.url = url
        self.backend = backend
        self.session = requests.Session()
        self.counts: dict[str, int] = {}  # answers by operation and status, for a report
        self.known: dict[str, list[str]] = {}  # path parameter -> values that name something stored


@contextmanager
def serving_store(store_url: str, keys: dict[str, bytes], **backend_options: object) -> Iterator[Server]:
    """A backend on a fresh store at ``store_url``, served until the block ends."""
    store = open_store(store_url)
    backend = Backend(store, keys, **backend_options)  # type: ignore[arg-type]
    try:
        with serving(backend) as httpd:
            running = Server(f"http://127.0.0.1:{httpd.server_port}", backend)
            try:
                yield running
            finally:
                running.session.close()
    finally:
        store.close()
