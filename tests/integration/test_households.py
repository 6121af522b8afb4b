"""The household register stand-in (backend/households.py), on both stores: enrolled by command,
asked through the signed, replay-protected look-up, answering only "same household or not"."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
import requests

from backend.app import Backend
from backend.cli import main as backend_main
from backend.households import Households, households_of
from backend.keys import KeyRing
from backend.store import Store, open_store
from contract.signing import SigningKey
from tests.integration.backend_server import serving

pytestmark = pytest.mark.integration

KEY = SigningKey("KEY-H1", b"h" * 32)
APPLICANT = "99010119800315031X"  # the simulated resident card's holder
CHILD = "990101201506010014"
STRANGER = "990101198808080523"
UNKNOWN = "990101199001010019"  # valid check character, in no household
PATH = "/v1/lookup/household"


@dataclass
class Running:
    url: str
    store: Store


def _fresh(store: Store) -> None:
    """PostgreSQL stores are shared between tests: start from an empty table."""
    Households(store)
    with store.transaction() as cur:
        store._exec(cur, "DELETE FROM household_members")


def _serve(store_url: str, *, simulate: bool) -> Iterator[Running]:
    store = open_store(store_url)
    _fresh(store)
    ring = KeyRing()
    ring.add(KEY.key_id, "KIOSK-H1", KEY.secret, source="test")
    with serving(Backend(store, ring, simulate=simulate)) as httpd:
        yield Running(f"http://127.0.0.1:{httpd.server_port}", store)
    store.close()


@pytest.fixture
def server(store_url: str) -> Iterator[Running]:
    yield from _serve(store_url, simulate=False)


@pytest.fixture
def demo_server(store_url: str) -> Iterator[Running]:
    yield from _serve(store_url, simulate=True)


def _ask(server: Running, doc: object, *, signed: bool = True) -> requests.Response:
    body = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json"}
    if signed:
        headers.update(KEY.sign("POST", PATH, body))
    return requests.post(server.url + PATH, data=body, headers=headers, timeout=5)


def test_enrolled_by_command_and_asked_through_the_signed_route(server: Running, store_url: str) -> None:
    for number, relation in ((APPLICANT, "head"), (CHILD, "child")):
        cmd = ["household", "add", "--store", store_url, "--id-number", number, "--household", "H-T1"]
        assert backend_main([*cmd, "--relation", relation]) == 0
    assert backend_main(["household", "add", "--store", store_url, "--id-number", STRANGER,
                         "--household", "H-T2"]) == 0  # fmt: skip
    same = _ask(server, {"id_number": APPLICANT, "member_id_number": CHILD})
    assert same.status_code == 200 and same.json() == {"same_household": True, "reason": ""}
    other = _ask(server, {"id_number": APPLICANT, "member_id_number": STRANGER}).json()
    assert other == {"same_household": False, "reason": "different_household"}
    unknown = _ask(server, {"id_number": APPLICANT, "member_id_number": UNKNOWN}).json()
    assert unknown == {"same_household": False, "reason": "member_unknown"}
    nobody = _ask(server, {"id_number": UNKNOWN, "member_id_number": APPLICANT}).json()
    assert nobody == {"same_household": False, "reason": "applicant_unknown"}
    # the answer never carries the household's number or anyone else's data
    assert "H-T1" not in same.text and CHILD not in same.text


def test_removed_by_command(server: Running, store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    for number in (APPLICANT, CHILD):
        backend_main(["household", "add", "--store", store_url, "--id-number", number, "--household", "H-T1"])
    assert backend_main(["household", "list", "--store", store_url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])["members"]
    assert len(listed) == 2 and all("*" in m["id_number"] for m in listed)  # masked
    assert backend_main(["household", "remove", CHILD, "--store", store_url]) == 0
    answer = _ask(server, {"id_number": APPLICANT, "member_id_number": CHILD}).json()
    assert answer == {"same_household": False, "reason": "member_unknown"}
    assert backend_main(["household", "remove", CHILD, "--store", store_url]) == 1


def test_bad_enrolments_are_refused_in_one_line(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    bad_check = APPLICANT[:-1] + "1"
    code = backend_main(
        ["household", "add", "--store", store_url, "--id-number", bad_check, "--household", "H"]
    )
    assert code == 1 and "GB 11643" in capsys.readouterr().err
    code = backend_main(
        ["household", "add", "--store", store_url, "--id-number", APPLICANT, "--household", "a b"]
    )
    assert code == 1


def test_unsigned_replayed_and_malformed_asks_are_refused(server: Running) -> None:
    doc = {"id_number": APPLICANT, "member_id_number": CHILD}
    assert _ask(server, doc, signed=False).status_code == 401
    body = json.dumps(doc).encode()
    headers = {"Content-Type": "application/json", **KEY.sign("POST", PATH, body)}
    first = requests.post(server.url + PATH, data=body, headers=headers, timeout=5)
    again = requests.post(server.url + PATH, data=body, headers=headers, timeout=5)
    assert first.status_code == 200
    assert again.status_code == 401 and again.json()["error"] == "replayed_nonce"
    assert _ask(server, {"id_number": APPLICANT}).status_code == 400
    assert _ask(server, {"id_number": APPLICANT, "member_id_number": APPLICANT[:-1] + "1"}).status_code == 400
    assert _ask(server, [1, 2]).status_code == 400


def test_the_simulating_backend_enrols_the_demo_households_before_the_first_ask(demo_server: Running) -> None:
    answer = _ask(demo_server, {"id_number": APPLICANT, "member_id_number": CHILD}).json()
    assert answer == {"same_household": True, "reason": ""}
    assert households_of(demo_server.store).household_of(STRANGER) == "H990101-0002"
