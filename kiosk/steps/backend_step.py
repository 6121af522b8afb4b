"""What every step that asks the backend shares, Kivy-free: one call at a time through an injected
client factory and runner, its failure turned into a calm state.

An engine takes its events as method calls and answers with an immutable :class:`LookupState` (or a
subclass) through ``on_change``. The runner has the interface of :class:`kiosk.work.Tasks` (work off
the UI thread, one outcome back on it, late answers dropped once cancelled), so unit tests run every
transition synchronously. An unreachable backend is ``offline`` (try again), a refusal or an answer
missing what it must carry (:class:`MalformedAnswer`) is ``refused`` (the way forward is the service
counter); anything else is a bug, which the runner hands to the app's calm end of the visit.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Generic, Protocol, TypeVar

from kiosk.errors import BackendRejected, BackendUnavailable

log = logging.getLogger(__name__)

T = TypeVar("T")

# phases every backend step shares
IDLE, BUSY, ANSWERED, OFFLINE, REFUSED, DONE = "idle", "busy", "answered", "offline", "refused", "done"
FINISHED = "finished"  # answered, nothing more to do: end the visit as done without a request


class MalformedAnswer(BackendRejected):
    """The backend answered without a key the kiosk needs: asking again will not mend it."""


class Closable(Protocol):
    def close(self) -> None: ...


class Runner(Protocol):
    """What an engine needs of :class:`kiosk.work.Tasks`: run ``work`` off the UI thread, deliver
    exactly one outcome back on it, and drop outcomes still on their way once cancelled."""

    def run(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None] | None = None,
        *,
        name: str,
    ) -> object: ...

    def cancel(self) -> None: ...


class Visit(Protocol):
    """The parts of :class:`kiosk.visit.session.Session` the look-ups read and write."""

    values: dict[str, Any]
    identity: Any
    photo_jpeg: bytes | None
    artifacts: dict[str, Any]


class HasQueue(Protocol):
    """The runtime as the look-ups see it: ``queue`` is None until the request queue started."""

    @property
    def queue(self) -> Any: ...


def queue_clients(runtime: HasQueue) -> Callable[[], Any]:
    """A client factory over the runtime's request queue, read at call time (the queue may start
    later, and the screenshot tour swaps it for a held one). Without a queue the call fails as
    unreachable, which the resident sees as "try again later"."""

    def new_client() -> Any:
        queue = runtime.queue
        if queue is None:
            raise BackendUnavailable("request queue not started")
        return queue.new_client()

    return new_client


def fen_text(fen: int) -> str:
    """An amount in yuan with its two decimals: ``12.50``."""
    return f"{fen / 100:.2f}"


def yuan(fen: int) -> str:
    """An amount as the screen shows it: ``￥12.50``."""
    return f"￥{fen_text(fen)}"


@dataclass(frozen=True)
class LookupState:
    """What a backend step's screen shows; ``message_key`` is a message key (empty: no message)."""

    phase: str = IDLE
    message_key: str = ""
    can_retry: bool = False  # a refusal that trying again can mend (an expired payment)
    retry_key: str = "lookup.retry"  # the retry button's message key

    @property
    def busy(self) -> bool:
        return self.phase == BUSY

    @property
    def offline(self) -> bool:
        return self.phase == OFFLINE

    @property
    def refused(self) -> bool:
        return self.phase == REFUSED


S = TypeVar("S", bound=LookupState)


class BackendEngine(Generic[S]):
    """What every backend step shares: one call at a time, its failure turned into a calm state."""

    kind = "lookup"

    def __init__(
        self,
        clients: Callable[[], Any],
        tasks: Runner,
        initial: S,
        on_change: Callable[[S], None] | None = None,
    ) -> None:
        self._clients = clients
        self._tasks = tasks
        self.state: S = initial
        self._on_change = on_change
        self.left = False

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        if self._on_change is not None:
            self._on_change(self.state)

    def _call(
        self, work: Callable[[Any], T], done: Callable[[T], None], busy_key: str, **changes: Any
    ) -> None:
        """Run ``work(client)`` off the UI thread; ``done(result)`` once it answers. ``changes`` go
        into the busy state shown meanwhile."""
        self._set(phase=BUSY, message_key=busy_key, can_retry=False, **changes)
        self._tasks.run(
            self._with_client(work),
            lambda result: self._answered(done, result),
            self._failed,
            name=f"backend-{self.kind}",
        )

    def _with_client(self, work: Callable[[Any], T]) -> Callable[[], T]:
        def run() -> T:
            client = self._clients()
            try:
                return work(client)
            finally:
                client.close()

        return run

    def _answered(self, done: Callable[[T], None], result: T) -> None:
        if not self.left:
            done(result)

    def _failed(self, exc: Exception) -> None:
        if self.left:
            return
        if isinstance(exc, BackendUnavailable):
            log.warning("%s: backend unavailable: %s", self.kind, exc)
            self._set(phase=OFFLINE, message_key="queue.lookup_unavailable")
        elif isinstance(exc, BackendRejected):
            log.warning("%s: backend refused: %s", self.kind, exc)
            self._set(phase=REFUSED, message_key="queue.lookup_refused")
        else:  # a bug, not a backend state: the app logs it and ends the visit calmly
            raise exc

    def retry(self) -> None:
        """The retry button: only shown while the backend is away (or a refusal can be mended)."""
        if not self.left and (self.state.offline or self.state.can_retry):
            self.start()

    def start(self) -> None:
        """Begin the step's backend work (subclasses)."""

    def leave(self) -> None:
        """The resident left the step: answers still on their way are dropped."""
        if self.left:
            return
        self.left = True
        self._tasks.cancel()
