"""The staff console used end to end in a real browser: Debian's ``chromium`` driven through
``chromedriver`` by selenium, against the real backend on 127.0.0.1.

A reviewer logs in, takes a request (sees the resident's photo and the verification), rejects it
with a reason (the public status page then shows the reason), takes the next (sees it paid) and
completes it, searches; a supervisor acknowledges and closes help alerts and reads the fleet and
the audit log; an admin sees the accounts. Every page is photographed into
``docs/screenshots/console-*.png``. Needs ``apt-get install chromium chromium-driver``; skipped
without them, except in CI (``CI=true``), where a missing browser fails the test.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import requests

from backend import staff
from backend.app import Backend
from backend.store import Store, open_store
from tests.integration.backend_server import serving
from tests.integration.console_seed import PASSWORD, seed_accounts, seed_alerts, seed_fleet, seed_requests

pytestmark = pytest.mark.integration

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _browser() -> object:
    if not (Path(CHROMEDRIVER).exists() and Path(CHROMIUM).exists()):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromium-driver are not installed (scripts/bootstrap installs them)")
        pytest.skip("needs Debian's chromium and chromium-driver")
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in (
        "--headless=new",
        "--no-sandbox",  # root in CI's container
        "--disable-dev-shm-usage",
        "--window-size=1366,900",  # an office PC's screen
        "--lang=zh-CN",
        "--disable-gpu",
        "--no-first-run",
    ):
        options.add_argument(arg)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


@pytest.fixture
def driver() -> Iterator[object]:
    browser = _browser()
    try:
        yield browser
    finally:
        browser.quit()  # type: ignore[attr-defined]


@pytest.fixture
def site(tmp_path: Path) -> Iterator[tuple[str, Store, list[str], list[str]]]:
    store = open_store(f"sqlite:///{tmp_path / 'backend.db'}")
    backend = Backend(store, {})
    seed_accounts(store)
    ids = seed_requests(store, backend.lookups)
    seed_fleet(store)
    alerts = seed_alerts(store)
    try:
        with serving(backend) as httpd:
            yield f"http://127.0.0.1:{httpd.server_port}", store, ids, alerts
    finally:
        store.close()


def _wait(condition: Callable[[], bool], what: str, timeout_s: float = 10) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


def _shot(driver: object, name: str) -> None:
    """The whole page (the window grown to the page's height) into docs/screenshots."""
    d = driver
    script = "return [document.documentElement.scrollHeight, window.outerHeight - window.innerHeight]"
    height, chrome = d.execute_script(script)  # type: ignore[attr-defined]
    d.set_window_size(1366, max(900, min(int(height) + int(chrome) + 4, 4000)))  # type: ignore[attr-defined]
    SHOTS.mkdir(parents=True, exist_ok=True)
    assert d.save_screenshot(str(SHOTS / f"console-{name}.png"))  # type: ignore[attr-defined]
    d.set_window_size(1366, 900)  # type: ignore[attr-defined]


def test_the_console_end_to_end_in_chromium(
    driver: object, site: tuple[str, Store, list[str], list[str]]
) -> None:
    from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
    from selenium.webdriver.common.by import By

    d = driver
    url, store, (first, second, third), (help_alert, _lockout) = site

    def go(path: str) -> None:
        d.get(url + path)  # type: ignore[attr-defined]

    def el(css: str) -> object:
        return d.find_element(By.CSS_SELECTOR, css)  # type: ignore[attr-defined]

    def text() -> str:
        """The page's text; "" while the browser is between two pages."""
        try:
            return str(el("body").text)  # type: ignore[attr-defined]
        except (StaleElementReferenceException, NoSuchElementException):
            return ""

    def login(user: str) -> None:
        go("/console/login")
        el("#username").send_keys(user)  # type: ignore[attr-defined]
        el("#password").send_keys(PASSWORD)  # type: ignore[attr-defined]
        el("#login-submit").click()  # type: ignore[attr-defined]
        _wait(lambda: "/console/queue" in d.current_url, f"{user}'s queue")  # type: ignore[attr-defined]

    # -- a reviewer: login, take, reject with a reason ------------------------------------------
    go("/console/login")
    _shot(d, "login")
    el("#username").send_keys("alice")  # type: ignore[attr-defined]
    el("#password").send_keys("wrong-password")  # type: ignore[attr-defined]
    el("#login-submit").click()  # type: ignore[attr-defined]
    _wait(lambda: "用户名或密码错误" in text(), "the refusal")
    login("alice")
    assert "审核队列" in text() and "3" in el(".stats").text  # type: ignore[attr-defined]
    _shot(d, "queue")
    el("#take-next").click()  # type: ignore[attr-defined]
    _wait(lambda: first in d.current_url, "the first request")  # type: ignore[attr-defined]
    assert "已领取下一件申请" in text() and "张三" in text() and "后台人口库比对" in el("#verification").text  # type: ignore[attr-defined]
    _wait(
        lambda: bool(d.execute_script("return document.getElementById('photo-0').naturalWidth > 0")),  # type: ignore[attr-defined]
        "the resident's photo",
    )
    _shot(d, "request")
    el("#reason").send_keys("照片不清晰，请到服务窗口重新拍照。")  # type: ignore[attr-defined]
    el("#reject").click()  # type: ignore[attr-defined]
    _wait(lambda: "已退回" in text(), "the rejection")
    assert store.status(first)["status"] == "rejected"  # type: ignore[index]

    go(f"/status/{first}")
    assert "未通过" in text() and "照片不清晰，请到服务窗口重新拍照。" in text()
    assert "张三" not in text()
    _shot(d, "status-rejected")

    # -- take the next (paid) and complete it ---------------------------------------------------
    go("/console/queue")
    el("#take-next").click()  # type: ignore[attr-defined]
    _wait(lambda: second in d.current_url, "the second request")  # type: ignore[attr-defined]
    assert "已缴费" in el("#payment").text and "¥20.00" in el("#payment").text  # type: ignore[attr-defined]
    el("#complete").click()  # type: ignore[attr-defined]
    d.switch_to.alert.accept()  # type: ignore[attr-defined]  # "确认办结？"
    _wait(lambda: "已办结。" in text(), "the completion")
    assert store.status(second)["status"] == "done"  # type: ignore[index]
    assert "已办结" in requests.get(f"{url}/status/{second}", timeout=5).text

    go("/console/search")
    el("#q").send_keys(third[-12:])  # type: ignore[attr-defined]
    el("#search").click()  # type: ignore[attr-defined]
    _wait(lambda: third in el("#results").text, "the search result")  # type: ignore[attr-defined]
    _shot(d, "search")
    el("#logout").click()  # type: ignore[attr-defined]
    _wait(lambda: "已退出登录" in text(), "the logout")

    # -- a supervisor: alerts, fleet, audit ---------------------------------------------------
    login("sam")
    go("/console/alerts")
    assert "居民求助" in text() and "维护锁定" in text()
    _shot(d, "alerts")
    el(f"#alert-{help_alert} button").click()  # type: ignore[attr-defined]  # 确认前往
    _wait(lambda: "已确认，请尽快前往" in text(), "the acknowledgement")
    assert "已确认" in el("#alerts").text  # type: ignore[attr-defined]
    el(f"#alert-{help_alert} button").click()  # type: ignore[attr-defined]  # now the only one: 关闭
    _wait(lambda: "已关闭。" in text(), "the closing")
    assert help_alert not in str(d.page_source)  # type: ignore[attr-defined]
    go("/console/fleet")
    kiosks = el("#kiosks").text  # type: ignore[attr-defined]
    assert "KIOSK-0003" in kiosks and "失联" in kiosks and "告警" in kiosks and "故障" in kiosks
    assert el("svg.chart") is not None
    _shot(d, "fleet")
    go("/console/audit?actor=alice")
    audit = el("#audit").text  # type: ignore[attr-defined]
    assert "reject" in audit and "complete" in audit and "take" in audit and "login" in audit
    _shot(d, "audit")
    actions = [(r["actor"], r["action"]) for r in staff.audit_log(store, target=help_alert)]
    assert actions == [("sam", "alert_close"), ("sam", "alert_ack")]

    # -- an admin: accounts --------------------------------------------------------------------
    el("#logout").click()  # type: ignore[attr-defined]
    login("root")
    go("/console/accounts")
    assert "alice" in el("#accounts").text  # type: ignore[attr-defined]
    _shot(d, "accounts")
