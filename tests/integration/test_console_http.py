"""The staff console and staff API over real HTTP on 127.0.0.1, without a browser: the login and
its lockout, the session cookie's flags, CSRF refusals, idle expiry, roles, per-person tokens,
and plain HTTP refused off loopback (backend/console, backend/staff.py)."""

from __future__ import annotations

import asyncio
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import requests

from backend import staff
from backend.app import Backend
from backend.asgi import create_app
from backend.console.settings import ConsoleSettings
from backend.store import Store, open_store
from tests.integration.backend_server import serving
from tests.integration.console_seed import PASSWORD, seed_accounts, seed_requests

pytestmark = pytest.mark.integration


@dataclass
class Console:
    url: str
    store: Store
    backend: Backend
    requests: list[str]


def _console(store_url: str, idle_s: float = 900) -> Iterator[Console]:
    store = open_store(store_url)
    backend = Backend(store, {}, console=ConsoleSettings(idle_s=idle_s))
    seed_accounts(store)
    ids = seed_requests(store, backend.lookups)
    try:
        with serving(backend) as httpd:
            yield Console(f"http://127.0.0.1:{httpd.server_port}", store, backend, ids)
    finally:
        store.close()


@pytest.fixture
def console(store_url: str) -> Iterator[Console]:
    yield from _console(store_url)


def _login_form(session: requests.Session, url: str) -> str:
    page = session.get(f"{url}/console/login", timeout=5)
    assert page.status_code == 200
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found
    return found.group(1)


def _login(url: str, user: str = "alice", password: str = PASSWORD) -> requests.Session:
    session = requests.Session()
    token = _login_form(session, url)
    answer = session.post(
        f"{url}/console/login",
        data={"csrf": token, "username": user, "password": password},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303, answer.text
    return session


def _csrf(session: requests.Session, url: str, page: str = "queue") -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', session.get(f"{url}/console/{page}", timeout=5).text)
    assert found
    return found.group(1)


def test_login_sets_a_strict_http_only_cookie_and_wrong_passwords_lock(console: Console) -> None:
    session = requests.Session()
    token = _login_form(session, console.url)
    answer = session.post(
        f"{console.url}/console/login",
        data={"csrf": token, "username": "alice", "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/console/queue"
    cookie = [v for k, v in answer.raw.headers.items() if k.lower() == "set-cookie" and "kc_session=" in v]
    assert cookie, answer.headers
    flags = cookie[0].lower()
    assert "httponly" in flags and "samesite=strict" in flags and "path=/console" in flags
    assert "secure" not in flags  # plain HTTP on loopback: a Secure cookie would never come back
    queue = session.get(f"{console.url}/console/queue", timeout=5)
    assert queue.status_code == 200 and "领取下一件" in queue.text
    assert (
        queue.headers["x-frame-options"] == "DENY"
        and "frame-ancestors 'none'" in queue.headers["content-security-policy"]
    )
    stranger = requests.Session()
    for _ in range(staff.FREE_FAILURES):
        token = _login_form(stranger, console.url)
        bad = stranger.post(
            f"{console.url}/console/login",
            data={"csrf": token, "username": "sam", "password": "guess-guess"},
            allow_redirects=False,
            timeout=10,
        )
        assert bad.status_code == 401 and "用户名或密码错误" in bad.text
    token = _login_form(stranger, console.url)
    locked = stranger.post(
        f"{console.url}/console/login",
        data={"csrf": token, "username": "sam", "password": PASSWORD},
        allow_redirects=False,
        timeout=10,
    )
    assert locked.status_code == 429 and "锁定" in locked.text
    failed = staff.audit_log(console.store, action="login_failed")
    assert len(failed) == staff.FREE_FAILURES + 1 and failed[0]["detail"] == "locked"


def test_posts_without_the_sessions_csrf_token_are_refused_and_change_nothing(console: Console) -> None:
    session = _login(console.url)
    first = console.requests[0]
    for form in ({}, {"csrf": "forged"}):
        answer = session.post(
            f"{console.url}/console/queue/take", data=form, allow_redirects=False, timeout=5
        )
        assert answer.status_code == 403 and "表单已失效" in answer.text
    assert console.store.status(first)["status"] == "received"  # type: ignore[index]
    assert len(staff.audit_log(console.store, action="csrf_refused")) == 2
    # the login form too: its token must match the cookie set with the form
    fresh = requests.Session()
    answer = fresh.post(
        f"{console.url}/console/login",
        data={"csrf": "x", "username": "alice", "password": PASSWORD},
        allow_redirects=False,
        timeout=5,
    )
    assert answer.status_code == 403 and "kc_session" not in answer.headers.get("set-cookie", "")
    # with the token, the same post works
    taken = session.post(
        f"{console.url}/console/queue/take",
        data={"csrf": _csrf(session, console.url)},
        allow_redirects=False,
        timeout=5,
    )
    assert taken.status_code == 303 and first in taken.headers["location"]
    assert console.store.status(first)["status"] == "in_progress"  # type: ignore[index]


def test_an_idle_session_ends(store_url: str) -> None:
    for console in _console(store_url, idle_s=1.0):
        session = _login(console.url)
        token = _csrf(session, console.url)  # a request: restarts the idle clock
        time.sleep(1.4)
        answer = session.post(
            f"{console.url}/console/queue/take", data={"csrf": token}, allow_redirects=False, timeout=5
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/console/login?expired=1"
        assert console.store.status(console.requests[0])["status"] == "received"  # type: ignore[index]
        expired = session.get(f"{console.url}{answer.headers['location']}", timeout=5)
        assert "长时间未操作，已自动退出" in expired.text
        page = session.get(f"{console.url}/console/queue", timeout=5)  # the cookie was dropped
        assert page.url.endswith("/console/login") and "用户名" in page.text
        with console.store.transaction() as cur:
            assert console.store._exec(cur, "SELECT count(*) FROM staff_sessions").fetchone()[0] == 0


def test_pages_follow_the_roles(console: Console) -> None:
    alice, sam, root = (_login(console.url, u) for u in ("alice", "sam", "root"))
    expect = {
        "queue": (200, 200, 200),
        "alerts": (200, 200, 200),
        "fleet": (403, 200, 200),
        "audit": (403, 200, 200),
        "accounts": (403, 403, 200),
    }
    for page, codes in expect.items():
        got = tuple(s.get(f"{console.url}/console/{page}", timeout=5).status_code for s in (alice, sam, root))
        assert got == codes, page
    nav = alice.get(f"{console.url}/console/queue", timeout=5).text
    assert "/console/audit" not in nav and "/console/alerts" in nav


def test_the_api_takes_the_persons_name_from_the_token_never_the_body(console: Console) -> None:
    token = staff.create_token(console.store, "alice", "desk")
    auth = {"Authorization": f"Bearer {token}"}
    taken = requests.post(f"{console.url}/v1/jobs/take", json={"worker": "mallory"}, headers=auth, timeout=5)
    assert taken.status_code == 200
    rid = taken.json()["request_id"]
    with console.store.transaction() as cur:
        assert (
            console.store._exec(cur, "SELECT worker FROM requests WHERE request_id = ?", (rid,)).fetchone()[0]
            == "alice"
        )
    no_reason = requests.post(f"{console.url}/v1/jobs/{rid}/reject", json={}, headers=auth, timeout=5)
    assert no_reason.status_code == 400 and no_reason.json()["error"] == "reason_required"
    done = requests.post(
        f"{console.url}/v1/jobs/{rid}/reject", json={"reason": "照片模糊"}, headers=auth, timeout=5
    )
    assert done.status_code == 200
    rows = staff.audit_log(console.store, actor="alice", target=rid)
    assert [(r["action"], r["via"]) for r in rows] == [("reject", "api"), ("take", "api")]
    staff.set_disabled(console.store, "alice")
    refused = requests.post(f"{console.url}/v1/jobs/take", json={}, headers=auth, timeout=5)
    assert refused.status_code == 401


def _asgi_status(app: Any, path: str, client: str, scheme: str, headers: list[tuple[bytes, bytes]]) -> int:
    """One request straight into the ASGI app, as if from ``client`` over ``scheme``."""
    sent: list[dict[str, Any]] = []
    method = "POST" if path.startswith("/v1/") else "GET"
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": method,
        "scheme": scheme,
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"backend.example"), *headers]
        + ([(b"content-length", b"2")] if method == "POST" else []),
        "client": (client, 40000),
        "server": ("backend.example", 443 if scheme == "https" else 80),
    }

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"{}" if method == "POST" else b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    return int(sent[0]["status"])


def test_staff_routes_refuse_plain_http_off_loopback(console: Console) -> None:
    app = create_app(console.backend)
    token = staff.create_token(console.store, "alice")
    auth = [(b"authorization", f"Bearer {token}".encode())]
    assert _asgi_status(app, "/console/login", "10.20.30.40", "http", []) == 403
    assert _asgi_status(app, "/v1/jobs/take", "10.20.30.40", "http", auth) == 403
    assert _asgi_status(app, "/console/login", "10.20.30.40", "https", []) == 200
    assert _asgi_status(app, "/v1/jobs/take", "10.20.30.40", "https", auth) == 200
    assert _asgi_status(app, "/console/login", "127.0.0.1", "http", []) == 200
    assert _asgi_status(app, "/healthz", "10.20.30.40", "http", []) == 200  # not a staff route


def test_over_tls_the_session_cookie_is_secure(tmp_path: Path) -> None:
    from backend.app import tls_context

    cert, key = tmp_path / "server.pem", tmp_path / "server.key"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", "/CN=console",
         "-addext", "subjectAltName=IP:127.0.0.1", "-addext", "basicConstraints=critical,CA:TRUE"],
        check=True, capture_output=True,
    )  # fmt: skip
    store = open_store(f"sqlite:///{tmp_path / 'tls.db'}")
    seed_accounts(store)
    try:
        with serving(Backend(store, {}), tls_context(str(cert), str(key))) as httpd:
            url = f"https://127.0.0.1:{httpd.server_port}"
            session = requests.Session()
            session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify=
            session.headers["Connection"] = "close"  # no kept-alive TLS connection left at shutdown
            session.verify = str(cert)
            token = _login_form(session, url)
            answer = session.post(
                f"{url}/console/login",
                data={"csrf": token, "username": "alice", "password": PASSWORD},
                allow_redirects=False,
                timeout=10,
            )
            assert answer.status_code == 303
            cookie = [
                v for k, v in answer.raw.headers.items() if k.lower() == "set-cookie" and "kc_session=" in v
            ]
            assert "secure" in cookie[0].lower() and "httponly" in cookie[0].lower()
            session.close()  # before the server stops (it would wait for the kept-alive connection)
    finally:
        store.close()
