"""The reference backend served on 127.0.0.1 for a test: an ephemeral port, its own thread."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from backend.app import Backend, BackendServer, make_server


@contextmanager
def serving(backend: Backend, tls: ssl.SSLContext | None = None) -> Iterator[BackendServer]:
    """Serve ``backend`` until the block ends; ``server_port`` is the port. Shut down and closed
    on exit (the store is the caller's)."""
    httpd = make_server(backend, "127.0.0.1", 0, tls)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield httpd
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
