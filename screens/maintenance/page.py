"""The base of the maintenance pages (device dashboard, card test, camera, print test, queue).

A page is a widget the maintenance screen shows below its tab bar. ``open`` starts its refreshing,
``close`` stops it (leaving the page or maintenance). Blocking work goes through :meth:`in_background`
(the page's :class:`kiosk.work.Tasks`): the result or the exception comes back on the UI thread,
and whatever is still on its way when the page closes is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from kivy.app import App
from kivy.properties import BooleanProperty
from kivy.uix.boxlayout import BoxLayout

from kiosk.work import Task, Tasks

log = logging.getLogger(__name__)


class MaintenancePage(BoxLayout):
    busy = BooleanProperty(False)  # a background job of this page is running

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        # this page's background work; a bug in one of its callbacks goes to the app's ``fail``
        self.tasks = Tasks(self.app.post, self.app.fail)

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
        """The page is no longer visible: stop refreshing, drop late answers, release what it holds."""
        self._open = False
        self.tasks.cancel()
        self.busy = False  # a job cut off by the close must not hold back the next open's refresh

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
    ) -> Task:
        """Run ``work()`` off the UI thread; ``done(result)`` or ``failed(exc)`` (by default
        :meth:`show_error`) runs on the UI thread, only while the page is open. ``mark_busy``: the
        page's ``busy`` is true meanwhile (its periodic refresh waits for it)."""
        if mark_busy:
            self.busy = True

        def finished(result: Any) -> None:
            if mark_busy:
                self.busy = False
            done(result)

        def refused(exc: Exception) -> None:
            # shown to the technician with its cause; never kills the app
            log.warning("%s failed: %s: %s", name, type(exc).__name__, exc)
            if mark_busy:
                self.busy = False
            (failed or self.show_error)(exc)

        return self.tasks.run(work, finished, refused, name=name)

    def show_error(self, exc: BaseException) -> None:
        """Default failure display; pages override to put it where they show their state."""
        log.warning("maintenance page error: %s", exc)
