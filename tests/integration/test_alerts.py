"""Help alerts over the real wire: raised through the queue services (a row of the one outbox,
delivered by the one delivery thread, signed) against the reference backend on 127.0.0.1 (SQLite
and PostgreSQL): stored once, retried after an outage and a restart, an old ``alerts.db`` imported;
listed and closed by staff with ``kiosk-backend alerts``; refused when unsigned or carrying anything
beyond the allowed fields."""

from __future__ import annotations

import argparse
import json
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from backend.alerts import list_alerts
from backend.app import Backend, make_server
from backend.cli import main as backend_main
from backend.store import Store, open_store
from contract.signing import SigningKey, load_secret
from kiosk.config.model import KioskConfig, load_config
from kiosk.errors import BackendRejected
from kiosk.queue.client import BackendClient
from kiosk.queue.runtime import QueueServices, start_queue
from kiosk.tech.config_init import add_init_command

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-A1", b"a" * 32)
FAST_RETRY = {"KIOSK__BACKEND__RETRY_BASE_S": "0.05", "KIOSK__BACKEND__RETRY_CAP_S": "1"}


class Server:
    def __init__(self, store: Store, port: int = 0, key: SigningKey = KEY) -> None:
        self.httpd = make_server(Backend(store, {key.key_id: key.secret}), "127.0.0.1", port)
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


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


def kiosk_config(folder: Path, port: int) -> KioskConfig:
    """A terminal made by ``kiosk-tech config init``, its backend on 127.0.0.1:``port``."""
    parser = argparse.ArgumentParser()
    add_init_command(parser.add_subparsers())
    args = parser.parse_args(["init", "--dir", str(folder), "--backend", f"http://127.0.0.1:{port}"])
    assert args.func(args) == 0
    return load_config(folder / "kiosk.toml", validate_devices=False, environ=FAST_RETRY)


def kiosk_key(config: KioskConfig) -> SigningKey:
    secret = load_secret(config.resolve(config.backend.secret_file))
    return SigningKey(config.backend.key_id or config.kiosk.id, secret)


def wait_for(condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def row_status(services: QueueServices, alert_id: str) -> str:
    return str((services.outbox.record(alert_id) or {}).get("status"))


def test_a_help_alert_reaches_staff_once_without_personal_data(store: Store, tmp_path: Path) -> None:
    port = free_port()
    config = kiosk_config(tmp_path / "k", port)
    server = Server(store, port, kiosk_key(config))
    services = start_queue(config)
    try:
        alert_id = services.raise_help("step", "household-certificate", "details")
        assert row_status(services, alert_id) in ("pending", "acknowledged")  # committed on return
        wait_for(lambda: row_status(services, alert_id) == "acknowledged")
        stored = list_alerts(store)
        assert [a["alert_id"] for a in stored] == [alert_id]
        row = stored[0]
        assert (row["kiosk_id"], row["screen"], row["service"], row["step"], row["status"]) == (
            config.kiosk.id, "step", "household-certificate", "details", "open",
        )  # fmt: skip
        record = services.outbox.record(alert_id)
        assert record is not None and record["kind"] == "alert" and record["answer_status"] == 201
        assert services.status().alerts_pending == 0
        # a retry after a lost answer (same alert id, same body) stores nothing new
        key = kiosk_key(config)
        client = BackendClient(server.url, key, connect_timeout_s=1, read_timeout_s=2)
        document = {
            k: row[k] for k in ("alert_id", "kiosk_id", "kind", "screen", "service", "step", "raised_at")
        }
        resp = client.session.post(
            server.url + "/v1/alerts",
            data=(body := json.dumps(document).encode()),
            headers={**key.sign("POST", "/v1/alerts", body), "Content-Type": "application/json"},
        )
        client.close()
        assert resp.status_code == 200
        assert len(list_alerts(store)) == 1
    finally:
        services.close()
        server.stop()


def test_alerts_raised_while_the_backend_is_down_arrive_when_it_returns(store: Store, tmp_path: Path) -> None:
    port = free_port()
    config = kiosk_config(tmp_path / "k", port)
    services = start_queue(config)
    try:
        alert_id = services.raise_help("review", "id-card-renewal", "review")
        wait_for(lambda: (services.outbox.record(alert_id) or {}).get("attempts", 0) >= 1)
        record = services.outbox.record(alert_id)
        assert record is not None and record["status"] == "pending" and "unreachable" in record["last_error"]
        assert services.status().alerts_pending == 1
    finally:
        services.close()  # the kiosk restarts: the queued alert survives in the outbox
    server = Server(store, port, kiosk_key(config))
    services = start_queue(config)
    try:
        wait_for(lambda: row_status(services, alert_id) == "acknowledged")
        assert [a["alert_id"] for a in list_alerts(store)] == [alert_id]
    finally:
        services.close()
        server.stop()


def test_alerts_left_in_an_old_alerts_db_are_delivered_after_the_upgrade(
    store: Store, tmp_path: Path
) -> None:
    port = free_port()
    config = kiosk_config(tmp_path / "k", port)
    waiting: dict[str, Any] = {
        "alert_id": "0190c0de-0000-4000-8000-000000000021", "kiosk_id": config.kiosk.id, "kind": "help",
        "screen": "home", "service": "", "step": "", "raised_at": "2026-11-28T20:00:00Z",
    }  # fmt: skip
    config.data_dir.mkdir(parents=True, exist_ok=True)
    old = sqlite3.connect(config.data_dir / "alerts.db")  # the schema kiosks used before the upgrade
    old.execute(
        "CREATE TABLE alerts (alert_id TEXT PRIMARY KEY, raised_at TEXT NOT NULL, body TEXT NOT NULL,"
        " status TEXT NOT NULL DEFAULT 'pending', attempts INTEGER NOT NULL DEFAULT 0,"
        " last_error TEXT NOT NULL DEFAULT '')"
    )
    old.execute(
        "INSERT INTO alerts (alert_id, raised_at, body, attempts) VALUES (?, ?, ?, 3)",
        (waiting["alert_id"], waiting["raised_at"], json.dumps(waiting)),
    )
    old.commit()
    old.close()
    server = Server(store, port, kiosk_key(config))
    services = start_queue(config)
    try:
        wait_for(lambda: row_status(services, waiting["alert_id"]) == "acknowledged")
        assert [a["alert_id"] for a in list_alerts(store)] == [waiting["alert_id"]]
        assert not (config.data_dir / "alerts.db").exists()
        assert (config.data_dir / "alerts.db.imported").exists()
    finally:
        services.close()
        server.stop()


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
