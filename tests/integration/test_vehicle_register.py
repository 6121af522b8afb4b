"""The vehicle register stand-in (backend/vehicles.py) on both stores: enrolled by command, asked
through the kiosk's own signed client, replay-protected, and silent about a stranger's vehicle."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from backend import cli
from backend.app import Backend
from backend.store import Store, open_store
from backend.vehicles import TABLES, VehicleRegister
from contract.signing import SigningKey
from kiosk.errors import BackendRejected
from kiosk.queue.client import BackendClient
from tests.integration.backend_server import serving

pytestmark = pytest.mark.integration

KEY = SigningKey("KEY-V1", b"v" * 32)
OWNER = "99010119800315031X"  # synthetic (the simulated resident card)
OTHER = "993300196502010053"  # synthetic: someone else


@dataclass
class Running:
    url: str
    store: Store


@pytest.fixture
def running(store_url: str) -> Iterator[Running]:
    store = open_store(store_url)
    with store.transaction() as cur:  # PostgreSQL keeps tables between tests: start empty
        for ddl in TABLES:
            if ddl.startswith("CREATE TABLE"):
                cur.execute(f"DROP TABLE IF EXISTS {ddl.split()[5]}")
    backend = Backend(store, {KEY.key_id: KEY.secret})
    with serving(backend) as httpd:
        yield Running(f"http://127.0.0.1:{httpd.server_port}", store)
    store.close()


def _enrol(store_url: str, tmp_path: Path) -> None:
    doc = {
        "licences": [{"id_number": OWNER, "name": "张三丰", "licence_class": "C1", "valid_to": "+30d"}],
        "vehicles": [
            {
                "plate": "京A10000", "owner": OWNER, "registered": "-1430d", "insurance_valid_to": "+200d",
                "violations_outstanding": 1,
            },
        ],
        "health_checks": [
            {"record_no": "3301202600000017", "id_number": OWNER, "exam_date": "-20d"},
            {"record_no": "3301202600000025", "id_number": OWNER, "exam_date": "-20d", "result": "fail"},
        ],
    }  # fmt: skip
    listing = tmp_path / "vehicles.json"
    listing.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    assert cli.main(["vehicles", "enrol", str(listing), "--store", store_url]) == 0


def test_enrolled_records_answer_through_the_kiosks_signed_client(
    running: Running, store_url: str, tmp_path: Path
) -> None:
    _enrol(store_url, tmp_path)
    client = BackendClient(running.url, KEY)
    try:
        licence = client.licence(OWNER)
        assert licence is not None
        assert licence["licence_class"] == "C1"
        assert licence["valid_to"] == (dt.date.today() + dt.timedelta(days=30)).isoformat()  # +30d, today
        assert client.licence(OTHER) is None

        assert client.health_check(OWNER, "3301202600000017")["valid"] is True
        assert client.health_check(OWNER, "3301202600000025") == {
            "valid": False, "reason": "not_passed",
            "record": {"record_no": "3301202600000025", "exam_date": (
                dt.date.today() - dt.timedelta(days=20)).isoformat(), "hospital": "示例市人民医院"},
        }  # fmt: skip
        # someone else's record reads as unknown: a typed number reveals nothing about its holder
        assert client.health_check(OTHER, "3301202600000017") == {"valid": False, "reason": "unknown_record"}

        owned = client.owner_check(OWNER, "京A10000")
        assert owned is not None and owned["owner"] is True
        assert owned["vehicle"]["insurance_ok"] is True
        assert owned["vehicle"]["violations_outstanding"] == 1
        assert "owner_id_number" not in owned["vehicle"]
        assert client.owner_check(OTHER, "京A10000") == {"owner": False}  # nothing about the vehicle
        assert client.owner_check(OWNER, "京Z99999") is None
        with pytest.raises(BackendRejected):
            client.owner_check("123", "京A10000")
    finally:
        client.close()


def test_the_vehicle_routes_are_signed_and_replay_protected(running: Running) -> None:
    body = json.dumps({"id_number": OWNER}).encode()
    path = "/v1/vehicles/licence"
    unsigned = requests.post(running.url + path, data=body, timeout=5)
    assert unsigned.status_code == 401
    headers = {"Content-Type": "application/json", **KEY.sign("POST", path, body)}
    first = requests.post(running.url + path, data=body, headers=headers, timeout=5)
    again = requests.post(running.url + path, data=body, headers=headers, timeout=5)
    assert first.status_code == 404  # nothing enrolled: no licence
    assert again.status_code == 401 and again.json()["error"] == "replayed_nonce"


def test_the_cli_refuses_bad_entries_in_one_line(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    base = ["vehicles", "add-vehicle", "--store", store_url, "--plate", "京A12345", "--registered=-10d"]
    assert cli.main([*base, "--owner", "990101198003150310", "--insurance-to", "+1d"]) == 1
    assert "not a valid ID number" in capsys.readouterr().err
    assert cli.main([*base, "--owner", OWNER, "--insurance-to", "soon"]) == 1
    assert "is not a date" in capsys.readouterr().err
    assert cli.main([*base, "--owner", OWNER, "--insurance-to", "+1d", "--plate-type", "tank"]) == 1
    assert "plate type" in capsys.readouterr().err
    assert cli.main([*base, "--owner", OWNER, "--insurance-to", "+1d", "--plate-type", "trailer"]) == 0
    assert cli.main(["vehicles", "list", "--store", store_url, "--json"]) == 0
    listing = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert listing["vehicles"][0]["plate_type"] == "trailer"
    assert OWNER not in json.dumps(listing)  # masked
    store = open_store(store_url)
    try:
        assert VehicleRegister(store).remove("vehicle", "京A12345")
    finally:
        store.close()
