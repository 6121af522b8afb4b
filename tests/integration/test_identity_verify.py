"""Identity verification on the backend, end to end over signed HTTP, on SQLite and PostgreSQL:
the register (enrolled through `kiosk-backend register add`), the real dlib face match, the rate
limit per number and per kiosk, the audit, and the certificate the backend signs."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from backend.app import Backend
from backend.certificates import CertificateIssuer, KeyRing
from backend.cli import main as backend_main
from backend.identity import IdentityVerifier, RateLimit, audit_rows
from backend.lookups import Lookups
from backend.register import Register, matcher_factory
from backend.store import Store, open_store
from contract.certificates import parse_public_keys, verify_certificate
from contract.signing import SigningKey
from kiosk.queue.demo_register import OTHER_FACE_NUMBER
from tests import faces
from tests.integration.backend_server import serving

pytestmark = pytest.mark.integration

KIOSK_A = SigningKey("KIOSK-A", b"a" * 32)
KIOSK_B = SigningKey("KIOSK-B", b"b" * 32)
KIOSK_C = SigningKey("KIOSK-C", b"k" * 32)
HOLDER_NUMBER = "99010119800315031X"  # the simulated card's resident, enrolled with the demo face
UNKNOWN = "990000199001010009"  # well-formed, enrolled nobody
LIMIT = 3


@dataclass
class Running:
    url: str
    store: Store
    keys_dir: Path


def _add(store_url: str, tmp: Path, number: str, name: str, photo: bytes, *extra: str) -> int:
    path = tmp / f"{number}.jpg"
    path.write_bytes(photo)
    argv = [
        "register",
        "add",
        "--store",
        store_url,
        "--id-number",
        number,
        "--name",
        name,
        "--photo",
        str(path),
    ]
    return backend_main([*argv, *extra])


@pytest.fixture
def server(store_url: str, tmp_path: Path) -> Iterator[Running]:
    assert _add(store_url, tmp_path, HOLDER_NUMBER, "张三丰", faces.demo_face_jpeg(), "--nation", "汉") == 0
    assert _add(store_url, tmp_path, OTHER_FACE_NUMBER, "赵小红", faces.other_face_jpeg()) == 0
    keys_dir = tmp_path / "cert-keys"
    assert backend_main(["keys", "generate", "--dir", str(keys_dir)]) == 0
    store = open_store(store_url)
    identity = IdentityVerifier(
        store,
        Register(store, matcher_factory()),
        limit=RateLimit(LIMIT, 3600),
        issuer=CertificateIssuer(KeyRing(keys_dir)),
    )
    keys = {k.key_id: k.secret for k in (KIOSK_A, KIOSK_B, KIOSK_C)}
    backend = Backend(store, keys, lookups=Lookups(identity=identity))
    try:
        with serving(backend) as httpd:
            yield Running(f"http://127.0.0.1:{httpd.server_port}", store, keys_dir)
    finally:
        store.close()


def _verify(server: Running, data: dict[str, object], key: SigningKey = KIOSK_A) -> dict[str, object]:
    body = json.dumps(data).encode()
    headers = key.sign("POST", "/v1/identity/verify", body)
    answer = requests.post(server.url + "/v1/identity/verify", data=body, headers=headers, timeout=30)
    assert answer.status_code == 200, answer.text
    doc: dict[str, object] = answer.json()
    return doc


def _live(number: str, photo: bytes, **more: str) -> dict[str, object]:
    return {"id_number": number, "name": "", "photo_jpeg_b64": faces.b64(photo), **more}


def test_hash_only_and_missing_photo_are_refused(server: Running) -> None:
    for data in (
        {"id_number": HOLDER_NUMBER, "name": "张三丰", "photo_sha256": "a" * 64},
        {"id_number": HOLDER_NUMBER, "name": "张三丰"},
        {"id_number": HOLDER_NUMBER, "name": "张三丰", "photo_jpeg_b64": ""},
    ):
        answer = _verify(server, data)
        assert answer["verified"] is False and answer["reason"] == "photo_missing"
        assert "holder" not in answer and "certificate" not in answer


def test_match_answers_the_holder_and_a_signed_certificate(server: Running) -> None:
    live = faces.live_face_jpeg()
    request_id = "0190f2c4-7a1e-7b3c-9d2e-5f6a7b8c9d0e"
    answer = _verify(server, _live(HOLDER_NUMBER, live, request_id=request_id, purpose="temp-id-certificate"))
    assert answer["verified"] is True and answer["reason"] == ""
    assert answer["holder"] == {"name": "张三丰", "nation": "汉", "address": ""}
    assert isinstance(answer["similarity"], float) and answer["similarity"] > 0.55
    certificate = answer["certificate"]
    assert isinstance(certificate, dict)
    public = parse_public_keys((server.keys_dir / "public.pem").read_text())
    check = verify_certificate(certificate["qr_text"], public, holder={"name": "张三丰"})
    assert check.valid and check.claims is not None
    import hashlib

    assert check.claims.request_id == request_id and check.claims.kiosk_id == KIOSK_A.key_id
    assert (
        check.claims.id_number == HOLDER_NUMBER
        and check.claims.photo_sha256 == hashlib.sha256(live).hexdigest()
    )
    assert certificate["claims"] == check.claims.as_dict()
    # without a certificate purpose, no certificate
    plain = _verify(server, _live(HOLDER_NUMBER, live))
    assert plain["verified"] is True and "certificate" not in plain


def test_unknown_number_mismatch_and_unusable_photos(server: Running) -> None:
    live = faces.live_face_jpeg()
    unknown = _verify(server, _live(UNKNOWN, live))
    assert unknown["verified"] is False and unknown["reason"] == "no_record" and "holder" not in unknown
    # the number's register photo is someone else's: refused, nothing about the holder answered
    other = _verify(server, _live(OTHER_FACE_NUMBER, live, purpose="temp-id-certificate", request_id="r-1"))
    assert other == {
        "verification_id": other["verification_id"],
        "verified": False,
        "reason": "photo_mismatch",
    }
    for photo, reason in ((faces.blank_jpeg(), "photo_unusable"), (faces.two_faces_jpeg(), "photo_unusable")):
        assert _verify(server, _live(HOLDER_NUMBER, photo))["reason"] == reason
    garbage = {"id_number": HOLDER_NUMBER, "name": "", "photo_jpeg_b64": "not base64!"}
    assert _verify(server, garbage)["reason"] == "photo_unusable"
    assert _verify(server, _live("990000199001010001", live))["reason"] == "id_number_invalid"
    body = json.dumps({"id_number": 99, "photo_jpeg_b64": 1}).encode()
    bad = requests.post(
        server.url + "/v1/identity/verify",
        data=body,
        headers=KIOSK_A.sign("POST", "/v1/identity/verify", body),
        timeout=10,
    )
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_body"


def test_failures_are_limited_per_number_and_audited(server: Running) -> None:
    live = faces.live_face_jpeg()
    for _ in range(LIMIT):  # someone tries the other resident's number with their own face
        assert _verify(server, _live(OTHER_FACE_NUMBER, live), KIOSK_A)["reason"] == "photo_mismatch"
    # now even the number's real holder (her own register face), at another kiosk, waits
    blocked = _verify(server, _live(OTHER_FACE_NUMBER, faces.other_face_jpeg()), KIOSK_B)
    assert blocked["verified"] is False and blocked["reason"] == "too_many_attempts"
    assert "holder" not in blocked
    # other numbers at that kiosk are not affected
    assert _verify(server, _live(HOLDER_NUMBER, live), KIOSK_B)["verified"] is True
    rows = audit_rows(server.store)
    assert [r["outcome"] for r in rows][:2] == ["verified", "too_many_attempts"]
    assert [r["outcome"] for r in rows].count("photo_mismatch") == LIMIT
    assert all(r["counts"] == (r["outcome"] == "photo_mismatch") for r in rows)
    dump = json.dumps(rows, ensure_ascii=False)
    assert OTHER_FACE_NUMBER not in dump and HOLDER_NUMBER not in dump  # numbers masked
    assert {r["id_masked"] for r in rows} == {"9901**********0523", "9901**********031X"}
    assert {r["kiosk_id"] for r in rows} == {"KIOSK-A", "KIOSK-B"}


def test_failures_are_limited_per_kiosk(server: Running) -> None:
    live = faces.live_face_jpeg()
    numbers = ["990000199001010017", "990000199001010025", "990000199001010033"]
    for number in numbers:  # probing numbers from one kiosk
        assert _verify(server, _live(number, live), KIOSK_C)["reason"] == "no_record"
    assert _verify(server, _live(HOLDER_NUMBER, live), KIOSK_C)["reason"] == "too_many_attempts"
    assert _verify(server, _live(HOLDER_NUMBER, live), KIOSK_A)["verified"] is True  # other kiosks work


def test_the_window_moves_on(tmp_path: Path) -> None:
    """Failures older than the window no longer count (the verifier's clock injected)."""
    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    now = [1_000_000.0]
    try:
        register = Register(store, matcher_factory())
        verifier = IdentityVerifier(store, register, limit=RateLimit(2, 600), clock=lambda: now[0])
        for _ in range(2):
            assert verifier.verify(_live(UNKNOWN, faces.blank_jpeg()), "K")[1]["reason"] == "no_record"
        assert verifier.verify(_live(UNKNOWN, faces.blank_jpeg()), "K")[1]["reason"] == "too_many_attempts"
        now[0] += 601
        assert verifier.verify(_live(UNKNOWN, faces.blank_jpeg()), "K")[1]["reason"] == "no_record"
    finally:
        store.close()


def test_register_cli_add_list_remove(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        _add(store_url, tmp_path, HOLDER_NUMBER, "张三丰", faces.demo_face_jpeg(), "--address", "虚构省1号")
        == 0
    )
    assert "enrolled 9901**********031X 张三丰" in capsys.readouterr().out
    assert _add(store_url, tmp_path, HOLDER_NUMBER, "张三丰", faces.demo_face_jpeg()) == 1
    assert "enrolled already" in capsys.readouterr().err
    for photo, words in ((faces.blank_jpeg(), "no face"), (faces.two_faces_jpeg(), "more than one face")):
        assert _add(store_url, tmp_path, OTHER_FACE_NUMBER, "赵小红", photo) == 1
        err = capsys.readouterr().err
        assert err.startswith("error: photo refused: ") and words in err and err.count("\n") == 1
    assert _add(store_url, tmp_path, "990000199001010001", "坏号", faces.demo_face_jpeg()) == 1
    assert "not a valid ID number" in capsys.readouterr().err
    assert backend_main(["register", "list", "--store", store_url]) == 0
    out = capsys.readouterr().out
    assert "9901**********031X  张三丰" in out and HOLDER_NUMBER not in out
    assert backend_main(["register", "list", "--store", store_url, "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)["residents"]
    assert [r["id_number"] for r in listed] == ["9901**********031X"] and "photo" not in listed[0]
    assert re.fullmatch(r"[0-9a-f]{64}", listed[0]["photo_sha256"])
    assert backend_main(["register", "remove", HOLDER_NUMBER, "--store", store_url]) == 0
    assert backend_main(["register", "remove", HOLDER_NUMBER, "--store", store_url]) == 1
    assert "not in the register" in capsys.readouterr().err
    assert backend_main(["register", "list", "--store", store_url]) == 0
    assert "the register is empty" in capsys.readouterr().out


def test_real_photos_obama_matches_biden_does_not(tmp_path: Path) -> None:
    """The face_recognition test photos (scripts/face-fixtures): the register holds one Obama
    photo; another Obama photo verifies, Biden's is a mismatch answering nothing about the holder."""
    from tests.face_data import fixture_bytes

    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        register = Register(store, matcher_factory())
        register.add(HOLDER_NUMBER, "张三丰", fixture_bytes("obama.jpg"))
        verifier = IdentityVerifier(store, register)
        same = verifier.verify(_live(HOLDER_NUMBER, fixture_bytes("obama2.jpg")), "K")[1]
        assert same["verified"] is True and same["holder"]["name"] == "张三丰"
        other = verifier.verify(_live(HOLDER_NUMBER, fixture_bytes("biden.jpg")), "K")[1]
        assert other["reason"] == "photo_mismatch" and "holder" not in other and "similarity" not in other
    finally:
        store.close()


def test_unavailable_signing_key_or_matcher_is_503_and_audited(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        Register(store, matcher_factory()).add(HOLDER_NUMBER, "张三丰", faces.demo_face_jpeg())
        no_key = IdentityVerifier(store, Register(store, matcher_factory()))  # no certificate issuer
        status, answer = no_key.verify(
            _live(HOLDER_NUMBER, faces.live_face_jpeg(), purpose="temp-id-certificate"), "K"
        )
        assert status == 503 and answer["error"] == "certificate_signing_unavailable"
        broken = IdentityVerifier(store, Register(store, matcher_factory("no_such_module:Matcher")))
        status, answer = broken.verify(_live(HOLDER_NUMBER, faces.live_face_jpeg()), "K")
        assert status == 503 and answer["error"] == "face_matcher_unavailable"
        outcomes = [r["outcome"] for r in audit_rows(store)]
        assert outcomes == ["face_matcher_unavailable", "certificate_signing_unavailable"]
    finally:
        store.close()


def test_racing_failures_cannot_slip_past_the_limit(tmp_path: Path) -> None:
    """Eight attempts at once with the wrong face, limit 3: exactly 3 are matched and refused, the
    other 5 are too_many_attempts (the check and the record are one step in the process)."""
    from concurrent.futures import ThreadPoolExecutor

    store = open_store(f"sqlite:///{tmp_path / 'b.db'}")
    try:
        register = Register(store, matcher_factory())
        register.add(OTHER_FACE_NUMBER, "赵小红", faces.other_face_jpeg())
        verifier = IdentityVerifier(store, register, limit=RateLimit(3, 3600))
        live = _live(OTHER_FACE_NUMBER, faces.live_face_jpeg())
        with ThreadPoolExecutor(8) as pool:
            reasons = sorted(r[1]["reason"] for r in pool.map(lambda k: verifier.verify(live, k), ["K"] * 8))
        assert reasons == ["photo_mismatch"] * 3 + ["too_many_attempts"] * 5
    finally:
        store.close()
