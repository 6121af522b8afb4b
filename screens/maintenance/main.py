"""The maintenance screen: device dashboard, log and audit views, restart. Reached through the
PIN screen (``maintenance_pin``); every view and action is written to the audit log."""

from __future__ import annotations

from typing import Any

from kivy.clock import Clock
from kivy.properties import BooleanProperty, StringProperty

from kiosk.maintenance.textfiles import tail_lines
from kiosk.work import Tasks
from screens.base import KioskScreen

LOG_LINES = 200
AUDIT_LINES = 40
RESTART_CONFIRM_S = 10.0  # the second touch of 重启程序 must come within this

# Tabs drawn by a page widget of their own (module screens/NAME.py + NAME.kv, with PAGE_CLASS);
# other tabs (logs, audit) are text views drawn here. The settings page plugs in as "settings".
PAGES: dict[str, str] = {
    "devices": "devices",
    "card": "card",
    "camera": "camera",
    "print": "print",
    "queue": "queue",
    "settings": "settings",
}


class MaintenanceScreen(KioskScreen):
    tab = StringProperty("devices")
    text = StringProperty("")
    mono_font = StringProperty("Roboto")  # aligned device table; CJK default font when none
    restart_armed = BooleanProperty(False)  # 重启程序 touched once: asking for the second touch

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        from kiosk.config.fonts import find_mono_font

        mono = find_mono_font()
        if mono is not None:
            self.mono_font = str(mono)
        self._reading = False  # a log or audit read is on its way (one at a time)
        self._tasks = Tasks(self.app.post, self.app.fail)  # the log and audit reads

    # pre-enter / pre-leave always come in pairs; on_enter / on_leave are lost when the screen changes
    # twice before a frame (screens/resident/attract.py), which would leave the refresh running forever
    def on_pre_enter(self, *_args: Any) -> None:
        self.tab = "devices"  # every visit starts at the dashboard
        self.app.runtime.gate.audit.record_later("maintenance.view", tab=self.tab)
        self._event = Clock.schedule_interval(lambda _dt: self.refresh(), 1.0)
        self._place_page()
        self.refresh()

    def on_pre_leave(self, *_args: Any) -> None:
        self._event.cancel()
        self.disarm_restart()
        self._close_page()
        self._tasks.cancel()  # a read still on its way is not shown on the next visit
        self._reading = False

    def show_tab(self, tab: str) -> None:
        if tab != self.tab:
            self.app.runtime.gate.audit.record_later("maintenance.view", tab=tab)
        self._close_page()
        self.tab = tab
        self._place_page()
        self.refresh()

    def page(self, tab: str) -> Any:
        """The page widget of ``tab`` (built on first use), or None for the text tabs."""
        module_name = PAGES.get(tab)
        if module_name is None:
            return None
        pages: dict[str, Any] = self.__dict__.setdefault("_pages", {})
        if tab not in pages:
            import importlib

            from kivy.lang import Builder

            from kiosk.paths import screens_dir

            Builder.load_file(str(screens_dir() / "maintenance" / f"{module_name}.kv"))
            pages[tab] = importlib.import_module(f"screens.maintenance.{module_name}").PAGE_CLASS()
        return pages[tab]

    @property
    def current_page(self) -> Any:
        """The page widget shown now (None on a text tab or before the screen is entered)."""
        return self.__dict__.get("_open_page")

    def _place_page(self) -> None:
        body = self.ids.body
        # ids are weak: hold the text view strongly while a page replaces it
        text_view = self.__dict__.setdefault("_text_view", self.ids.text_view.__ref__())
        page = self.page(self.tab)
        body.clear_widgets()
        body.add_widget(page if page is not None else text_view)
        if page is not None:
            self._open_page = page
            page.open()

    def _close_page(self) -> None:
        page = self.__dict__.pop("_open_page", None)
        if page is not None:
            page.close()

    def refresh(self) -> None:
        if self.tab in PAGES:
            return  # a page refreshes itself
        if self.tab == "settings":
            self.text = self.app.tr("maint.settings.pending")
            return
        # the log and audit views read files: on a worker thread, one read at a time, never on the UI
        # thread (a slow SD card or a large log must not freeze the screen the technician is using)
        if self._reading:
            return
        self._reading = True
        tab = self.tab
        read = self._log_text if tab == "logs" else self._audit_text

        def failed(exc: Exception) -> None:  # shown in the view with its cause; the next refresh tries again
            self._show_text(tab, f"{type(exc).__name__}: {exc}")

        self._tasks.run(read, lambda text: self._show_text(tab, text), failed, name="maint-text")

    def _show_text(self, tab: str, text: str) -> None:
        self._reading = False
        if tab == self.tab:  # the technician may have switched tabs meanwhile (leaving cancels the read)
            self.text = text

    def _log_text(self) -> str:
        path = self.app.runtime.config.log_dir / "kiosk.log"
        try:
            return "\n".join(tail_lines(path, LOG_LINES))  # already masked by the log filter
        except OSError as exc:
            return f"{path}: {exc.strerror}"

    def _audit_text(self) -> str:
        entries = self.app.runtime.gate.audit.tail(AUDIT_LINES)
        return "\n".join(
            f"{e.get('at', 0):.0f}  {e.get('action', '?')}  {e.get('outcome', '?')}  "
            + " ".join(f"{k}={v}" for k, v in e.items() if k not in ("at", "action", "outcome"))
            for e in entries
        )

    def restart(self) -> None:
        """The first touch asks (再按一次确认); the second, within RESTART_CONFIRM_S, restarts."""
        if not self.restart_armed:
            self.restart_armed = True
            self._disarm = Clock.schedule_once(lambda _dt: self.disarm_restart(), RESTART_CONFIRM_S)
            return
        self.disarm_restart()
        self.app.runtime.gate.audit.record("maintenance.restart")
        self.app.restart()

    def disarm_restart(self) -> None:
        self.restart_armed = False
        event, self._disarm = getattr(self, "_disarm", None), None
        if event is not None:
            event.cancel()

    def leave(self) -> None:
        self.app.runtime.gate.audit.record("maintenance.leave")
        self.app.show_attract()


SCREEN_CLASS = MaintenanceScreen
