"""The in-app settings schema (kiosk/config/settings_schema.py): sections generated from the config schema,
typed text coerced, every edit validated by the start-up loader on the whole file, refused edits
leaving the file byte-identical, good ones written with comments kept and audited without secrets."""

from __future__ import annotations

from pathlib import Path

import pytest

from kiosk.config.messages import Messages
from kiosk.config.model import load_config
from kiosk.config.settings_schema import (
    build_sections,
    coerce,
    find_setting,
    pending_restart,
    save_setting,
    titles_from,
    validate_change,
)
from kiosk.errors import ConfigError
from kiosk.maintenance.gate import AuditLog, hash_pin

PIN_HASH = hash_pin("135790")
SITE = f"""# Site file of a test terminal: comments must survive edits
[kiosk]
id = "KIOSK-T-1"  # the terminal
data_dir = "data"

[session]
idle_timeout_s = 90  # residents are slow

[backend]
url = "https://backend.example.invalid/"
secret_file = "backend.key"

[maintenance]
pin_hash = "{PIN_HASH}"

[devices.card_reader]
driver = "sam-serial"
port = "/dev/ttyUSB0"  # the CH340 adapter
baud = 115200
"""


@pytest.fixture
def site(tmp_path: Path) -> Path:
    path = tmp_path / "kiosk.toml"
    path.write_text(SITE, encoding="utf-8")
    return path


def _sections(site: Path) -> list:  # type: ignore[type-arg]
    return build_sections(load_config(site, environ={}), titles_from(Messages.load()))


def test_sections_are_generated_from_the_schema(site: Path) -> None:
    sections = _sections(site)
    keys = [s.key for s in sections]
    assert keys[:3] == ["backend", "kiosk", "session"]
    assert "devices.card_reader" in keys and "devices.camera" in keys  # every configured role
    key_id = find_setting(sections, "backend.key_id")
    assert (key_id.kind, key_id.value, key_id.title_zh, key_id.title_en) == (
        "string",
        "",
        "密钥编号",
        "Key ID",
    )
    assert key_id.pattern == "^[A-Za-z0-9._-]{0,64}$"  # the schema's own pattern
    timeout = find_setting(sections, "session.idle_timeout_s")
    assert (timeout.kind, timeout.minimum, timeout.exclusive_min, timeout.maximum, timeout.unit) == (
        "float",
        5,
        True,
        3600,
        "s",
    )
    assert timeout.bounds == "> 5 … ≤ 3600 s"
    assert "per-step default" in timeout.description  # the comment in config/kiosk.toml
    keep = find_setting(sections, "outbox.keep_acknowledged_days")
    assert (keep.kind, keep.value, keep.bounds, keep.title_zh) == (
        "int",
        90,
        "≥ 0 … ≤ 36500 days",
        "已送达记录保留天数",
    )
    assert "0: keep forever" in keep.description
    language = find_setting(sections, "display.default_language")
    assert (language.kind, language.options) == ("choice", ("zh", "en"))
    assert find_setting(sections, "display.large_text").kind == "bool"
    baud = find_setting(sections, "devices.card_reader.baud")
    assert baud.kind == "choice" and 9600 in baud.options and baud.title_en == "Baud rate"
    port = find_setting(sections, "devices.card_reader.port")
    assert port.value == "/dev/ttyUSB0" and "by-id" in port.description  # the options model's comment
    assert find_setting(sections, "outbox.min_free_mb").kind == "int"
    # lists (simulator faults) and optional values are not offered
    paths = {s.path for sec in sections for s in sec.settings}
    assert "devices.camera.faults" not in paths and "devices.camera.folder" not in paths


def test_secrets_are_never_shown(site: Path) -> None:
    sections = _sections(site)
    pin = find_setting(sections, "maintenance.pin_hash")
    secret = find_setting(sections, "backend.secret_file")
    assert pin.kind == secret.kind == "secret"
    assert pin.value is None and pin.is_set and pin.shown == "已设置 set"
    assert find_setting(sections, "backend.client_key").shown == "未设置 not set"
    everything = repr(sections)
    assert PIN_HASH not in everything and "'backend.key'" not in everything
    with pytest.raises(ConfigError):
        coerce(pin, "scrypt$1$1$1$AAAA$AAAA")


def test_typed_text_is_coerced_to_the_field_type(site: Path) -> None:
    sections = _sections(site)
    assert coerce(find_setting(sections, "session.idle_timeout_s"), " 120 ") == 120
    assert coerce(find_setting(sections, "backend.retry_base_s"), "0.75") == 0.75
    assert coerce(find_setting(sections, "outbox.min_free_mb"), "80") == 80
    assert coerce(find_setting(sections, "display.large_text"), "on") is True
    assert coerce(find_setting(sections, "devices.card_reader.baud"), "9600") == 9600
    assert coerce(find_setting(sections, "display.default_language"), "en") == "en"
    for path, text, expected in (
        ("outbox.min_free_mb", "1.5", "expected a whole number"),
        ("session.idle_timeout_s", "soon", "expected a number"),
        ("session.idle_timeout_s", "nan", "expected a finite number"),
        ("display.fullscreen", "maybe", "expected on or off"),
    ):
        with pytest.raises(ConfigError) as caught:
            coerce(find_setting(sections, path), text, "site.toml")
        assert str(caught.value) == f"site.toml: {path}: {expected} (got {text!r})"


@pytest.mark.parametrize(
    ("path", "text", "problem"),
    [
        ("backend.key_id", "key id with spaces", "backend.key_id: String should match pattern"),
        ("kiosk.region_code", "33011", "kiosk.region_code: String should match pattern"),
        (
            "session.idle_timeout_s",
            "5000",
            "session.idle_timeout_s: Input should be less than or equal to 3600",
        ),
        (
            "session.idle_timeout_s",
            "10",
            "session: Value error, idle_warning_s must be shorter",
        ),  # cross-field
        ("display.default_language", "fr", "display.default_language: Input should be 'zh' or 'en'"),
        ("devices.card_reader.baud", "12345", "devices.card_reader.baud: Input should be 115200, 57600"),
        (
            "devices.card_reader.port",
            "",
            "devices.card_reader: Value error, set exactly one of port or usb_vid_pid",
        ),
    ],
)
def test_invalid_values_are_refused_and_the_file_stays_byte_identical(
    site: Path, path: str, text: str, problem: str
) -> None:
    before = site.read_bytes()
    audit = AuditLog(site.parent / "audit.jsonl")
    setting = find_setting(_sections(site), path)
    with pytest.raises(ConfigError) as caught:
        save_setting(site, setting, text, audit)
    assert str(caught.value).startswith(f"{site}: {problem}"), str(caught.value)
    assert site.read_bytes() == before
    assert not list(site.parent.glob(".*candidate"))
    (entry,) = audit.tail()
    assert (entry["action"], entry["outcome"], entry["path"]) == ("maintenance.setting", "refused", path)
    assert entry["problem"] == str(caught.value)
    with pytest.raises(ConfigError):  # the dry run gives the same answer and writes nothing
        validate_change(site, path, coerce(setting, text))


def test_a_good_edit_is_written_keeping_comments_and_audited_without_secrets(site: Path) -> None:
    audit = AuditLog(site.parent / "audit.jsonl")
    running = load_config(site, environ={})
    sections = _sections(site)
    saved = save_setting(site, find_setting(sections, "backend.key_id"), "site-key-2", audit)
    saved = save_setting(site, find_setting(sections, "devices.card_reader.baud"), "57600", audit)
    saved = save_setting(site, find_setting(sections, "session.idle_timeout_s"), "120", audit)
    text = site.read_text(encoding="utf-8")
    assert "# Site file of a test terminal" in text and "# the CH340 adapter" in text
    assert 'key_id = "site-key-2"' in text
    assert "baud = 57600" in text and "idle_timeout_s = 120  # residents are slow" in text
    assert saved.backend.key_id == "site-key-2" and saved.session.idle_timeout_s == 120
    reloaded = load_config(site, environ={})
    assert reloaded.devices["card_reader"].options["baud"] == 57600
    entries = audit.tail()
    assert [(e["path"], e["old"], e["new"]) for e in entries] == [
        ("backend.key_id", "", "site-key-2"),
        ("devices.card_reader.baud", 115200, 57600),
        ("session.idle_timeout_s", 90, 120),
    ]
    log_text = (site.parent / "audit.jsonl").read_text(encoding="utf-8")
    assert PIN_HASH not in log_text and '"backend.key"' not in log_text
    assert pending_restart(running, reloaded) == [
        "backend.key_id",
        "session.idle_timeout_s",
        "devices.card_reader.baud",
    ]
    assert pending_restart(reloaded, reloaded) == []
