"""The traffic-management stand-in and the payment provider behind real HTTP, both stores: the
kiosk's own signed client, enrolment through the CLI, decisions, the 12-point refusal, privacy of
plate and decision-number look-ups, payment codes and the fiscal e-receipt number."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from backend import fines as fines_module
from backend.app import Backend, make_server
from backend.cli import main as backend_main
from backend.fines import DEMO_HOLDER, DEMO_NEAR_FULL, FinesRegister
from backend.store import open_store
from contract.signing import SigningKey
from kiosk.queue.client import BackendClient

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-F1", b"f" * 32)
FINE_TABLES = ", ".join(t.split("EXISTS ")[1].split(" ")[0] for t in fines_module._TABLES)


@pytest.fixture
def client(store_url: str) -> Iterator[BackendClient]:
    if store_url.startswith("postgres"):
        import psycopg

        with psycopg.connect(store_url, autocommit=True) as conn:
            conn.execute(f"DROP TABLE IF EXISTS {FINE_TABLES}")
    assert backend_main(["fines", "demo-enrol", "--store", store_url]) == 0  # enrolled by command
    store = open_store(store_url)
    backend = Backend(store, {KEY.key_id: KEY.secret})
    httpd = make_server(backend, "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    c = BackendClient(f"http://127.0.0.1:{httpd.server_port}", KEY)
    try:
        yield c
    finally:
        c.close()
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        store.close()


def test_holder_sees_licence_and_own_vehicles_violations(client: BackendClient) -> None:
    found = client.fines_of_holder(DEMO_HOLDER)
    assert found["licence"] == {
        "licence_class": "C1", "status": "valid", "points": 3, "points_left": 9,
        "cycle_end": found["licence"]["cycle_end"],
    }  # fmt: skip
    ids = [v["violation_id"] for v in found["violations"]]
    assert ids == ["V2026A1", "V2026A2", "V2026A3", "V2026A4"]  # not 李四's car
    decided = {v["violation_id"]: v["decision_no"] for v in found["violations"]}
    assert decided["V2026A1"] and decided["V2026A2"] is None  # a ticket on the spot is decided already
    assert client.fines_of_holder("990000199001010009")["licence"] is None


def test_deciding_issues_numbers_and_adds_points(client: BackendClient) -> None:
    answer = client.decide_fines(DEMO_HOLDER, ["V2026A2", "V2026A3"])
    numbers = [v["decision_no"] for v in answer["violations"]]
    assert all(n and len(n) == 16 for n in numbers) and len(set(numbers)) == 2
    assert client.fines_of_holder(DEMO_HOLDER)["licence"]["points"] == 3 + 1 + 6
    again = client.decide_fines(DEMO_HOLDER, ["V2026A2"])  # a retry: the same number, no new points
    assert again["violations"][0]["decision_no"] == numbers[0]
    assert client.fines_of_holder(DEMO_HOLDER)["licence"]["points"] == 10
    assert client.decide_fines(DEMO_NEAR_FULL, ["V2026A2"]) == {
        "error": "not_theirs", "detail": "a violation is not of a vehicle registered to the holder",
    }  # fmt: skip


def test_reaching_twelve_points_is_refused_by_the_register(client: BackendClient) -> None:
    assert client.decide_fines(DEMO_NEAR_FULL, ["V2026B1"])["error"] == "points_full"
    assert client.fines_of_holder(DEMO_NEAR_FULL)["licence"]["points"] == 9


def test_plate_and_decision_number_show_no_times_or_places(client: BackendClient) -> None:
    by_plate = client.fines_by_plate("京A12345")
    assert len(by_plate) == 4
    for item in by_plate:
        assert not {"date", "occurred_at", "place_zh", "place_en", "decision_no"} & set(item)
    number = client.fines_of_holder(DEMO_HOLDER)["violations"][0]["decision_no"]
    fine = client.fine_by_decision(number)
    assert fine is not None and fine["amount_fen"] == 15000 and fine["decided_at"] == "2026-10-12"
    assert not {"date", "occurred_at", "place_zh", "place_en", "plate"} & set(fine)
    assert client.fine_by_decision("9900002026000000") is None


def test_payment_code_pays_with_a_fiscal_receipt_and_settles(client: BackendClient) -> None:
    number = client.fines_of_holder(DEMO_HOLDER)["violations"][0]["decision_no"]
    order = client.create_payment(15000, "vehicle.traffic_fine")
    assert client.settle_fines([number], order["payment_id"]) == {"error": "not_paid", "detail": "not_paid"}
    declined = client.pay_with_code(order["payment_id"], "134567890123450000")
    assert declined["status"] == "pending" and declined["error"] == "declined"
    assert client.pay_with_code(order["payment_id"], "hello")["error"] == "not_a_payment_code"
    paid = client.pay_with_code(order["payment_id"], "134567890123456789")
    assert paid["status"] == "paid" and len(paid["fiscal_receipt_no"]) == 18
    assert client.payment_status(order["payment_id"])["fiscal_receipt_no"] == paid["fiscal_receipt_no"]
    assert client.settle_fines([number], order["payment_id"]) == {"ok": True}
    assert number not in [v["decision_no"] for v in client.fines_of_holder(DEMO_HOLDER)["violations"]]


def test_fines_routes_are_signed_and_replay_protected(client: BackendClient) -> None:
    url = client.base_url + "/v1/fines/by-holder"
    assert requests.post(url, data=b"{}", timeout=5).status_code == 401
    body = b'{"id_number": "99010119800315031X"}'
    headers = KEY.sign("POST", "/v1/fines/by-holder", body)
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 200
    assert requests.post(url, data=body, headers=headers, timeout=5).status_code == 401  # replayed


def test_cli_enrols_a_licence_vehicle_and_violation(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    n = "990000199001010009"
    assert (
        backend_main(
            ["fines", "licence", "--store", url, "--id-number", n, "--name", "测试", "--points", "2"]
        )
        == 0
    )
    assert backend_main(["fines", "vehicle", "--store", url, "--plate", "京C11111", "--owner", n]) == 0
    args = ["--id", "X1", "--plate", "京C11111", "--at", "2026-11-01 09:00", "--what", "闯红灯/Red light",
            "--where", "示例路/Example Rd", "--fine-fen", "20000", "--points", "6"]  # fmt: skip
    assert backend_main(["fines", "violation", "--store", url, *args]) == 0
    assert (
        backend_main(["fines", "licence", "--store", url, "--id-number", "990000199001010001", "--name", "x"])
        == 1
    )
    store = open_store(url)
    try:
        found = FinesRegister(store).by_holder(n)
    finally:
        store.close()
    assert found["licence"]["points_left"] == 10 and found["violations"][0]["description_en"] == "Red light"
