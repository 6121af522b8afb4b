"""Help of the maintenance settings page in Chinese first and English second
(config/messages/settings_help.toml through kiosk/config/settings_schema.py): every setting the page
can offer, for every driver of every device role, has both, and the page's text puts zh first."""

from __future__ import annotations

from pathlib import Path

from kiosk.config.messages import Messages
from kiosk.config.model import KioskConfig, load_config
from kiosk.config.settings_schema import (
    INCLUDE,
    _kind_of,
    build_sections,
    find_setting,
    helps_from,
    titles_from,
)
from kiosk.devices import NOT_INSTALLED, ROLE_MODULES, role_drivers


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def _offerable_paths() -> set[str]:
    """Every path the page can show: the include-list and each scalar option of every driver."""
    paths = {f"{section}.{name}" for section, names in INCLUDE.items() for name in names}
    for role in ROLE_MODULES:
        for driver, entry in role_drivers(role).items():
            if driver == NOT_INSTALLED or entry.options is None:
                continue
            for name, info in entry.options.model_fields.items():
                if _kind_of(info.annotation) is not None:
                    paths.add(f"devices.{role}.{name}")
    return paths


def test_every_setting_the_page_can_offer_has_chinese_and_english_help() -> None:
    helps = helps_from(Messages.load())
    offered = _offerable_paths()
    assert len(offered) > 50  # the include-list and the drivers' options were both walked
    missing = sorted(p for p in offered if p not in helps)
    assert not missing, f"no settings.help entry for {missing}"
    for path in offered:
        zh, en = helps[path]
        assert _has_chinese(zh), f"{path}: the zh help has no Chinese: {zh!r}"
        assert en and not _has_chinese(en.replace("长辈模式", "").replace("呼叫帮助", "")), path
    stale = sorted(set(helps) - offered)
    assert not stale, f"help for settings the page never offers: {stale}"


def test_a_row_reads_chinese_first_then_english(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    site.write_text('[kiosk]\nid = "KIOSK-T-1"\n', encoding="utf-8")
    messages = Messages.load()
    config: KioskConfig = load_config(site, environ={})
    sections = build_sections(config, titles_from(messages), helps_from(messages))
    timeout = find_setting(sections, "session.idle_timeout_s")
    zh_line, en_line = timeout.help.split("\n")
    assert zh_line == messages.get("settings.help.session.idle_timeout_s", "zh")
    assert en_line == messages.get("settings.help.session.idle_timeout_s", "en")
    assert "per-step default" in timeout.description.lower()
    bare = find_setting(build_sections(config, titles_from(messages)), "session.idle_timeout_s")
    assert bare.description_zh == "" and bare.help == bare.description  # no help table: the comment
