"""The settings page of the maintenance screen in the real app under Xvfb, entered by the corner
gesture and the PIN: the signing key id typed on the on-screen keyboard is saved and audited, an
out-of-range timeout typed on the number pad is refused with the loader's problem beside the field
(the site file byte-identical), the default language chosen with option buttons, and the page says
which saved changes wait for "restart the app"."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("KIOSK_DOCS_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "kiosk-maintenance-shots"
)


@pytest.fixture
def settings(maint: Any) -> Iterator[Any]:
    """The kiosk on the maintenance settings page; the site file is restored afterwards."""
    kiosk = maint
    site = Path(kiosk.app.runtime.config.source)
    original = site.read_bytes()
    try:
        kiosk.tap("设置 Settings")
        screen = kiosk.app.screen("maintenance")
        page = kiosk.wait_until(lambda: screen.current_page, what="the settings page")
        assert type(page).__name__ == "SettingsPage"
        kiosk.wait_until(lambda: not page.busy, what="the site file to be read")
        yield kiosk
        editor = page.__dict__.get("_editor")
        if editor is not None:
            editor.dismiss()
        kiosk.app.large_text = False
    finally:
        site.write_bytes(original)


def _page(kiosk: Any) -> Any:
    return kiosk.app.screen("maintenance").current_page


def _editor(kiosk: Any) -> Any:
    return kiosk.wait_until(lambda: _page(kiosk).__dict__.get("_editor"), what="the editor")


def _type(kiosk: Any, text: str) -> None:
    for char in text:
        kiosk.tap(char, exact=True)


def _shot(kiosk: Any, name: str) -> None:
    kiosk.frames(3)
    kiosk.screenshot(SHOTS / name)


def _settings_audit(kiosk: Any) -> list[dict[str, Any]]:
    entries = kiosk.app.runtime.gate.audit.tail(50)
    return [e for e in entries if e["action"] == "maintenance.setting"]


def test_key_id_typed_on_the_screen_keyboard_is_saved_and_audited(settings: Any) -> None:
    kiosk = settings
    site = Path(kiosk.app.runtime.config.source)
    before = len(_settings_audit(kiosk))
    _shot(kiosk, "maint-settings.png")
    kiosk.tap("密钥编号 / Key ID")
    editor = _editor(kiosk)
    assert editor.kind == "string" and editor.entry == ""
    _type(kiosk, "site-key-2")
    assert editor.entry == "site-key-2"
    _shot(kiosk, "maint-settings-keyboard.png")
    kiosk.tap("检查并保存")
    kiosk.wait_until(lambda: _page(kiosk).__dict__.get("_editor") is None, timeout_s=10, what="the save")
    text = site.read_text(encoding="utf-8")
    assert 'key_id = "site-key-2"' in text and "[devices.card_reader]" in text
    (entry,) = _settings_audit(kiosk)[before:]
    assert (entry["outcome"], entry["path"], entry["old"], entry["new"]) == (
        "ok",
        "backend.key_id",
        "",
        "site-key-2",
    )
    page = _page(kiosk)
    assert "backend.key_id" in page.pending
    texts = kiosk.visible_texts()
    assert any("重启程序" in t and "backend.key_id" in t for t in texts), texts  # the restart hint
    assert any("site-key-2" in t for t in texts)  # the row shows the saved value
    assert kiosk.app.tr("maint.restart") in texts  # and the restart action is right there
    _shot(kiosk, "maint-settings-saved.png")


def test_an_out_of_range_timeout_is_refused_beside_the_field_and_never_written(settings: Any) -> None:
    kiosk = settings
    site = Path(kiosk.app.runtime.config.source)
    before = site.read_bytes()
    kiosk.tap("会话与超时")
    kiosk.tap("无操作超时 / Idle timeout")
    editor = _editor(kiosk)
    assert editor.kind == "float" and editor.entry == "90"
    kiosk.tap("清空")
    _type(kiosk, "5000")
    kiosk.tap("检查并保存")
    kiosk.wait_until(lambda: editor.error, timeout_s=10, what="the refusal")
    assert "session.idle_timeout_s: Input should be less than or equal to 3600" in editor.error
    assert any("less than or equal to 3600" in t for t in kiosk.visible_texts())
    assert site.read_bytes() == before
    assert _settings_audit(kiosk)[-1]["outcome"] == "refused"
    _shot(kiosk, "maint-settings-refused.png")
    # the cross-field rule of the loader applies too: the warning must stay shorter than the timeout
    kiosk.tap("清空")
    _type(kiosk, "10")
    kiosk.tap("检查并保存")
    kiosk.wait_until(lambda: "idle_warning_s must be shorter" in editor.error, timeout_s=10, what="refusal")
    assert site.read_bytes() == before
    kiosk.tap("取消")
    kiosk.wait_until(
        lambda: _page(kiosk).__dict__.get("_editor") is not None and not editor.get_parent_window()
    )
    assert "90 s" in " ".join(kiosk.visible_texts())


def test_default_language_is_chosen_with_option_buttons_and_large_text_fits(settings: Any) -> None:
    kiosk = settings
    site = Path(kiosk.app.runtime.config.source)
    kiosk.tap("显示与语言")
    kiosk.tap("默认语言 / Default language")
    editor = _editor(kiosk)
    assert editor.kind == "choice"
    kiosk.tap("en", exact=True)
    assert editor.entry == "en"
    _shot(kiosk, "maint-settings-choice.png")
    kiosk.tap("检查并保存")
    kiosk.wait_until(lambda: _page(kiosk).__dict__.get("_editor") is None, timeout_s=10, what="the save")
    assert 'default_language = "en"' in site.read_text(encoding="utf-8")
    assert kiosk.app.runtime.config.display.default_language == "zh"  # the running app: after restart
    assert "display.default_language" in _page(kiosk).pending
    # a bool with the switch, in large text
    kiosk.app.large_text = True
    kiosk.tap("默认大字 / Large text by default")
    editor = _editor(kiosk)
    assert editor.kind == "bool" and editor.entry == "false"
    kiosk.tap("开 On", exact=True)
    _shot(kiosk, "maint-settings-switch-large.png")
    kiosk.tap("检查并保存")
    kiosk.wait_until(lambda: _page(kiosk).__dict__.get("_editor") is None, timeout_s=10, what="the save")
    assert "large_text = true" in site.read_text(encoding="utf-8")
    _shot(kiosk, "maint-settings-large.png")
