"""Work off the UI thread, reported back on it: the one way the kiosk runs a blocking call.

A widget or an engine never starts a ``threading.Thread`` itself. It asks a :class:`Tasks` (one per
owner: a step widget, a maintenance page) to run ``work()`` on a worker thread; the outcome comes
back through ``post`` (``Clock.schedule_once`` in the app, an inline call in unit tests) as exactly
one of ``on_done(result)`` or ``on_error(exc)``. When the owner goes away (the resident left the
step) it calls :meth:`Tasks.cancel`, and any answer still on its way is dropped: this replaces the
"is the widget still alive?" checks that every step used to write for itself.

An exception the owner did not expect (``on_error`` not given, or a bug in a callback) goes to
``on_unexpected``: the app logs it through the masked log and ends the visit calmly, instead of a
resident waiting on a spinner until the idle timeout. :func:`install_excepthook` does the same for
any thread that dies of an exception, ours or a library's.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TypeVar

log = logging.getLogger(__name__)

T = TypeVar("T")
Post = Callable[[Callable[[], None]], None]  # run this on the UI thread, soon
OnUnexpected = Callable[[BaseException], None]


def post_inline(fn: Callable[[], None]) -> None:
    """A ``post`` that runs the callback at once, on the worker thread (tests, command-line tools)."""
    fn()


class Task:
    """One piece of work handed to a worker thread; :meth:`cancel` drops its outcome."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.cancelled = False
        self.finished = threading.Event()  # set once its outcome was delivered or dropped
        self.thread: threading.Thread | None = None

    def cancel(self) -> None:
        self.cancelled = True


class Tasks:
    """The background work of one owner (a step widget, a page, an engine)."""

    def __init__(self, post: Post, on_unexpected: OnUnexpected | None = None) -> None:
        self._post = post
        self._on_unexpected = on_unexpected
        self._live: list[Task] = []
        self._lock = threading.Lock()

    @property
    def busy(self) -> bool:
        """Whether any task of this owner has not reported yet."""
        with self._lock:
            return any(not t.finished.is_set() for t in self._live)

    def run(
        self,
        work: Callable[[], T],
        on_done: Callable[[T], None],
        on_error: Callable[[Exception], None] | None = None,
        *,
        name: str,
    ) -> Task:
        """Run ``work()`` on a worker thread named ``name``; then, on the UI thread, ``on_done`` with
        its result or ``on_error`` with the exception it raised (``on_unexpected`` when no
        ``on_error`` is given). Nothing is called once the task or its owner is cancelled."""
        task = Task(name)
        with self._lock:
            self._live = [t for t in self._live if not t.finished.is_set()]
            self._live.append(task)

        def deliver(callback: Callable[[], None]) -> None:
            if task.cancelled:
                task.finished.set()
                return
            try:
                callback()
            except Exception as exc:  # a bug in the callback: the visit ends calmly
                self._unexpected(exc, task)
            finally:
                task.finished.set()

        def body() -> None:
            try:
                result = work()
            except Exception as exc:
                error = exc  # ``exc`` is unbound after the except clause; the callbacks run later
                if on_error is None:
                    self._post(lambda: deliver(lambda: self._raise(error)))
                else:
                    self._post(lambda: deliver(lambda: on_error(error)))
                return
            self._post(lambda: deliver(lambda: on_done(result)))

        task.thread = threading.Thread(target=body, name=name, daemon=True)
        task.thread.start()
        return task

    def post(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the UI thread soon, unless this owner is cancelled first: the ``post`` to
        hand an engine that runs its own workers (the print step, the photo session), so its late
        reports are dropped like a task's outcome once the resident left the step."""
        task = Task("post")
        with self._lock:
            self._live = [t for t in self._live if not t.finished.is_set()]
            self._live.append(task)

        def deliver() -> None:
            try:
                if not task.cancelled:
                    fn()
            except Exception as exc:  # a bug in the callback: the visit ends calmly
                self._unexpected(exc, task)
            finally:
                task.finished.set()

        self._post(deliver)

    def cancel(self) -> None:
        """The owner is gone: drop every outcome still on its way."""
        with self._lock:
            for task in self._live:
                task.cancel()
            self._live.clear()

    @staticmethod
    def _raise(exc: Exception) -> None:
        raise exc

    def _unexpected(self, exc: Exception, task: Task) -> None:
        log.error("background task %s failed unexpectedly", task.name, exc_info=exc)
        if self._on_unexpected is not None:
            self._on_unexpected(exc)


def install_excepthook(post: Post, on_unexpected: OnUnexpected) -> Callable[[], None]:
    """Route an exception that ends any thread through the (masked) log and ``on_unexpected`` on
    the UI thread. Returns a function that puts the previous hook back."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or args.exc_value is None:
            return
        exc = args.exc_value
        thread = args.thread.name if args.thread is not None else "?"
        log.error("thread %s died of an unexpected exception", thread, exc_info=exc)
        post(lambda: on_unexpected(exc))

    threading.excepthook = hook

    def restore() -> None:
        threading.excepthook = previous

    return restore
