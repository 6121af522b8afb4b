"""The demo kiosk's local backend knows the simulated card holders with the demo face, and one
resident whose register photo is someone else's: the whole identity flow on a laptop, over the
real subprocess (``python -m backend serve --enrol ... --cert-keys ... --cert-keys-create``)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import requests

from contract.signing import SigningKey
from kiosk.queue.demo_register import OTHER_FACE_NUMBER, demo_residents
from kiosk.queue.local_backend import LocalBackend
from kiosk.tech import main as tech_main
from tests import faces

pytestmark = pytest.mark.integration
KEY = SigningKey("KIOSK-DEMO", b"d" * 32)


def test_demo_register_verifies_the_demo_face_and_refuses_the_other(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    key_file = tmp_path / "hmac.key"
    key_file.write_text(KEY.secret.hex())
    residents = demo_residents()
    assert {"99010119800315031X", OTHER_FACE_NUMBER} <= {r["id_number"] for r in residents}
    with LocalBackend(tmp_path / "backend", {KEY.key_id: key_file}, start_timeout_s=60) as local:

        def verify(number: str, **more: str) -> dict[str, object]:
            data = {
                "id_number": number,
                "name": "",
                "photo_jpeg_b64": faces.b64(faces.live_face_jpeg()),
                **more,
            }
            body = json.dumps(data).encode()
            headers = KEY.sign("POST", "/v1/identity/verify", body)
            answer = requests.post(local.url + "/v1/identity/verify", data=body, headers=headers, timeout=60)
            assert answer.status_code == 200, answer.text
            doc: dict[str, object] = answer.json()
            return doc

        request_id = "0190f2c4-7a1e-7b3c-9d2e-5f6a7b8c9d0e"
        ok = verify("99010119800315031X", purpose="temp-id-certificate", request_id=request_id)
        assert ok["verified"] is True and ok["holder"] == {
            "name": "张三丰",
            "nation": "汉",
            "address": "虚构省示例市测试区演示路1号",
        }
        other = verify(OTHER_FACE_NUMBER)
        assert other["verified"] is False and other["reason"] == "photo_mismatch" and "holder" not in other
        certificate = ok["certificate"]
        assert isinstance(certificate, dict)
    # the demo's verify-qr finds the local backend's exported public keys by itself
    public = tmp_path / "backend" / "cert-keys" / "public.pem"
    assert "PRIVATE" not in public.read_text()
    assert tech_main(["verify-qr", certificate["qr_text"], "--key", str(public), "--name", "张三丰"]) == 0
    assert "张三丰" in capsys.readouterr().out
    for private in (tmp_path / "backend" / "cert-keys").glob("cert-*.pem"):
        assert private.stat().st_mode & 0o077 == 0
