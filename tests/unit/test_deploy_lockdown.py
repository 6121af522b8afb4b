"""The shipped deploy/ files lock the terminal down, and deploy/install.sh puts them in place: the
systemd unit keeps the site file read-only (as the Settings tab says) and creates files private to
the kiosk (UMask=0077); the X server refuses VT switching and Ctrl+Alt+Backspace and ignores every
pointer but the touchscreen; SysRq is off; Ctrl+Alt+Del is masked; /var/lib/kiosk is 0700."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
UNIT = DEPLOY / "systemd" / "police-kiosk.service"
XCONF = DEPLOY / "x11" / "10-kiosk-lockdown.conf"
SYSCTL = DEPLOY / "sysctl" / "90-police-kiosk.conf"


def unit_settings(path: Path) -> dict[str, dict[str, list[str]]]:
    """section -> key -> values, in the order systemd reads them (keys may repeat)."""
    sections: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    section = ""
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("["):
            section = line.strip("[]")
            continue
        key, _, value = line.partition("=")
        sections[section][key.strip()].append(value.strip())
    return sections


def x_sections(path: Path) -> list[tuple[str, dict[str, str], dict[str, str]]]:
    """(section name, match/identifier entries, options) for each Section ... EndSection."""
    found = []
    current: tuple[str, dict[str, str], dict[str, str]] | None = None
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        words = re.findall(r'"[^"]*"|\S+', line)
        values = [w.strip('"') for w in words]
        if values[0] == "Section":
            current = (values[1], {}, {})
        elif values[0] == "EndSection":
            assert current is not None
            found.append(current)
            current = None
        elif current is not None and values[0] == "Option":
            current[2][values[1]] = values[2]
        elif current is not None:
            current[1][values[0]] = values[1]
    assert current is None, f"{path}: a Section without EndSection"
    return found


def test_the_unit_keeps_the_site_file_read_only_and_new_files_private() -> None:
    service = unit_settings(UNIT)["Service"]
    assert service["UMask"] == ["0077"]
    assert service["ProtectSystem"] == ["strict"]  # all of /etc read-only for the app...
    writable = " ".join(service["ReadWritePaths"]).split()
    assert not any(p == "/etc" or p.startswith("/etc/") for p in writable)  # ...with no exception
    assert "/etc/kiosk" in " ".join(service["ReadOnlyPaths"]).split()
    assert service["Environment"].count("KIOSK_CONFIG=/etc/kiosk/kiosk.toml") == 1
    assert set(writable) == {"/var/lib/kiosk", "/var/log/kiosk"}
    assert service["NoNewPrivileges"] == ["true"]


def test_the_x_server_refuses_vt_switching_zapping_and_every_pointer_but_the_touchscreen() -> None:
    sections = x_sections(XCONF)
    (flags,) = [options for name, _, options in sections if name == "ServerFlags"]
    assert flags["DontVTSwitch"] == "true" and flags["DontZap"] == "true"
    classes = [(match, options) for name, match, options in sections if name == "InputClass"]
    ignored = {key for match, options in classes if options.get("Ignore") == "on" for key in match}
    assert {"MatchIsPointer", "MatchIsTouchpad"} <= ignored
    # a later InputClass overrides an earlier one: the touchscreen must come last and be kept
    last_match, last_options = classes[-1]
    assert last_match.get("MatchIsTouchscreen") == "on" and last_options["Ignore"] == "off"


def test_sysrq_is_off() -> None:
    settings = {}
    for raw in SYSCTL.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            key, _, value = line.partition("=")
            settings[key.strip()] = value.strip()
    assert settings == {"kernel.sysrq": "0"}


def test_xinitrc_no_longer_claims_setxkbmap_disables_vt_switching() -> None:
    text = (DEPLOY / "x11" / "xinitrc").read_text(encoding="utf-8")
    assert "no VT switching shortcuts" not in text
    assert "10-kiosk-lockdown.conf" in text


@pytest.mark.skipif(shutil.which("install") is None, reason="needs coreutils install")
def test_install_puts_every_lockdown_file_in_place(tmp_path: Path) -> None:
    root = tmp_path / "root"
    done = subprocess.run(
        ["sh", str(DEPLOY / "install.sh")],
        env={**os.environ, "ROOT": str(root), "KIOSK_USER": "kiosk"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr

    def mode(relative: str) -> int:
        return stat.S_IMODE((root / relative).lstat().st_mode)

    assert mode("var/lib/kiosk") == 0o700 and mode("var/log/kiosk") == 0o700
    assert mode("etc/kiosk") == 0o750
    for installed, shipped in (
        ("etc/systemd/system/police-kiosk.service", UNIT),
        ("etc/X11/xorg.conf.d/10-kiosk-lockdown.conf", XCONF),
        ("etc/sysctl.d/90-police-kiosk.conf", SYSCTL),
        (
            "etc/systemd/system.conf.d/90-police-kiosk.conf",
            DEPLOY / "systemd" / "90-police-kiosk-manager.conf",
        ),
    ):
        assert (root / installed).read_bytes() == shipped.read_bytes(), installed
    mask = root / "etc/systemd/system/ctrl-alt-del.target"
    assert mask.is_symlink() and os.readlink(mask) == "/dev/null"  # what `systemctl mask` makes
    manager = unit_settings(root / "etc/systemd/system.conf.d/90-police-kiosk.conf")["Manager"]
    assert manager["CtrlAltDelBurstAction"] == ["none"]  # seven quick presses force no reboot either
    # a second run (an upgrade) keeps the modes even after someone loosened them
    (root / "var/lib/kiosk").chmod(0o755)
    again = subprocess.run(
        ["sh", str(DEPLOY / "install.sh")],
        env={**os.environ, "ROOT": str(root)},
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0 and mode("var/lib/kiosk") == 0o700
