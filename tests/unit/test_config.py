"""Configuration: defaults, site file, environment, and one clear message per problem."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config.model import env_overrides, load_config
from kiosk.errors import ConfigError

NO_DEVICES = """
[devices.card_reader]
driver = "none"
[devices.camera]
driver = "none"
[devices.printer]
driver = "none"
[devices.a4_printer]
driver = "none"
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "site.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_packaged_defaults_are_valid() -> None:
    config = load_config(None, environ={}, validate_devices=False)
    assert config.kiosk.mode == "demo"
    assert config.display.size == (1920, 1080)
    assert set(config.devices) == {"card_reader", "camera", "printer", "a4_printer", "scanner", "fingerprint"}
    assert config.devices["fingerprint"].driver == "none"  # a site file from before the role stays valid


def test_site_file_overrides_and_resolves_relative_paths(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        '[kiosk]\nid = "KIOSK-TEST-7"\ndata_dir = "state"\n[display]\norientation = "portrait"\n'
        + NO_DEVICES,
    )
    config = load_config(site, environ={})
    assert config.kiosk.id == "KIOSK-TEST-7"
    assert config.display.size == (1080, 1920)
    assert config.data_dir == tmp_path.resolve() / "state"
    assert config.log_dir == tmp_path.resolve() / "state" / "logs"


def test_environment_overrides_site_file(tmp_path: Path) -> None:
    site = write(tmp_path, "[display]\nfullscreen = false\n" + NO_DEVICES)
    config = load_config(None, environ={"KIOSK_CONFIG": str(site), "KIOSK__DISPLAY__FULLSCREEN": "true"})
    assert config.display.fullscreen is True
    assert config.source == str(site.resolve())


def test_env_override_values_are_parsed_as_toml_or_text() -> None:
    tree = env_overrides({"KIOSK__SESSION__IDLE_TIMEOUT_S": "120", "KIOSK__KIOSK__ID": "K-9", "OTHER": "x"})
    assert tree == {"session": {"idle_timeout_s": 120}, "kiosk": {"id": "K-9"}}


def test_every_problem_is_reported_with_file_key_and_hint(tmp_path: Path) -> None:
    site = write(
        tmp_path,
        '[display]\norientaton = "portrait"\ndefault_language = "fr"\n[session]\nidle_timeout_s = "soon"\n'
        + NO_DEVICES,
    )
    with pytest.raises(ConfigError) as info:
        load_config(site, environ={})
    messages = [str(p) for p in info.value.problems]
    assert len(messages) == 3
    assert any("display.orientaton" in m and "did you mean 'orientation'" in m for m in messages)
    assert any("display.default_language" in m and "'fr'" in m for m in messages)
    assert any("session.idle_timeout_s" in m for m in messages)
    assert all(m.startswith(str(site)) for m in messages)


def test_toml_syntax_error_names_the_file(tmp_path: Path) -> None:
    site = write(tmp_path, "[display\nfullscreen = true\n")
    with pytest.raises(ConfigError) as info:
        load_config(site, environ={})
    assert "TOML syntax error" in str(info.value)
    assert str(site) in str(info.value)


def test_missing_site_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="file not found"):
        load_config(tmp_path / "nope.toml", environ={})


def test_warning_must_come_before_timeout(tmp_path: Path) -> None:
    site = write(tmp_path, "[session]\nidle_timeout_s = 30\nidle_warning_s = 40\n" + NO_DEVICES)
    with pytest.raises(ConfigError, match="idle_warning_s must be shorter"):
        load_config(site, environ={})


def test_unknown_device_role_and_driver_are_named(tmp_path: Path) -> None:
    site = write(tmp_path, NO_DEVICES + '[devices.fax]\ndriver = "x"\n')
    with pytest.raises(ConfigError) as info:
        load_config(site, environ={})
    assert "devices.fax: unknown device role" in str(info.value)


def test_production_refuses_simulated_devices_unless_allowed(tmp_path: Path) -> None:
    text = '[kiosk]\nmode = "production"\n[devices.card_reader]\ndriver = "simulated"\n'
    site = write(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        load_config(site, environ={}, validate_devices=False)
    assert "simulated devices are refused in production mode" in str(info.value)
    site.write_text(text.replace('mode = "production"', 'mode = "production"\nallow_simulated = true'))
    assert load_config(site, environ={}, validate_devices=False).kiosk.allow_simulated
