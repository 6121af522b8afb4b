"""Lockdown of the running kiosk under Xvfb: keys are delivered to the window exactly as the SDL2
window delivers a physical key (on_key_down, then on_keyboard unless handled, on_textinput for a
character, on_key_up), and close requests as a window manager (Alt+F4, a close button) or Kivy's
Escape handling sends them. Residents have only the touchscreen: F1 opens no settings panel,
Escape and Alt+F4 leave the kiosk running, typed characters reach no widget holding the keyboard.
The technician's keyboard works on the maintenance screen (still without F1, Escape, Alt+F4). The
Settings tab offers none of the keys that redirect requests or receipts, and on a production
terminal it only shows the settings."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

KEY_ESCAPE, KEY_F1, KEY_F4 = 27, 282, 285
SHELL_ONLY = ("backend.url", "backend.ca_file", "kiosk.status_base_url", "kiosk.id")


def press(kiosk: Any, key: int, codepoint: str = "", modifiers: Sequence[str] = ()) -> None:
    """One physical key press and release, dispatched as kivy/core/window/window_sdl2.py does."""
    from kivy.core.window import Window

    mods = list(modifiers)
    if not Window.dispatch("on_key_down", key, 0, codepoint, mods):
        Window.dispatch("on_keyboard", key, 0, codepoint, mods)
    if codepoint:
        Window.dispatch("on_textinput", codepoint)
    Window.dispatch("on_key_up", key, 0)
    kiosk.frames(2)


def type_text(kiosk: Any, text: str) -> None:
    for char in text:
        press(kiosk, ord(char.lower()), char)


def settings_panels() -> list[Any]:
    from kivy.core.window import Window
    from kivy.uix.settings import Settings

    return [w for w in Window.children if isinstance(w, Settings)]


def still_running(kiosk: Any) -> bool:
    from kivy.base import EventLoop
    from kivy.core.window import Window

    return EventLoop.status == "started" and not EventLoop.quit and Window in EventLoop.event_listeners


@pytest.fixture
def probe(kiosk: Any) -> Iterator[Any]:
    """A focused text field on the screen shown now (what a form field, or a widget listening for a
    barcode scanner that types as a keyboard, would be): whatever text reaches a widget lands here."""
    from kivy.uix.textinput import TextInput

    field = TextInput(size_hint=(None, None), size=(400, 80), pos=(100, 100))
    placed: list[Any] = []

    def place() -> TextInput:
        if placed:
            placed[0].remove_widget(field)
            placed.clear()
        screen = kiosk.app.manager.current_screen
        screen.add_widget(field)
        placed.append(screen)
        kiosk.frames(2)
        field.text = ""
        field.focus = True
        kiosk.frames(2)
        return field

    yield place
    field.focus = False
    if placed:
        placed[0].remove_widget(field)
    kiosk.frames(1)


def test_f1_opens_no_settings_panel_anywhere(kiosk: Any) -> None:
    press(kiosk, KEY_F1)
    assert settings_panels() == [] and kiosk.screen == "attract"
    assert kiosk.app.open_settings() is False  # nor when asked directly
    kiosk.frames(2)
    assert settings_panels() == []


def test_escape_and_alt_f4_leave_the_kiosk_running(kiosk: Any) -> None:
    from kivy.core.window import Window

    for screen in ("attract", "home"):
        if screen == "home":
            kiosk.tap_at(300, 300)
        assert kiosk.screen == screen
        press(kiosk, KEY_ESCAPE)
        press(kiosk, KEY_F4, modifiers=["alt"])
        assert still_running(kiosk) and kiosk.screen == screen
    # what a window manager sends for Alt+F4 or its close button, and Kivy's own Escape handling
    assert Window.dispatch("on_request_close") is True  # handled: the close is refused
    assert Window.dispatch("on_request_close", source="keyboard") is True
    kiosk.frames(2)
    assert still_running(kiosk) and kiosk.screen == "home"
    assert kiosk.app.session is not None  # the resident's visit goes on


def test_typed_keys_reach_no_field_on_resident_screens(kiosk: Any, probe: Any) -> None:
    for screen in ("attract", "home"):
        if screen == "home":
            kiosk.tap_at(300, 300)  # touch still works
        assert kiosk.screen == screen
        field = probe()
        type_text(kiosk, "110105")
        press(kiosk, 13)  # Enter
        press(kiosk, 8)  # Backspace
        assert field.text == "", f"typed text reached a field on {screen}"
        assert kiosk.screen == screen
    assert kiosk.app.input_lock.refused > 0  # swallowed by the lock, not lost by chance


def test_the_technicians_keyboard_works_on_the_maintenance_screen_only(maint: Any, probe: Any) -> None:
    kiosk = maint
    field = probe()
    type_text(kiosk, "diag")
    assert field.text == "diag"
    press(kiosk, KEY_F1)
    press(kiosk, KEY_ESCAPE)
    press(kiosk, KEY_F4, modifiers=["alt"])
    assert settings_panels() == [] and still_running(kiosk) and kiosk.screen == "maintenance"
    assert field.text == "diag"
    kiosk.tap("退出维护")
    assert kiosk.screen == "attract"
    field = probe()
    type_text(kiosk, "x")
    assert field.text == ""


def _open_settings(kiosk: Any) -> Any:
    kiosk.tap("设置 Settings")
    screen = kiosk.app.screen("maintenance")
    page = kiosk.wait_until(lambda: screen.current_page, what="the settings page")
    assert type(page).__name__ == "SettingsPage"
    kiosk.wait_until(lambda: not page.busy, what="the site file to be read")
    return page


def test_the_settings_tab_offers_no_key_that_redirects_requests_or_receipts(maint: Any) -> None:
    kiosk = maint
    page = _open_settings(kiosk)
    offered = {s.path for section in page.sections for s in section.settings}
    assert offered and not offered & set(SHELL_ONLY)
    for key in ("backend", "kiosk"):
        page.show_section(key)
        texts = " ".join(kiosk.visible_texts())
        for title in ("后台地址 / Backend URL", "CA 证书文件", "终端编号 / Kiosk ID", "进度查询地址"):
            assert title not in texts, (key, title)
    page.show_section("backend")  # as the next test expects the page


def test_a_production_terminal_only_shows_its_settings(maint: Any) -> None:
    kiosk = maint
    runtime = kiosk.app.runtime
    running = runtime.config
    site = Path(running.source)
    before = site.read_bytes()
    runtime.config = running.model_copy(
        update={"kiosk": running.kiosk.model_copy(update={"mode": "production"})}
    )
    try:
        page = _open_settings(kiosk)
        assert page.read_only == "production"
        read_only = kiosk.app.tr("settings.read_only", path=running.source)
        assert read_only in kiosk.visible_texts()
        kiosk.tap("会话与超时")
        kiosk.tap("无操作超时 / Idle timeout")
        kiosk.frames(2)
        assert page.__dict__.get("_editor") is None  # no editor opens
        assert page.status.startswith(read_only)
        roles = {b.key: b.role for b in page.ids.section_list.children}
        assert roles["session"] == "primary" and roles["backend"] == "secondary"  # the shown section
        kiosk.screenshot(Path(tempfile.gettempdir()) / "kiosk-lockdown-shots" / "settings-read-only.png")
        assert site.read_bytes() == before
        page.show_section("backend")
    finally:
        runtime.config = running
