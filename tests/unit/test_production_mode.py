"""Production mode refuses every demo convenience (issue 21 item 2), and demo mode keeps them.

The rules themselves (kiosk/config/production.py) and the two places the kiosk used to fall back
silently (kiosk/queue/runtime.py): the local reference backend and a freshly made signing key.
The commands' exit codes and lines are in tests/integration/test_production_mode.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config.model import KioskConfig, load_config
from kiosk.config.production import production_problems, refuse_unsafe_production
from kiosk.errors import ConfigError
from kiosk.main import compose, simulate_everything
from kiosk.queue.runtime import start_queue

NO_DEVICES = "".join(
    f'[devices.{r}]\ndriver = "none"\n' for r in ("card_reader", "camera", "printer", "a4_printer")
)
GOOD_BACKEND = {
    "url": '"https://backend.police.test-site.cn/"',
    "ca_file": '"ca.pem"',
    "secret_file": '"keys/hmac.key"',
    "signing_key_file": '"keys/receipt-ed25519.key"',
}
GOOD_STATUS = '"https://kiosk.police.test-site.cn/status/"'


def production_site(folder: Path, *, kiosk: str = "", backend: dict[str, str] | None = None) -> Path:
    """A production site file every rule accepts, with ``kiosk`` lines added and ``backend`` keys
    replaced (a value of None drops the key); the key and CA files it names exist."""
    (folder / "keys").mkdir(exist_ok=True)
    (folder / "keys" / "hmac.key").write_text("ab" * 32)
    (folder / "keys" / "receipt-ed25519.key").write_text("cd" * 32)
    (folder / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    keys = {**GOOD_BACKEND, **(backend or {})}
    lines = "".join(f"{k} = {v}\n" for k, v in keys.items() if v is not None)
    kiosk = kiosk or f"status_base_url = {GOOD_STATUS}\n"
    path = folder / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nmode = "production"\ndata_dir = "data"\nnumber = 7\n{kiosk}[backend]\n{lines}{NO_DEVICES}',
        encoding="utf-8",
    )
    return path


def problems_of(site: Path) -> list[str]:
    config = load_config(site, environ={})  # the structural checks only: the rules are asked below
    return [f"{p.key}: {p.message}" for p in production_problems(config)]


def test_production_needs_a_kiosk_number(tmp_path: Path) -> None:
    site = production_site(tmp_path)
    site.write_text(site.read_text(encoding="utf-8").replace("number = 7\n", ""), encoding="utf-8")
    found = problems_of(site)
    assert len(found) == 1 and found[0].startswith("kiosk.number: unset")


def test_a_complete_production_site_has_no_problems(tmp_path: Path) -> None:
    site = production_site(tmp_path)
    assert problems_of(site) == []
    assert load_config(site, environ={}, production=True).kiosk.mode == "production"


@pytest.mark.parametrize(
    ("backend", "key", "says"),
    [
        ({"url": None}, "backend.url", "local reference backend is for demo mode only"),
        ({"url": '"http://127.0.0.1:8080/"'}, "backend.url", "plain http is refused"),
        ({"ca_file": None}, "backend.ca_file", "pins the CA"),
        ({"ca_file": '"nope.pem"'}, "backend.ca_file", "CA bundle not found"),
        ({"secret_file": None}, "backend.secret_file", "the HMAC key enrolled at the backend"),
        ({"secret_file": '"keys/missing.key"'}, "backend.secret_file", "key file not found"),
        ({"signing_key_file": None}, "backend.signing_key_file", "Ed25519 seed"),
        ({"signing_key_file": '"keys/hmac.key"', "secret_file": None}, "backend.secret_file", "enrolled"),
    ],
)
def test_each_backend_refusal_is_one_problem_naming_its_key(
    tmp_path: Path, backend: dict[str, str], key: str, says: str
) -> None:
    found = problems_of(production_site(tmp_path, backend=backend))
    assert len(found) == 1, found
    assert found[0].startswith(f"{key}: ") and says in found[0]


def test_a_seed_of_the_wrong_length_is_refused(tmp_path: Path) -> None:
    site = production_site(tmp_path)
    (tmp_path / "keys" / "receipt-ed25519.key").write_text("cd" * 16)
    assert problems_of(site) == [
        f"backend.signing_key_file: {tmp_path / 'keys' / 'receipt-ed25519.key'}: "
        "Ed25519 seed must be 32 bytes, not 16"
    ]


@pytest.mark.parametrize(
    "url",
    [
        "https://kiosk.example.invalid/status/",  # the shipped example
        "https://KIOSK.EXAMPLE.INVALID./status/",
        "https://status.example.com/",
        "https://example.org/status/",
        "https://kiosk.test/status/",
    ],
)
def test_the_status_page_at_an_example_domain_is_refused(tmp_path: Path, url: str) -> None:
    found = problems_of(production_site(tmp_path, kiosk=f'status_base_url = "{url}"\n'))
    assert len(found) == 1, found
    assert found[0].startswith("kiosk.status_base_url: still at the example domain") and url in found[0]


def test_the_shipped_status_url_is_refused_when_the_site_does_not_set_one(tmp_path: Path) -> None:
    found = problems_of(production_site(tmp_path, kiosk="station_en = 'Xicheng'\n"))
    assert len(found) == 1 and found[0].startswith("kiosk.status_base_url: still at the example domain")


def test_every_problem_is_listed_at_once(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\nmode = "production"\ndata_dir = "data"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(site, environ={}, production=True)
    keys = [p.key for p in info.value.problems]
    assert keys == [
        "backend.url",
        "backend.secret_file",
        "backend.signing_key_file",
        "kiosk.status_base_url",
        "kiosk.number",
        "devices.card_reader.driver",
        "devices.camera.driver",
        "devices.printer.driver",
        "devices.a4_printer.driver",
    ]
    assert all(p.file == str(site) for p in info.value.problems)


def test_simulated_devices_need_allow_simulated(tmp_path: Path) -> None:
    site = production_site(tmp_path)
    simulated = simulate_everything(load_config(site, environ={}))
    assert {p.key for p in production_problems(simulated)} == {
        f"devices.{role}.driver"
        for role in ("card_reader", "camera", "printer", "a4_printer", "scanner", "fingerprint")
    }
    allowed = simulated.model_copy(
        update={"kiosk": simulated.kiosk.model_copy(update={"allow_simulated": True})}
    )
    assert production_problems(allowed) == []


def test_demo_mode_keeps_its_conveniences(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\ndata_dir = "data"\n', encoding="utf-8")
    config = load_config(site, environ={}, production=True, validate_devices=False)
    assert config.kiosk.mode == "demo" and not config.backend.url
    assert production_problems(config) == []
    refuse_unsafe_production(config)


def test_compose_refuses_what_start_refuses_even_when_made_in_code(tmp_path: Path) -> None:
    """``kiosk --simulate`` turns devices simulated after loading: the composition root checks."""
    config = simulate_everything(load_config(production_site(tmp_path), environ={}))
    with pytest.raises(ConfigError) as info:
        compose(config)
    assert {p.key for p in info.value.problems} == {
        f"devices.{role}.driver"
        for role in ("card_reader", "camera", "printer", "a4_printer", "scanner", "fingerprint")
    }
    assert not config.data_dir.exists()  # refused before anything was made


def _unchecked_production(folder: Path, backend: dict[str, str]) -> KioskConfig:
    """A production config past the structural checks only, as code could build one."""
    return load_config(production_site(folder, backend=backend), environ={})


def test_the_queue_never_starts_the_local_backend_in_production(tmp_path: Path) -> None:
    config = _unchecked_production(tmp_path, {"url": None})
    with pytest.raises(ConfigError, match=r"backend\.url: empty: production mode never falls back"):
        start_queue(config)
    assert not (config.data_dir / "backend").exists()


def test_the_queue_never_makes_a_signing_key_in_production(tmp_path: Path) -> None:
    config = _unchecked_production(tmp_path, {"secret_file": None})
    with pytest.raises(ConfigError, match=r"backend\.secret_file: empty: production mode never falls back"):
        start_queue(config)
    assert not (config.data_dir / "keys").exists()


def test_certificates_are_never_signed_with_a_key_made_on_the_spot_in_production(tmp_path: Path) -> None:
    from kiosk.documents.signed_qr import kiosk_private_key

    config = _unchecked_production(tmp_path, {"signing_key_file": None})
    with pytest.raises(ConfigError, match=r"backend\.signing_key_file: production signs certificates only"):
        kiosk_private_key(config)
    assert not (config.data_dir / "keys").exists()
