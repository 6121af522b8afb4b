"""The staff console as one Starlette application, mounted at ``/console`` by the backend's ASGI
factory (``app.mount("/console", create_console(store, lookups=..., settings=...))``).

Pages and who may open them (roles in :mod:`backend.staff`):

    GET  /login  POST /login  POST /logout                 anyone / any session
    GET  /queue  POST /queue/take                          review
    GET  /requests/{id}  /requests/{id}/attachments/{n}    review (each view audited)
    POST /requests/{id}/complete  /reject  /release        review (the holder; supervisors any)
    GET  /search?q=                                        review
    GET  /alerts  POST /alerts/{id}/ack  /alerts/{id}/close alerts
    GET  /fleet                                            fleet
    GET  /audit?actor=&action=&target=&since=&until=       audit
    GET  /accounts  POST /accounts/{user}/disable|enable  POST /tokens/{id}/revoke   accounts
"""

from __future__ import annotations

from importlib import resources
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from backend.console import ops_pages as ops
from backend.console import review_pages as rv
from backend.console.settings import ConsoleSettings
from backend.console.web import Handler, endpoint, secure
from backend.store import Store

_STATIC_TYPES = {"console.css": "text/css; charset=utf-8", "console.js": "text/javascript; charset=utf-8"}


def _static() -> dict[str, bytes]:
    folder = resources.files("backend.console") / "static"
    return {name: (folder / name).read_bytes() for name in _STATIC_TYPES}


def create_console(
    store: Store, *, lookups: Any = None, settings: ConsoleSettings | None = None
) -> Starlette:
    """The console over ``store``; ``lookups`` answers ``payment_status(id)`` for the review page."""
    cfg = settings or ConsoleSettings()

    def state() -> tuple[Store, ConsoleSettings, Any]:
        return store, cfg, lookups

    def page(
        path: str, handler: Handler, permission: str | None, methods: tuple[str, ...] = ("GET",)
    ) -> Route:
        return Route(path, endpoint(state, handler, permission), methods=list(methods))

    files = _static()

    async def static(request: Request) -> Response:
        name = str(request.path_params["name"])
        if name not in files:
            return secure(Response(b"", status_code=404))
        answer = Response(files[name], media_type=_STATIC_TYPES[name])
        answer.headers["Cache-Control"] = "max-age=3600"
        return secure(answer)

    post = ("POST",)
    routes = [
        page("/", rv.home, "review"),
        page("/login", rv.login_form, None),
        page("/login", rv.login, None, post),
        page("/logout", rv.logout, "review", post),
        page("/queue", rv.queue, "review"),
        page("/queue/take", rv.take, "review", post),
        page("/requests/{request_id}", rv.request_page, "review"),
        page("/requests/{request_id}/attachments/{index:int}", rv.attachment, "review"),
        page("/requests/{request_id}/complete", rv.finish("done"), "review", post),
        page("/requests/{request_id}/reject", rv.finish("rejected"), "review", post),
        page("/requests/{request_id}/release", rv.release, "review", post),
        page("/search", rv.search, "review"),
        page("/alerts", ops.alerts_page, "alerts"),
        page("/alerts/{alert_id}/ack", ops.alert_action("ack"), "alerts", post),
        page("/alerts/{alert_id}/close", ops.alert_action("close"), "alerts", post),
        page("/fleet", ops.fleet_page, "fleet"),
        page("/audit", ops.audit_page, "audit"),
        page("/accounts", ops.accounts_page, "accounts"),
        page("/accounts/{username}/disable", ops.account_action(True), "accounts", post),
        page("/accounts/{username}/enable", ops.account_action(False), "accounts", post),
        page("/tokens/{token_id}/revoke", ops.revoke_token, "accounts", post),
        Route("/static/{name}", static, methods=["GET"]),
    ]
    return Starlette(routes=routes)
