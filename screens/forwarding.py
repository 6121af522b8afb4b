"""How the app hands a resident's touch to the visit controller: one line per command.

``begin = forward("begin")`` in :class:`~screens.app.KioskApp` makes ``app.begin()`` (what kv rules
and screens call) run ``VisitController.begin()`` and show the view it answers; ``visit_attribute``
exposes the controller's state (``app.session``, ``app.flow``) under the names screens already read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def forward(name: str) -> Callable[..., None]:
    """An app method that hands its arguments to ``VisitController.<name>`` and renders the answer."""

    def command(app: Any, *args: Any) -> None:
        app._render(getattr(app.visit, name)(*args))

    command.__name__ = command.__qualname__ = name
    command.__doc__ = f"Forwarded to :meth:`VisitController.{name}`; the view it answers is shown."
    return command


def visit_attribute(name: str) -> Any:
    """A property reading (and, for tours and tests, setting) the controller's ``name``."""
    return property(lambda app: getattr(app.visit, name), lambda app, value: setattr(app.visit, name, value))
