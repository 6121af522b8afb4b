"""The console's plumbing: transport rule, session, permission and CSRF checks around every page.

Every route goes through :func:`endpoint`: the request must come over HTTPS or from the loopback
address (:func:`transport_ok`); a page needs a live session (cookie ``kc_session``: HttpOnly,
SameSite=Strict, Path=/console, Secure over HTTPS) whose role has the page's permission; a POST
needs the session's CSRF token in its ``csrf`` field. The store is blocking, so the checks and the
page run in Starlette's thread pool.
"""

from __future__ import annotations

import logging
import urllib.parse
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from backend import staff
from backend.console import html as ui
from backend.console.settings import ConsoleSettings
from backend.review import Actor
from backend.staff import PERMISSIONS
from backend.staff_sessions import ConsoleSession, csrf_ok, load_session
from backend.store import Store

log = logging.getLogger(__name__)

SESSION_COOKIE = "kc_session"
LOGIN_COOKIE = "kc_login"  # the login form's CSRF token (double submit: no session exists yet)
MAX_FORM = 64 * 1024

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self'; style-src 'self'; script-src 'self';"
        " form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}


@dataclass
class Ctx:
    """What a page handler gets: the request, its form, the person and the console's state."""

    request: Request
    form: Mapping[str, str]
    store: Store
    settings: ConsoleSettings
    lookups: Any
    session: ConsoleSession | None = None
    path: dict[str, Any] = field(default_factory=dict)

    @property
    def actor(self) -> Actor:
        assert self.session is not None
        return Actor(self.session.account, "console", peer_of(self.request))

    @property
    def query(self) -> Mapping[str, str]:
        return self.request.query_params

    def page(self, title_zh: str, title_en: str, body: str, here: str = "", status: int = 200) -> Response:
        session = self.session
        account = session.account if session else None
        text = ui.frame(
            title_zh,
            title_en,
            body,
            here=here,
            user=account.username if account else "",
            role=account.role if account else "",
            permissions=PERMISSIONS.get(account.role, frozenset()) if account else frozenset(),
            csrf=session.csrf if session else "",
            idle_s=self.settings.idle_s if session else 0,
        )
        return HTMLResponse(text, status_code=status)

    def back(self, path: str, msg: str = "") -> Response:
        """303 to another console page (after a POST), with a message key shown there."""
        target = f"{ui.PREFIX}/{path.lstrip('/')}"
        if msg:
            target += ("&" if "?" in target else "?") + urllib.parse.urlencode({"msg": msg})
        return RedirectResponse(target, status_code=303)


Handler = Callable[[Ctx], Response]


def peer_of(request: Request) -> str:
    return request.client.host if request.client else ""


def transport_ok(request: Request) -> bool:
    """Staff routes: HTTPS, or plain HTTP from this host only (:func:`backend.staff.transport_ok`)."""
    return staff.transport_ok(request.url.scheme, peer_of(request))


def secure(response: Response) -> Response:
    for name, value in SECURITY_HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def refusal(ctx: Ctx, status: int, zh: str, en: str) -> Response:
    return ctx.page("无法办理", "Refused", ui.message(zh, en, ok=False), status=status)


async def read_form(request: Request) -> dict[str, str] | None:
    """The urlencoded form (first value of each name); None when it is too large or not a form."""
    if request.method != "POST":
        return {}
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind and kind != "application/x-www-form-urlencoded":
        return None
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > MAX_FORM:
            return None
    try:
        pairs = urllib.parse.parse_qsl(data.decode("utf-8"), keep_blank_values=True, max_num_fields=50)
    except (UnicodeDecodeError, ValueError):
        return None
    form: dict[str, str] = {}
    for key, value in pairs:
        form.setdefault(key, value.replace("\x00", ""))
    return form


def endpoint(
    state: Callable[[], tuple[Store, ConsoleSettings, Any]],
    handler: Handler,
    permission: str | None,
) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a page handler; ``permission`` None is a page without a session (the login form)."""

    async def run(request: Request) -> Response:
        form = await read_form(request)
        store, settings, lookups = state()
        ctx = Ctx(request, form or {}, store, settings, lookups, path=dict(request.path_params))
        if form is None:
            return secure(refusal(ctx, 400, "表单无法读取。", "The form could not be read."))
        return secure(await run_in_threadpool(_checked, ctx, handler, permission))

    return run


def _checked(ctx: Ctx, handler: Handler, permission: str | None) -> Response:
    request = ctx.request
    if not transport_ok(request):
        return refusal(
            ctx, 403, "工作台只能通过 HTTPS 访问。", "The staff console is served over HTTPS only."
        )
    if permission is None:
        return handler(ctx)
    cookie = request.cookies.get(SESSION_COOKIE, "")
    s = ctx.settings
    ctx.session = load_session(ctx.store, cookie, idle_s=s.idle_s, max_age_s=s.max_age_s)
    if ctx.session is None:
        answer = RedirectResponse(f"{ui.PREFIX}/login" + ("?expired=1" if cookie else ""), status_code=303)
        if cookie:
            answer.delete_cookie(SESSION_COOKIE, path=ui.PREFIX)
        return answer
    if not ctx.session.account.may(permission):
        return refusal(ctx, 403, "您的角色无权打开此页。", "Your role may not open this page.")
    if request.method == "POST" and not csrf_ok(ctx.session, ctx.form.get("csrf")):
        staff.audit(
            ctx.store, ctx.session.account.username, "console", "csrf_refused", request.url.path, "",
            peer_of(request),
        )  # fmt: skip
        return refusal(
            ctx, 403, "表单已失效，请刷新页面后重试。", "The form has expired: reload the page and try again."
        )
    return handler(ctx)


def set_cookie(response: Response, request: Request, name: str, value: str, max_age: int | None) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path=ui.PREFIX,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
