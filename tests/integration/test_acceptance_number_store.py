"""The backend store and routes for the acceptance number (受理号) and the card holder's list, on
SQLite and PostgreSQL: stored unique, found by number, a number that comes round again, a
misconfigured pair of kiosks, envelopes from before the number, the signed routes' refusals."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from backend.app import Backend, make_server
from backend.store import Store, open_store
from contract.ids import acceptance_number, group_number, uuid7
from contract.signing import SigningKey
from kiosk.queue.outbox import Outbox

pytestmark = pytest.mark.integration

KEY = SigningKey("KIOSK-N1", b"n" * 32)
HOLDER = "110101199003070015"
CERT = {
    "applicant": {"id_number": HOLDER, "name": "张三", "identified_by": "card"},
    "fields": {"purpose": "school", "copies": 1, "phone": "13800000000"},
}


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    opened = open_store(store_url)
    try:
        yield opened
    finally:
        opened.close()


def _envelope(number: str | None, kiosk_id: str = KEY.key_id, seq: int = 1, test: bool = False) -> dict:
    env = {
        "envelope_version": 1,
        "request_id": str(uuid7()),
        "kiosk_id": kiosk_id,
        "sequence": seq,
        "created_at": "2026-12-01T08:00:00.000000Z",
        "request_type": "household.household_certificate",
        "request_version": 1,
        "test": test,
        "payload": CERT,
        "attachments": [],
    }
    if number is not None:
        env["acceptance_number"] = number
    return env


def _ingest(store: Store, env: dict) -> int:
    body = json.dumps(env, ensure_ascii=False).encode()
    return store.ingest(env["kiosk_id"], str(uuid7()), 0, env, body).status


NUMBER = acceptance_number(5, dt.date(2026, 12, 1), 1)


def test_stored_and_found_by_number_in_any_grouping(store: Store) -> None:
    env = _envelope(NUMBER)
    assert _ingest(store, env) == 201
    found = store.find_by_number(NUMBER)
    assert found is not None and found["request_id"] == env["request_id"]
    assert found["acceptance_number"] == NUMBER and found["status"] == "received"
    assert store.find_by_number(group_number(NUMBER)) == found
    assert store.status(env["request_id"]) == found
    wrong = NUMBER[:-1] + str((int(NUMBER[-1]) + 1) % 10)
    assert store.find_by_number(wrong) is None  # a failed check digit is nobody's number
    assert _ingest(store, env) == 200  # a retry: the same number, no conflict with itself
    assert store.find_by_number(NUMBER) == found


def test_a_request_from_before_the_number_is_stored_without_one(store: Store) -> None:
    env = _envelope(None)
    assert _ingest(store, env) == 201
    status = store.status(env["request_id"])
    assert status is not None and status["acceptance_number"] is None


def test_two_kiosks_with_one_number_never_lose_a_request(store: Store) -> None:
    first, second = _envelope(NUMBER), _envelope(NUMBER, kiosk_id="KIOSK-N2")
    assert _ingest(store, first) == 201
    assert _ingest(store, second) == 201  # stored all the same, without the number
    assert store.find_by_number(NUMBER)["request_id"] == first["request_id"]  # type: ignore[index]
    assert store.status(second["request_id"])["acceptance_number"] is None  # type: ignore[index]


def test_a_number_that_comes_round_after_ten_years_is_given_up_by_the_old_request(store: Store) -> None:
    old = _envelope(NUMBER)
    assert _ingest(store, old) == 201
    with store.transaction() as cur:
        store._exec(
            cur,
            "UPDATE requests SET received_at = ? WHERE request_id = ?",
            ("2016-12-01T08:00:00.000000Z", old["request_id"]),
        )
    new = _envelope(NUMBER)
    assert _ingest(store, new) == 201
    assert store.find_by_number(NUMBER)["request_id"] == new["request_id"]  # type: ignore[index]
    assert store.status(old["request_id"])["acceptance_number"] is None  # type: ignore[index]


def test_the_holders_list_is_masked_newest_first_and_leaves_out_tests(store: Store) -> None:
    numbers = [acceptance_number(5, dt.date(2026, 12, 1), seq) for seq in (1, 2, 3)]
    for seq, number in enumerate(numbers, 1):
        assert _ingest(store, _envelope(number, seq=seq)) == 201
    assert _ingest(store, _envelope(acceptance_number(5, dt.date(2026, 12, 1), 9), seq=9, test=True)) == 201
    listed = store.find_by_holder(HOLDER)
    assert [item["acceptance_number"] for item in listed] == numbers[::-1]
    assert set(listed[0]) == {"acceptance_number", "request_type", "status", "received_at", "updated_at"}
    assert store.find_by_holder(HOLDER.lower()) == listed  # an x/X check character reads the same
    assert store.find_by_holder("990000199001010009") == []
    assert HOLDER not in json.dumps(listed)


def test_a_store_from_before_the_number_gains_its_columns(store_url: str) -> None:
    """An existing store (no acceptance_number, no holder_key) is migrated when opened."""
    first = open_store(store_url)
    with first.transaction() as cur:
        first._exec(cur, "DROP INDEX requests_number")
        first._exec(cur, "DROP INDEX requests_holder")
        first._exec(cur, "ALTER TABLE requests DROP COLUMN acceptance_number")
        first._exec(cur, "ALTER TABLE requests DROP COLUMN holder_key")
    first.close()
    again = open_store(store_url)
    try:
        assert _ingest(again, _envelope(NUMBER)) == 201
        assert again.find_by_number(NUMBER) is not None and again.find_by_holder(HOLDER)
    finally:
        again.close()


# -- the signed routes --------------------------------------------------------------------------


@pytest.fixture
def server(store: Store) -> Iterator[str]:
    httpd = make_server(Backend(store, {KEY.key_id: KEY.secret}), "127.0.0.1", 0)
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)


def _signed(
    url: str, method: str, path: str, doc: dict | None = None, key: SigningKey = KEY
) -> requests.Response:
    body = json.dumps(doc).encode() if doc is not None else b""
    headers = key.sign(method, path, body)
    return requests.request(method, url + path, data=body, headers=headers, timeout=5)


def test_the_status_page_by_number_never_shows_the_reason(server: str, store: Store) -> None:
    env = _envelope(NUMBER)
    assert _ingest(store, env) == 201
    assert store.take("officer") is not None and store.finish(env["request_id"], "rejected", "材料不全")
    by_id = requests.get(f"{server}/status/{env['request_id']}", timeout=5)
    by_number = requests.get(f"{server}/status/{NUMBER}", timeout=5)
    assert "材料不全" in by_id.text and "未通过" in by_id.text
    assert "材料不全" not in by_number.text and "未通过" in by_number.text
    assert requests.get(f"{server}/status/000000000000", timeout=5).status_code == 404


def test_routes_by_number_by_holder_and_the_status_page(server: str, tmp_path: Path) -> None:
    from kiosk.queue.delivery import HttpSender, deliver_until_empty

    with Outbox(tmp_path / "outbox.db", KEY.key_id, kiosk_number=5) as outbox:
        submitted = outbox.submit("household.household_certificate", 1, CERT)
        sender = HttpSender(server, KEY)
        try:
            assert deliver_until_empty(outbox, sender, timeout_s=10) == 1
        finally:
            sender.close()
    found = _signed(server, "GET", f"/v1/requests/by-number/{submitted.number}")
    assert found.status_code == 200 and found.json()["request_id"] == submitted.request_id
    assert _signed(server, "GET", "/v1/requests/by-number/000000000001").status_code == 404
    unsigned = requests.get(f"{server}/v1/requests/by-number/{submitted.number}", timeout=5)
    assert unsigned.status_code == 401
    listed = _signed(server, "POST", "/v1/requests/by-holder", {"id_number": HOLDER, "source": "card_reader"})
    assert listed.status_code == 200
    assert [item["acceptance_number"] for item in listed.json()["requests"]] == [submitted.number]
    assert "request_id" not in listed.json()["requests"][0]
    # a list only for a card read at the kiosk, and only for a signed kiosk
    typed = _signed(server, "POST", "/v1/requests/by-holder", {"id_number": HOLDER, "source": "typed"})
    assert typed.status_code == 400
    bad = _signed(server, "POST", "/v1/requests/by-holder", {"id_number": "12345", "source": "card_reader"})
    assert bad.status_code == 400
    stranger = SigningKey("KIOSK-X", b"x" * 32)
    refused = _signed(
        server, "POST", "/v1/requests/by-holder", {"id_number": HOLDER, "source": "card_reader"}, stranger
    )
    assert refused.status_code == 401
    # the public status page: by the receipt's link (the id) or by the 受理号 itself
    for key in (submitted.request_id, submitted.number):
        page = requests.get(f"{server}/status/{key}", timeout=5)
        assert page.status_code == 200 and group_number(submitted.number) in page.text
        assert submitted.request_id not in page.text
