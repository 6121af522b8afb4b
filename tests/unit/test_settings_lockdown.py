"""The maintenance Settings tab and the site file (kiosk/config/settings_schema.py): the backend URL,
its CA file, the receipts' status URL and the kiosk id are never offered and never saved from the
screen (a shoulder-surfed PIN must not redirect requests or receipts' QR codes); a production
terminal, or a site file this process cannot replace, only shows its settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config.model import KioskConfig, load_config
from kiosk.config.settings_schema import (
    SHELL_ONLY,
    Setting,
    build_sections,
    read_only_reason,
    save_setting,
)
from kiosk.errors import ConfigError
from kiosk.maintenance.gate import AuditLog

SITE = """[kiosk]
id = "KIOSK-T-1"
data_dir = "data"
status_base_url = "https://status.example.invalid/r/"

[backend]
url = "https://backend.example.invalid/"
"""
REDIRECTS = {
    "backend.url": "https://attacker.example.invalid/",
    "backend.ca_file": "/tmp/attacker-ca.pem",
    "kiosk.status_base_url": "https://attacker.example.invalid/r/",
    "kiosk.id": "KIOSK-OTHER",
    "identity.match": "card",  # which photo a face is checked against: the site's choice
}


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(SITE, encoding="utf-8")
    return path


def test_keys_that_redirect_requests_or_receipts_are_not_offered(site: Path) -> None:
    assert set(REDIRECTS) == SHELL_ONLY
    offered = {s.path for section in build_sections(load_config(site, environ={})) for s in section.settings}
    assert offered, "the tab still offers the other settings"
    assert not offered & SHELL_ONLY
    assert {"backend.key_id", "session.idle_timeout_s", "kiosk.region_code"} <= offered


@pytest.mark.parametrize("path", sorted(REDIRECTS))
def test_a_hand_made_edit_of_those_keys_is_refused_and_nothing_written(site: Path, path: str) -> None:
    """Even a caller that builds the setting itself (not from the tab's sections) cannot save it."""
    before = site.read_bytes()
    audit = AuditLog(site.parent / "audit.jsonl")
    setting = Setting(path, "string", path, path, "", "")
    with pytest.raises(ConfigError) as caught:
        save_setting(site, setting, REDIRECTS[path], audit)
    assert "never on the kiosk screen" in str(caught.value)
    assert site.read_bytes() == before
    (entry,) = audit.tail()
    assert (entry["path"], entry["outcome"]) == (path, "refused")


def _production(config: KioskConfig) -> KioskConfig:
    return config.model_copy(update={"kiosk": config.kiosk.model_copy(update={"mode": "production"})})


def test_only_a_demo_terminal_with_a_writable_site_file_saves_on_the_screen(site: Path) -> None:
    demo = load_config(site, environ={})
    assert read_only_reason(demo) == ""
    assert read_only_reason(_production(demo)) == "production"
    assert read_only_reason(demo.model_copy(update={"source": ""})) == "no_site_file"
    gone = demo.model_copy(update={"source": str(site.parent / "missing" / "kiosk.toml")})
    assert read_only_reason(gone) == "not_writable"


def test_rewriting_the_site_file_keeps_its_owner_and_mode(tmp_path: Path) -> None:
    """kiosk-tech (umask 077, often as root) rewrites the site file: the kiosk user must still be
    able to read it, and nobody else."""
    import os

    from kiosk.config.sitefile import update_site_file

    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\ndata_dir = "data"\n', encoding="utf-8")
    os.chmod(site, 0o640)
    if os.geteuid() == 0:
        os.chown(site, 0, 4242)  # root:kiosk as deploy/install.sh leaves it
    before = site.stat()
    old_umask = os.umask(0o077)
    try:
        update_site_file(site, {"session.idle_timeout_s": 120})
    finally:
        os.umask(old_umask)
    after = site.stat()
    assert "idle_timeout_s = 120" in site.read_text(encoding="utf-8")
    assert (after.st_mode & 0o777, after.st_uid, after.st_gid) == (0o640, before.st_uid, before.st_gid)
