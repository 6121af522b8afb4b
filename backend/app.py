"""What the backend's routes share: :class:`Backend` (store, keys, look-up adapters, options) and
the JSON reading rules; the HTTP app is :func:`backend.asgi.create_app`, the server
:mod:`backend.server`.

``make_server`` and ``tls_context`` are re-exported here for the callers that embed a backend
(the tests, the bench, the kiosk's local backend runs ``kiosk-backend serve``).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Mapping
from typing import Any

from backend.console.settings import ConsoleSettings
from backend.keys import KeyRing, Verified
from backend.lookups import Lookups
from backend.store import Store
from contract.signing import MAX_SKEW_S

log = logging.getLogger(__name__)

MAX_BODY = 8 * 1024 * 1024


def loads(body: bytes, *, nul_ok: bool = False) -> Any:
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
    """Everything a route needs; shared by the server's threads (one per worker process).

    ``keys``: a :class:`KeyRing` (rotation, key id → kiosk id), or for embedded use and tests a
    plain ``{key_id: secret}`` where each key id is its own kiosk id. Staff authenticate with
    their own accounts and tokens, kept in the store (:mod:`backend.staff`).
    ``simulate``: mount the simulation-only routes (``kiosk-backend serve --simulate``).
    ``console``: the staff console's settings (idle expiry, when a kiosk counts as silent).
    """

    def __init__(
        self,
        store: Store,
        keys: Mapping[str, bytes] | KeyRing,
        *,
        lookups: Lookups | None = None,
        max_skew_s: int = MAX_SKEW_S,
        answer_delay_s: float = 0.0,
        simulate: bool = False,
        console: ConsoleSettings | None = None,
    ) -> None:
        self.store = store
        self.console = console or ConsoleSettings()  # the staff console's idle expiry and more
        self.answer_delay_s = answer_delay_s  # a slow backend, for tests: stored, answer not yet sent
        self.keyring = keys if isinstance(keys, KeyRing) else KeyRing.from_mapping(keys)
        self.lookups = lookups or Lookups()
        self.lookups.bind(store)  # identity verification uses the register in this store
        self.max_skew_s = max_skew_s
        self.simulate = simulate
        self._last_purge = 0.0
        self._purge_lock = threading.Lock()

    def claim_nonce(self, verified: Verified) -> bool:
        """Record the request's nonce for its key; False when it was seen before (a replay)."""
        fresh = self.store.claim_nonce(verified.key_id, verified.nonce, verified.timestamp)
        self.maybe_purge_nonces()
        return fresh

    def maybe_purge_nonces(self) -> None:
        """Nonces older than twice the skew window can no longer be replayed (they are stale)."""
        now = time.time()
        with self._purge_lock:
            if now - self._last_purge < 60:
                return
            self._last_purge = now
        self.store.purge_nonces(int(now) - 2 * self.max_skew_s)


def __getattr__(name: str) -> Any:
    """``make_server``, ``BackendServer`` and ``tls_context`` live in :mod:`backend.server`
    (imported lazily: the server module imports this one)."""
    if name in ("make_server", "BackendServer", "tls_context"):
        from backend import server

        return getattr(server, name)
    raise AttributeError(name)
