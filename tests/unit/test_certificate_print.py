"""The kiosk prints the certificate the backend signed, and none without one."""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from pathlib import Path

import pytest

from backend.certificates import CertificateIssuer, KeyRing
from contract.certificates import parse_public_keys, verify_certificate
from kiosk.config.model import load_config
from kiosk.documents.model import QrCode, Text
from kiosk.printing.jobs import PrintJob, build_jobs
from kiosk.services.catalogue import Catalogue
from kiosk.visit.session import Session

REQUEST_ID = "0190f2c4-7a1e-7b3c-9d2e-5f6a7b8c9d0e"
NUMBER = "99010119800315031X"


@dataclass
class Submitted:
    request_id: str


def _jobs(session: Session) -> list[PrintJob]:
    service = Catalogue.load().get("temp-id-certificate")
    assert service is not None
    step = next(s for s in service.steps if "temp_id_certificate" in s.documents)
    config = load_config(None, environ={}, validate_devices=False)
    now = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
    return list(build_jobs(step, service, session, config, now))


def _session(certificate: dict[str, object] | None) -> Session:
    session = Session()
    session.values["id_number"] = NUMBER
    session.artifacts["submitted"] = Submitted(REQUEST_ID)
    verification: dict[str, object] = {
        "verification_id": "v1",
        "holder": {"name": "张三丰", "nation": "汉", "address": "虚构省示例市测试区演示路1号"},
    }
    if certificate is not None:
        verification["certificate"] = certificate
    session.artifacts["verification"] = verification
    return session


def test_the_printed_qr_and_claims_are_the_backends(tmp_path: Path) -> None:
    ring = KeyRing(tmp_path / "keys")
    ring.generate()
    certificate = CertificateIssuer(ring).issue(
        request_id=REQUEST_ID, kiosk_id="KIOSK-1", id_number=NUMBER, name="张三丰", photo_sha256="ab" * 32
    )
    jobs = _jobs(_session(certificate))
    cert = next(j for j in jobs if j.name == "temp_id_certificate")
    parts = cert.document.blocks
    qr = [p for p in parts if isinstance(p, QrCode)]
    assert [q.data for q in qr] == [certificate["qr_text"]]
    public = parse_public_keys(ring.export_public())
    assert verify_certificate(qr[0].data, public, holder={"name": "张三丰", "id_number": NUMBER}).valid
    texts = " ".join(p.text for p in parts if isinstance(p, Text))
    claims = certificate["claims"]
    assert isinstance(claims, dict)
    assert f"至 {claims['valid_until']}" in texts  # the validity the backend signed
    assert "姓名 Name: 张三丰" in texts and NUMBER in texts and REQUEST_ID in texts


def test_no_backend_certificate_no_certificate_printed(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.ERROR):
        jobs = _jobs(_session(None))
    assert [j.name for j in jobs] == ["request_receipt"]
    assert "not printed" in caplog.text
    bogus = _jobs(_session({"qr_text": "KQ1.FORGED.BYKIOSK", "claims": {}}))
    assert [j.name for j in bogus] == ["request_receipt"]
