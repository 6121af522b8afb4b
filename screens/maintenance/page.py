"""The base of the maintenance pages (device dashboard, card test, camera, print test, queue).

A page is a widget the maintenance screen shows below its tab bar. ``open`` starts its refreshing,
``close`` stops it (leaving the page or maintenance). Blocking work goes through :meth:`in_background`,
which runs it on a daemon thread and hands the result (or the exception) back on the UI thread.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout

log = logging.getLogger(__name__)


class MaintenancePage(BoxLayout):
    busy = BooleanProperty(False)  # a background job of this page is running

    @property
    def app(self) -> Any:
        return App.get_running_app()

    @property
    def runtime(self) -> Any:
        return self.app.runtime

    @property
    def is_open(self) -> bool:
        return bool(getattr(self, "_open", False))

    def open(self) -> None:
        """The page became visible."""
        self._open = True

    def close(self) -> None:
        """The page is no longer visible: stop refreshing, release what it holds."""
        self._open = False

    def audit(self, action: str, outcome: str = "ok", **detail: Any) -> None:
        self.runtime.gate.audit.record_later(action, outcome, **detail)

    def in_background(
        self,
        work: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[BaseException], None] | None = None,
        name: str = "maintenance-page",
        *,
        mark_busy: bool = True,
    ) -> threading.Thread:
        """Run ``work()`` off the UI thread; ``done(result)`` or ``failed(exc)`` runs on the UI thread
        (only while the page is open: a page left meanwhile ignores late results). ``mark_busy``:
        the page's ``busy`` is true meanwhile (its periodic refresh waits for it)."""
        if mark_busy:
            self.busy = True

        def run() -> None:
            try:
                result = work()
            except Exception as exc:  # shown to the technician with its cause; never kills the app
                log.warning("%s failed: %s: %s", name, type(exc).__name__, exc)
                error = exc
                Clock.schedule_once(
                    lambda _dt: self._finish(lambda: (failed or self.show_error)(error), mark_busy), 0
                )
                return
            Clock.schedule_once(lambda _dt: self._finish(lambda: done(result), mark_busy), 0)

        thread = threading.Thread(target=run, name=name, daemon=True)
        thread.start()
        return thread

    def _finish(self, then: Callable[[], None], mark_busy: bool = True) -> None:
        if mark_busy:
            self.busy = False
        if self.is_open:
            then()

    def show_error(self, exc: BaseException) -> None:
        """Default failure display; pages override to put it where they show their state."""
        log.warning("maintenance page error: %s", exc)
