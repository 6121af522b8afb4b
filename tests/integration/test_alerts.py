"""Help alerts over the real wire: the kiosk's durable alert queue and signed client against the
reference backend on 127.0.0.1 (SQLite and PostgreSQL): stored once, retried after an outage,
listed and closed by staff with ``kiosk-backend alerts``; refused when unsigned or carrying
anything beyond the allowed fields."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from backend.alerts import list_alerts
from backend.app import Backend, make_server
from backend.cli import main as backend_main
from backend.store import Store, open_store
from contract.signing import SigningKey
from kiosk.errors import BackendRejected
from kiosk.queue.alerts import AlertQueue, wait_until_sent
from kiosk.queue.client import BackendClient

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-A1", b"a" * 32)


class Server:
    def __init__(self, store: Store, port: int = 0) -> None:
        self.httpd = make_server(Backend(store, {KEY.key_id: KEY.secret}), "127.0.0.1", port)
        self.url = f"http://127.0.0.1:{self.httpd.server_port}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.05})
        self.thread.daemon = True
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(5)


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    yield opened
    opened.close()


def client_for(url: str) -> BackendClient:
    return BackendClient(url, KEY, connect_timeout_s=1, read_timeout_s=2)


def test_a_help_alert_reaches_staff_once_without_personal_data(store: Store, tmp_path: Path) -> None:
    server = Server(store)
    queue = AlertQueue(tmp_path / "alerts.db", KEY.key_id, lambda: client_for(server.url), retry_base_s=0.05)
    try:
        queue.start()
        alert = queue.raise_help("step", "household-certificate", "details")
        assert wait_until_sent(queue, alert.alert_id)
        stored = list_alerts(store)
        assert [a["alert_id"] for a in stored] == [alert.alert_id]
        row = stored[0]
        assert (row["kiosk_id"], row["screen"], row["service"], row["step"], row["status"]) == (
            KEY.key_id, "step", "household-certificate", "details", "open",
        )  # fmt: skip
        assert set(alert.document()) == {
            "alert_id",
            "kiosk_id",
            "kind",
            "screen",
            "service",
            "step",
            "raised_at",
        }
        # a retry after a lost answer (same alert id) stores nothing new
        client = client_for(server.url)
        resp = client.session.post(
            server.url + "/v1/alerts",
            data=(body := json.dumps(alert.document()).encode()),
            headers={**KEY.sign("POST", "/v1/alerts", body), "Content-Type": "application/json"},
        )
        client.close()
        assert resp.status_code == 200
        assert len(list_alerts(store)) == 1
    finally:
        queue.close()
        server.stop()


def test_alerts_raised_while_the_backend_is_down_arrive_when_it_returns(store: Store, tmp_path: Path) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    queue = AlertQueue(
        tmp_path / "alerts.db", KEY.key_id, lambda: client_for(url), retry_base_s=0.05, retry_cap_s=0.3
    )
    queue.start()
    alert = queue.raise_help("review", "id-card-renewal", "review")
    try:
        assert not wait_until_sent(queue, alert.alert_id, timeout_s=0.8)
        pending = queue.pending()
        assert [p["alert_id"] for p in pending] == [alert.alert_id] and pending[0]["attempts"] >= 1
        assert "unreachable" in pending[0]["last_error"]
        queue.close()  # the kiosk restarts: the queued alert survives in SQLite
        queue = AlertQueue(tmp_path / "alerts.db", KEY.key_id, lambda: client_for(url), retry_base_s=0.05)
        server = Server(store, port)
        try:
            queue.start()
            assert wait_until_sent(queue, alert.alert_id)
            assert [a["alert_id"] for a in list_alerts(store)] == [alert.alert_id]
        finally:
            server.stop()
    finally:
        queue.close()


def test_backend_refuses_unsigned_foreign_and_personal_alerts(store: Store) -> None:
    server = Server(store)
    good = {
        "alert_id": "0190c0de-0000-4000-8000-000000000001", "kiosk_id": KEY.key_id, "kind": "help",
        "screen": "step", "service": "traffic-fine", "step": "plate", "raised_at": "2026-11-28T20:00:00Z",
    }  # fmt: skip
    try:
        unsigned = requests.post(server.url + "/v1/alerts", json=good, timeout=5)
        assert unsigned.status_code == 401
        client = client_for(server.url)
        with pytest.raises(BackendRejected, match="invalid_alert"):
            client.alert({**good, "name": "张三"})  # personal data has no place in an alert
        with pytest.raises(BackendRejected, match="kiosk_id"):
            client.alert({**good, "kiosk_id": "SOMEONE-ELSE"})
        with pytest.raises(BackendRejected, match="invalid_alert"):
            client.alert({**good, "step": "990000199001010017 张三"})
        client.alert(good)
        client.close()
        assert [a["alert_id"] for a in list_alerts(store)] == [good["alert_id"]]
        doc = requests.get(server.url + "/openapi.json", timeout=5).json()
        assert "/v1/alerts" in doc["paths"] and "HelpAlert" in doc["components"]["schemas"]
    finally:
        server.stop()


def test_staff_list_and_close_alerts_from_the_command_line(
    store: Store, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from backend.alerts import store_alert

    alert: dict[str, Any] = {
        "alert_id": "0190c0de-0000-4000-8000-000000000002", "kiosk_id": KEY.key_id, "kind": "help",
        "screen": "home", "service": "", "step": "", "raised_at": "2026-11-28T20:00:00Z",
    }  # fmt: skip
    assert store_alert(store, alert) is True
    assert store_alert(store, alert) is False
    assert backend_main(["alerts", "--store", store_url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["alerts"]
    assert [a["alert_id"] for a in listed] == [alert["alert_id"]] and listed[0]["waiting_s"] >= 0
    assert backend_main(["alerts", "--store", store_url]) == 0
    line = capsys.readouterr().out
    assert KEY.key_id in line and "screen home" in line
    assert backend_main(["alerts", "--store", store_url, "--close", alert["alert_id"]]) == 0
    capsys.readouterr()
    assert backend_main(["alerts", "--store", store_url]) == 0
    assert "no open help alerts" in capsys.readouterr().out
    assert backend_main(["alerts", "--store", store_url, "--close", alert["alert_id"]]) == 1
