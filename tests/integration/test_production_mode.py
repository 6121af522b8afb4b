"""Production mode refuses to start, as a technician sees it: the real ``kiosk``, ``kiosk-tech
config check`` and ``kiosk-tech doctor --json`` commands in subprocesses, each refusal one line
(issue 21 item 2). And a complete production terminal, pinned to a reference backend over TLS,
passes all three."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from backend.app import Backend, make_server, tls_context
from backend.store import open_store

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
KIOSK_ID = "KIOSK-PROD-0001"
SECRET = bytes(range(32))
NO_DEVICES = "".join(
    f'[devices.{r}]\ndriver = "none"\n' for r in ("card_reader", "camera", "printer", "a4_printer")
)


def run(args: list[str], timeout_s: float = 120) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
    return subprocess.run(
        [sys.executable, "-m", *args], capture_output=True, text=True, timeout=timeout_s, cwd=ROOT, env=env
    )


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (the site's own CA, in effect)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "backend.test-site")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = folder / "backend.pem", folder / "backend.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
    )
    return cert_path, key_path


@pytest.fixture
def tls_backend(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """The reference backend over TLS on 127.0.0.1, trusting this kiosk's key: (url, CA file)."""
    cert, key = self_signed(tmp_path)
    store = open_store(f"sqlite:///{tmp_path / 'backend.db'}")
    httpd = make_server(Backend(store, {KIOSK_ID: SECRET}), "127.0.0.1", 0, tls_context(str(cert), str(key)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"https://127.0.0.1:{httpd.server_port}/", cert
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
        store.close()


def production_site(
    folder: Path, url: str = "https://backend.test-site.cn/", ca: Path | None = None, **replace: str | None
) -> Path:
    """A complete production site file; ``replace`` sets (a TOML value) or drops (None) a key
    given as ``section__key``."""
    terminal = folder / "terminal"
    (terminal / "keys").mkdir(parents=True)
    (terminal / "keys" / "hmac.key").write_text(SECRET.hex())
    (terminal / "keys" / "receipt-ed25519.key").write_text("5a" * 32)
    if ca is None:
        ca = terminal / "ca.pem"
        ca.write_text("-----BEGIN CERTIFICATE-----\n")
    values: dict[str, dict[str, str | None]] = {
        "kiosk": {
            "id": f'"{KIOSK_ID}"',
            "mode": '"production"',
            "number": "7",
            "data_dir": '"data"',
            "status_base_url": '"https://kiosk.police.test-site.cn/status/"',
        },
        "backend": {
            "url": f'"{url}"',
            "ca_file": f'"{ca}"',
            "secret_file": '"keys/hmac.key"',
            "signing_key_file": '"keys/receipt-ed25519.key"',
        },
    }
    for dotted, value in replace.items():
        section, key = dotted.split("__")
        values[section][key] = value
    text = "".join(
        f"[{section}]\n" + "".join(f"{k} = {v}\n" for k, v in keys.items() if v is not None)
        for section, keys in values.items()
    )
    site = terminal / "kiosk.toml"
    site.write_text(text + NO_DEVICES, encoding="utf-8")
    return site


REFUSALS = {
    "no backend url": ({"backend__url": None}, "backend.url: empty"),
    "plain http": ({"backend__url": '"http://127.0.0.1:8080/"'}, "backend.url: plain http is refused"),
    "no CA pinning": ({"backend__ca_file": None}, "backend.ca_file: empty"),
    "no request key": ({"backend__secret_file": None}, "backend.secret_file: empty"),
    "no certificate key": ({"backend__signing_key_file": None}, "backend.signing_key_file: empty"),
    "example status page": (
        {"kiosk__status_base_url": '"https://kiosk.example.invalid/status/"'},
        "kiosk.status_base_url: still at the example domain",
    ),
}


def _one_line(stderr: str, says: str, site: Path) -> None:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert lines[0].startswith(f"config error: {site}: {says}"), stderr
    assert "Traceback" not in stderr


@pytest.mark.parametrize("case", list(REFUSALS))
def test_kiosk_refuses_to_start_with_one_line(tmp_path: Path, case: str) -> None:
    replace, says = REFUSALS[case]
    site = production_site(tmp_path, **replace)
    result = run(["kiosk.cli", "--smoke", "--config", str(site)])
    assert result.returncode == 2, result.stdout + result.stderr
    _one_line(result.stderr, says, site)
    assert not (site.parent / "data").exists()  # refused before a folder, key or backend was made


@pytest.mark.parametrize("case", list(REFUSALS))
def test_config_check_and_doctor_report_the_same_line(tmp_path: Path, case: str) -> None:
    replace, says = REFUSALS[case]
    site = production_site(tmp_path, **replace)
    check = run(["kiosk.tech", "config", "check", "--config", str(site)])
    assert check.returncode == 2, check.stdout + check.stderr
    _one_line(check.stderr, says, site)
    doctor = run(["kiosk.tech", "doctor", "--config", str(site), "--json"])
    assert doctor.returncode == 1, doctor.stdout + doctor.stderr
    report = json.loads(doctor.stdout)
    assert report["ok"] is False
    assert report["checks"] == [
        {"name": "config", "ok": False, "detail": check.stderr.strip().removeprefix("config error: ")}
    ]


def test_simulated_devices_are_refused_also_when_simulated_from_the_command_line(tmp_path: Path) -> None:
    site = production_site(tmp_path)
    text = site.read_text()
    site.write_text(
        text.replace('[devices.camera]\ndriver = "none"', '[devices.camera]\ndriver = "simulated"')
    )
    sim = "devices.camera.driver: simulated devices are refused in production mode"
    for command in (["kiosk.cli", "--smoke"], ["kiosk.tech", "config", "check"]):
        result = run([*command, "--config", str(site)])
        assert result.returncode == 2, result.stdout + result.stderr
        _one_line(result.stderr, sim, site)
    site.write_text(text)  # every device real ("none") in the file, simulated by --simulate
    result = run(["kiosk.cli", "--smoke", "--simulate", "--config", str(site)])
    assert result.returncode == 2, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 6 and all("simulated devices are refused in production mode" in x for x in lines)
    assert "Traceback" not in result.stderr


def test_a_complete_production_terminal_passes_check_and_doctor(
    tmp_path: Path, tls_backend: tuple[str, Path]
) -> None:
    url, ca = tls_backend
    site = production_site(tmp_path, url=url, ca=ca)
    check = run(["kiosk.tech", "config", "check", "--config", str(site)])
    assert check.returncode == 0, check.stderr
    assert check.stdout.strip() == f"config ok: {site.resolve()} (kiosk {KIOSK_ID}, mode production)"
    doctor = run(["kiosk.tech", "doctor", "--config", str(site), "--json"])
    checks = {c["name"]: c for c in json.loads(doctor.stdout)["checks"]}
    assert checks["config"]["ok"] and checks["backend"]["ok"], checks
    assert checks["backend"]["detail"] == f"{url}: reachable, signature accepted"


@pytest.mark.ui
def test_a_complete_production_terminal_starts(tmp_path: Path, tls_backend: tuple[str, Path]) -> None:
    if not os.environ.get("DISPLAY"):
        pytest.skip("needs a display (xvfb-run)")
    url, ca = tls_backend
    site = production_site(tmp_path, url=url, ca=ca)
    result = run(["kiosk.cli", "--smoke", "--config", str(site)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "home screen drawn (hardware)" in result.stdout
    data = site.parent / "data"
    assert not (data / "backend").exists() and not (data / "keys").exists()  # no demo fall-backs
