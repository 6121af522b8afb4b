"""Settings: the site configuration edited on the touchscreen (kiosk/config/settings_schema.py).

A list of sections; each setting a row (title in zh and en, the value saved in the site file, its
description and allowed range). Tapping a row opens an editor suited to its type: an on-screen
ASCII keyboard for text (URLs, /dev/serial/by-id/... paths), a number pad for numbers, option
buttons for choices, an on/off switch for booleans; no physical keyboard is needed. "Check and
save" runs the start-up loader on the whole file with the edit applied, on a worker thread: an
invalid value is never written and the loader's exact problem is shown under the field; a valid
one is written (comments kept), audited, and the page says which saved changes wait for "restart
the app". Secrets only show "set" / "not set". On a production terminal (or a site file this
process cannot write) the page only shows the settings and says they are read-only here.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from kivy.factory import Factory
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty
from kivy.uix.behaviors import ButtonBehavior
from kivy.uix.boxlayout import BoxLayout
from kivy.uix.modalview import ModalView

from kiosk.config.settings_schema import (
    Section,
    Setting,
    build_sections,
    helps_from,
    pending_restart,
    read_only_reason,
    save_setting,
    titles_from,
)
from kiosk.errors import ConfigError
from screens.maintenance.page import MaintenancePage

KEY_ROWS = ("1234567890-_", "qwertyuiop/:", "asdfghjkl.@~", "zxcvbnm?=&%+")
NUMBER_ROWS = ("789", "456", "123")
MAX_ENTRY = 200
DELETE = "⌫"


class SettingRow(ButtonBehavior, BoxLayout):
    title = StringProperty("")
    value = StringProperty("")
    note = StringProperty("")  # description and allowed range
    setting = ObjectProperty(None, allownone=True)


class SettingEditor(ModalView):
    """The full-screen editor of one setting. ``entry`` is the text being typed (or the option
    chosen); ``error`` the loader's problem, shown under the field; nothing is written until the
    page's save succeeds."""

    page = ObjectProperty(None)
    setting = ObjectProperty(None)
    title = StringProperty("")
    current = StringProperty("")
    note = StringProperty("")
    entry = StringProperty("")
    error = StringProperty("")
    kind = StringProperty("string")
    shift = BooleanProperty(False)
    checking = BooleanProperty(False)
    options = ListProperty([])

    def __init__(self, page: SettingsPage, setting: Setting, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.page = page
        self.setting = setting
        self.kind = setting.kind
        self.title = f"{setting.title_zh} / {setting.title_en}"
        self.current = setting.shown
        allowed = self.page.app.tr("settings.allowed", bounds=setting.bounds) if setting.bounds else ""
        self.note = "\n".join(
            x for x in ("   ·   ".join(y for y in (setting.path, allowed) if y), setting.help) if x
        )
        if setting.kind == "bool":
            self.entry = "true" if setting.value else "false"
        elif setting.kind in ("int", "float"):
            self.entry = _number(setting.value)
        else:
            self.entry = "" if setting.value is None else str(setting.value)
        self.options = [str(o) for o in setting.options]
        self._build_input()
        self.on_entry(self, self.entry)

    def on_entry(self, _instance: Any, entry: str) -> None:
        # the chosen option / side of the switch is highlighted (set here: kv cannot bind through
        # a property that is None when the button is built)
        for button in getattr(self, "_choices", []):
            button.role = "primary" if button.value == entry else "secondary"

    def _build_input(self) -> None:
        box = self.ids.input_area
        box.clear_widgets()
        self._choices: list[Any] = []
        if self.kind == "string":
            rows: list[str] = [*KEY_ROWS]
            grid = Factory.GridLayout(cols=12, spacing=self.page.app.u * 10, size_hint_y=None)
            grid.bind(minimum_height=grid.setter("height"))
            for row in rows:
                for char in row:
                    grid.add_widget(_make("EditorKey", key=char, form=self))
            box.add_widget(grid)
            box.add_widget(_make("EditorStringControls", form=self))
        elif self.kind in ("int", "float"):
            grid = Factory.GridLayout(cols=3, spacing=self.page.app.u * 10, size_hint=(0.5, None))
            grid.bind(minimum_height=grid.setter("height"))
            last = ("." if self.kind == "float" else "", "0", DELETE)
            number_rows: list[Sequence[str]] = [*NUMBER_ROWS, last]
            for keys in number_rows:
                for char in keys:
                    grid.add_widget(_make("EditorKey", key=char, form=self))
            box.add_widget(grid)
            box.add_widget(_make("EditorNumberControls", form=self))
        elif self.kind == "choice":
            grid = Factory.GridLayout(cols=min(len(self.options), 5), spacing=self.page.app.u * 16)
            grid.size_hint_y = None
            grid.bind(minimum_height=grid.setter("height"))
            for option in self.options:
                button = _make("EditorOption", value=option, form=self)
                self._choices.append(button)
                grid.add_widget(button)
            box.add_widget(grid)
        else:
            switch = _make("EditorSwitch", form=self)
            self._choices.extend([switch.ids.on, switch.ids.off])
            box.add_widget(switch)

    def press(self, key: str) -> None:
        """A key of the on-screen keyboard or number pad."""
        self.error = ""
        if key == DELETE:
            self.entry = self.entry[:-1]
        elif key and len(self.entry) < MAX_ENTRY:
            self.entry += key.upper() if self.shift and key.isalpha() else key

    def choose(self, value: str) -> None:
        """An option button (choices) or a side of the switch (booleans)."""
        self.error = ""
        self.entry = value

    def clear(self) -> None:
        self.error = ""
        self.entry = ""

    def toggle_shift(self) -> None:
        self.shift = not self.shift

    def save(self) -> None:
        self.page.save(self, self.setting, self.entry)


class SettingsPage(MaintenancePage):
    sections = ListProperty([])
    section = StringProperty("backend")
    status = StringProperty("")  # saved / restart hint / loading problem
    status_error = BooleanProperty(False)
    site = StringProperty("")  # the site file being edited; empty: none, nothing can be saved
    read_only = StringProperty("")  # why nothing can be saved here (read_only_reason), or ""
    pending = ListProperty([])  # saved settings the running app does not use yet

    def open(self) -> None:
        super().open()
        self.site = self.runtime.config.source
        self.read_only = read_only_reason(self.runtime.config)
        self.status, self.status_error = self._read_only_text(), False
        self._editor: SettingEditor | None = None
        self._show_sections(self._sections(self.runtime.config), [])
        if self.site:
            self.in_background(
                lambda: self._load(Path(self.site)), self._loaded, self._load_failed, "settings-load"
            )
        else:
            self.status, self.status_error = self.app.tr("settings.no_site_file"), True

    def _read_only_text(self) -> str:
        """The page's standing note when this terminal's settings cannot be saved on the screen."""
        if self.read_only in ("production", "not_writable"):
            return self.app.tr("settings.read_only", path=self.site)
        return ""

    def close(self) -> None:
        super().close()
        if self._editor is not None:
            self._editor.dismiss()
            self._editor = None

    def _sections(self, config: Any) -> list[Section]:
        return build_sections(config, titles_from(self.app.messages), helps_from(self.app.messages))

    def _load(self, site: Path) -> tuple[list[Section], list[str]]:
        """The settings as saved in the site file and which of them the running app does not use yet
        (blocking: reads the file and validates it, on the worker thread)."""
        from kiosk.config.model import load_config

        saved = load_config(site)  # with the environment, as the next start-up will see it
        return self._sections(saved), pending_restart(self.runtime.config, saved)

    def _loaded(self, result: tuple[list[Section], list[str]]) -> None:
        sections, pending = result
        self._show_sections(sections, pending)

    def _load_failed(self, exc: BaseException) -> None:
        self.status, self.status_error = f"{type(exc).__name__}: {exc}", True

    def _show_sections(self, sections: list[Section], pending: list[str]) -> None:
        self.sections = sections
        self.pending = pending
        if pending:
            hint = self.app.tr("settings.restart_hint", paths=", ".join(pending))
            self.status = "\n".join(x for x in (self._read_only_text(), hint) if x)
            self.status_error = False
        box = self.ids.section_list
        box.clear_widgets()
        for section in sections:
            button = _make(
                "SectionButton", text=f"{section.title_zh}\n{section.title_en}", key=section.key, page=self
            )
            box.add_widget(button)
        self.show_section(self.section if any(s.key == self.section for s in sections) else sections[0].key)

    def show_section(self, key: str) -> None:
        self.section = key
        # set here: kv cannot bind through ``page``, which is None when the button is built
        for button in self.ids.section_list.children:
            button.role = "primary" if button.key == key else "secondary"
        box = self.ids.rows
        box.clear_widgets()
        section = next(s for s in self.sections if s.key == key)
        for setting in section.settings:
            row = SettingRow()
            row.setting = setting
            row.title = f"{setting.title_zh} / {setting.title_en}"
            row.value = setting.shown
            row.note = "\n".join(x for x in (setting.help, setting.bounds) if x)
            row.bind(on_release=lambda r: self.edit(r.setting))
            box.add_widget(row)

    def edit(self, setting: Setting) -> None:
        if setting.kind == "secret":
            self.status, self.status_error = self.app.tr("settings.secret"), False
            return
        if not self.site:
            self.status, self.status_error = self.app.tr("settings.no_site_file"), True
            return
        if self.read_only:
            self.status, self.status_error = self._read_only_text(), False
            return
        self._editor = SettingEditor(self, setting)
        self._editor.open()

    def save(self, editor: SettingEditor, setting: Setting, text: str) -> None:
        """Validate and write on a worker thread; the editor shows the problem or closes."""
        if editor.checking:
            return
        editor.checking, editor.error = True, ""
        site = Path(self.site)
        audit = self.runtime.gate.audit

        def work() -> tuple[Any, list[Section], list[str]]:
            from kiosk.config.settings_schema import coerce

            save_setting(site, setting, text, audit)
            sections, pending = self._load(site)
            return coerce(setting, text), sections, pending

        def done(result: tuple[Any, list[Section], list[str]]) -> None:
            new, sections, pending = result
            editor.checking = False
            editor.dismiss()
            self._editor = None
            self._show_sections(sections, pending)
            saved = self.app.tr(
                "settings.saved", path=setting.path, old=setting.shown, new=replace(setting, value=new).shown
            )
            hint = self.app.tr("settings.restart_hint", paths=", ".join(pending)) if pending else ""
            self.status, self.status_error = "\n".join(x for x in (saved, hint) if x), False

        def failed(exc: BaseException) -> None:
            editor.checking = False
            problem = "\n".join(str(p) for p in exc.problems) if isinstance(exc, ConfigError) else str(exc)
            editor.error = self.app.tr("settings.refused", problem=problem)

        self.in_background(work, done, failed, "settings-save", mark_busy=False)


def _make(name: str, **values: Any) -> Any:
    """A widget of a kv-declared class with its kv properties set (they cannot go to __init__)."""
    widget = getattr(Factory, name)()
    for key, value in values.items():
        setattr(widget, key, value)
    return widget


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return "" if value is None else str(value)


PAGE_CLASS = SettingsPage
