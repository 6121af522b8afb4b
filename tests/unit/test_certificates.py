"""Backend-signed certificates: the claim format, the key ring (generate, rotate, export-public),
and `kiosk-tech verify-qr` with the public key only (text and image, forged and copied QRs)."""

from __future__ import annotations

import base64
import stat
from datetime import date
from pathlib import Path

import pytest
import qrcode

from backend.certificates import CertificateIssuer, KeyRing, KeyRingError
from backend.cli import main as backend_main
from contract.certificates import (
    CertificateClaims,
    key_id_of,
    parse_public_keys,
    read_claims,
    sign_certificate,
    verify_certificate,
)
from kiosk.tech import main as tech_main

NUMBER = "99010119800315031X"
PHOTO = "ab" * 32


@pytest.fixture
def ring(tmp_path: Path) -> KeyRing:
    ring = KeyRing(tmp_path / "keys")
    ring.generate()
    return ring


def _issue(ring: KeyRing, name: str = "张三丰", now: float = 1_780_000_000) -> dict[str, object]:
    return CertificateIssuer(ring).issue(
        request_id="0190f2c4-7a1e-7b3c-9d2e-5f6a7b8c9d0e",
        kiosk_id="KIOSK-1",
        id_number=NUMBER,
        name=name,
        photo_sha256=PHOTO,
        now=now,
    )


def _forge(text: str, **changes: object) -> str:
    """The same signature over changed claims (what a kiosk or a forger could make)."""
    prefix, _payload, signature = text.split(".")
    claims = read_claims(text)
    forged = CertificateClaims(**{**claims.as_dict(), **changes})  # type: ignore[arg-type]
    payload = base64.b32encode(forged.encode()).rstrip(b"=").decode()
    return f"{prefix}.{payload}.{signature}"


def test_issue_and_verify_with_the_exported_public_keys(ring: KeyRing) -> None:
    cert = _issue(ring)
    public = parse_public_keys(ring.export_public())
    result = verify_certificate(str(cert["qr_text"]), public, today=date(2026, 6, 1))
    assert result.valid and result.reason == "ok" and result.claims is not None
    assert result.claims.name == "张三丰" and result.claims.id_number == NUMBER
    assert result.claims.valid_until == "2026-06-27"  # 30 days after 2026-05-28
    assert cert["claims"] == result.claims.as_dict()
    text = str(cert["qr_text"])
    assert text.startswith("KC1.") and text.replace(".", "").isalnum() and text == text.upper()
    assert len(text) < 500  # fits a version-15 QR at level M


@pytest.mark.parametrize(
    "changes",
    [
        {"name": "李四"},
        {"id_number": "990000199001010017"},
        {"valid_until": "2036-01-01"},
        {"photo_sha256": "0" * 64},
    ],
)
def test_changed_claims_fail(ring: KeyRing, changes: dict[str, object]) -> None:
    forged = _forge(str(_issue(ring)["qr_text"]), **changes)
    assert verify_certificate(forged, ring.public_keys()).reason == "bad_signature"


def test_genuine_qr_on_another_persons_paper_fails(ring: KeyRing) -> None:
    text = str(_issue(ring)["qr_text"])
    assert verify_certificate(text, ring.public_keys(), holder={"name": "李四"}).reason == "wrong_holder"
    assert verify_certificate(text, ring.public_keys(), holder={"name": "张三丰", "id_number": NUMBER}).valid


def test_other_keys_unknown_keys_expiry_and_garbage(ring: KeyRing, tmp_path: Path) -> None:
    text = str(_issue(ring)["qr_text"])
    other = KeyRing(tmp_path / "other")
    other.generate()
    assert verify_certificate(text, other.public_keys()).reason == "unknown_key"
    # a forger's own key under the genuine key id: the signature does not verify
    genuine_id = read_claims(text).key_id
    forger = {genuine_id: other.public_keys()[other.current_id()]}
    assert verify_certificate(text, forger).reason == "bad_signature"
    assert verify_certificate(text, ring.public_keys(), today=date(2027, 1, 1)).reason == "expired"
    for garbage in ("", "KC1", "KC1.AAAA", "KQ1.A.B", "KC1.!!.??", text + ".A"):
        assert verify_certificate(garbage, ring.public_keys()).reason == "malformed"
    assert verify_certificate(text + "A", ring.public_keys()).reason == "bad_signature"


def test_rotation_keeps_old_certificates_verifiable(ring: KeyRing) -> None:
    old = str(_issue(ring)["qr_text"])
    first = ring.current_id()
    with pytest.raises(KeyRingError, match="already has"):
        ring.generate()
    second = ring.generate(rotate=True)
    assert second != first and ring.current_id() == second
    new = str(_issue(ring)["qr_text"])
    assert read_claims(new).key_id == second
    public = parse_public_keys((ring.folder / "public.pem").read_text())
    assert set(public) == {first, second}
    assert verify_certificate(old, public).valid and verify_certificate(new, public).valid
    for info in ring.infos():
        assert stat.S_IMODE((ring.folder / f"cert-{info.key_id}.pem").stat().st_mode) == 0o600
    assert [k.current for k in ring.infos()] == [True, False]


def test_a_key_file_with_a_swapped_id_is_refused(ring: KeyRing) -> None:
    text = ring.export_public()
    key_id = ring.current_id()
    with pytest.raises(ValueError, match="does not name the key"):
        parse_public_keys(text.replace(f"Key-Id: {key_id}", "Key-Id: AAAAAAAA"))
    with pytest.raises(ValueError, match="no public key"):
        parse_public_keys("nothing here")


def test_claims_refuse_separators() -> None:
    with pytest.raises(ValueError):
        CertificateClaims("K", "r|1", "k", 1, "2026-01-01", NUMBER, "n", PHOTO)
    with pytest.raises(ValueError):
        CertificateClaims("K", "r", "k", 1, "2026-02-30", NUMBER, "n", PHOTO)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    a, b = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    claims = CertificateClaims(key_id_of(a.public_key()), "r", "k", 1, "2026-01-01", NUMBER, "n", PHOTO)
    with pytest.raises(ValueError, match="not the id"):
        sign_certificate(claims, b)


def test_keys_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    folder = str(tmp_path / "k")
    assert backend_main(["keys", "export-public", "--dir", folder]) == 1
    assert "no certificate key" in capsys.readouterr().err
    assert backend_main(["keys", "generate", "--dir", folder]) == 0
    assert backend_main(["keys", "generate", "--dir", folder]) == 1
    assert backend_main(["keys", "rotate", "--dir", folder]) == 0
    capsys.readouterr()
    assert backend_main(["keys", "list", "--dir", folder]) == 0
    listed = capsys.readouterr().out.splitlines()
    assert [line.split()[1] for line in listed] == ["current", "retired"]
    assert backend_main(["keys", "export-public", "--dir", folder]) == 0
    out = capsys.readouterr().out
    assert "PRIVATE" not in out and out.count("BEGIN PUBLIC KEY") == 2
    assert set(parse_public_keys(out)) == {line.split()[0] for line in listed}


# -- kiosk-tech verify-qr ------------------------------------------------------------------------


def _pub(ring: KeyRing, tmp_path: Path) -> str:
    path = tmp_path / "public.pem"
    path.write_text(ring.export_public())
    return str(path)


def test_verify_qr_text(ring: KeyRing, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    text = str(_issue(ring, now=2_000_000_000)["qr_text"])  # valid until 2033
    pub = _pub(ring, tmp_path)
    assert tech_main(["verify-qr", text, "--key", pub]) == 0
    out = capsys.readouterr().out
    assert "姓名 Name: 张三丰" in out and f"公民身份号码 ID number: {NUMBER}" in out
    assert "有效期至 Valid until: 2033-06-17" in out and out.strip().endswith(
        "compare the claims above with the paper"
    )
    # forged: the claims changed
    assert tech_main(["verify-qr", _forge(text, name="李四"), "--key", pub]) == 1
    captured = capsys.readouterr()
    assert "李四" not in captured.out  # forged claims are not shown as if they were true
    assert captured.err.startswith("invalid: bad_signature") and captured.err.count("\n") == 1
    # genuine QR copied onto a paper with another name
    assert tech_main(["verify-qr", text, "--key", pub, "--name", "李四"]) == 1
    assert capsys.readouterr().err.startswith("invalid: wrong_holder")
    assert tech_main(["verify-qr", text, "--key", pub, "--name", "张三丰", "--id-number", NUMBER]) == 0
    capsys.readouterr()
    assert tech_main(["verify-qr", text, "--key", pub, "--json"]) == 0
    import json

    doc = json.loads(capsys.readouterr().out)
    assert doc["valid"] is True and doc["claims"]["name"] == "张三丰"


def test_verify_qr_expired_unknown_key_and_bad_input(
    ring: KeyRing, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pub = _pub(ring, tmp_path)
    old = str(_issue(ring, now=1_600_000_000)["qr_text"])  # valid until 2020
    assert tech_main(["verify-qr", old, "--key", pub]) == 1
    assert capsys.readouterr().err.startswith("invalid: expired")
    other = KeyRing(tmp_path / "other")
    other.generate()
    assert tech_main(["verify-qr", old, "--key", _pub(other, tmp_path / "other")]) == 1
    assert "unknown_key" in capsys.readouterr().err
    assert tech_main(["verify-qr", old, "--key", str(tmp_path / "missing.pem")]) == 2
    assert capsys.readouterr().err.startswith("error: cannot read the key file")
    blank = tmp_path / "blank.png"
    from PIL import Image

    Image.new("RGB", (200, 200), "white").save(blank)
    assert tech_main(["verify-qr", str(blank), "--key", pub]) == 2
    assert "no readable QR code" in capsys.readouterr().err


def test_verify_qr_reads_an_image_of_the_qr(
    ring: KeyRing, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    text = str(_issue(ring, now=2_000_000_000)["qr_text"])
    image = tmp_path / "qr.png"
    qrcode.make(text, error_correction=qrcode.constants.ERROR_CORRECT_M).save(image)
    assert tech_main(["verify-qr", str(image), "--key", _pub(ring, tmp_path)]) == 0
    assert "张三丰" in capsys.readouterr().out
    forged = tmp_path / "forged.png"
    qrcode.make(_forge(text, name="李四")).save(forged)
    assert tech_main(["verify-qr", str(forged), "--key", _pub(ring, tmp_path)]) == 1


def test_verify_qr_on_a_demo_kiosk_finds_the_local_backends_public_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data_dir = tmp_path / "data"
    ring = KeyRing(data_dir / "backend" / "cert-keys")  # where the local backend keeps its keys
    ring.generate()
    text = str(_issue(ring, now=2_000_000_000)["qr_text"])
    site = tmp_path / "kiosk.toml"
    site.write_text(f'[kiosk]\ndata_dir = "{data_dir}"\n[backend]\nurl = ""\n')
    assert tech_main(["verify-qr", text, "--config", str(site)]) == 0
    assert "张三丰" in capsys.readouterr().out
    site.write_text(f'[kiosk]\ndata_dir = "{data_dir}"\n[backend]\nurl = "https://backend.example.org"\n')
    assert tech_main(["verify-qr", text, "--config", str(site)]) == 2  # a real backend: say which key
    assert "give --key FILE" in capsys.readouterr().err


def test_verify_qr_reads_the_rendered_a4_certificate(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole paper: the A4 certificate as the kiosk renders it; verify-qr finds and checks its
    QR on the full page with the (sample) backend public key, and refuses it for another name."""
    import dataclasses

    from contract.certificates import public_key_block
    from kiosk.documents import samples, templates
    from kiosk.documents.render import to_png

    data = dataclasses.replace(samples.sample_certificate_data(), valid_to="2099-12-31")
    page = tmp_path / "certificate.png"
    to_png(templates.temp_id_certificate(data, samples.sample_certificate_text(data))).save(page)
    pub = tmp_path / "sample-public.pem"
    pub.write_text(public_key_block(samples.sample_key().public_key()))
    assert tech_main(["verify-qr", str(page), "--key", str(pub), "--name", data.name]) == 0
    assert "有效期至 Valid until: 2099-12-31" in capsys.readouterr().out
    assert tech_main(["verify-qr", str(page), "--key", str(pub), "--name", "李四"]) == 1
    assert capsys.readouterr().err.startswith("invalid: wrong_holder")
