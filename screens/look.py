"""The kiosk's look: language, text size, contrast theme, the unit that scales every screen, and
the state the chrome around the screens shows (badge, countdown, strip, top bar).

:class:`ThemedApp` is the base of :class:`~screens.app.KioskApp`. Every colour and size the kv rules
use is one of its Kivy properties, so a switch (language, large text, high contrast, a new window
size) repaints the whole kiosk at once; nothing here knows about visits.
"""

from __future__ import annotations

import logging
from typing import Any

from kivy.app import App
from kivy.core.text import DEFAULT_FONT, LabelBase
from kivy.core.window import Window
from kivy.lang import Builder
from kivy.properties import BooleanProperty, ListProperty, NumericProperty, StringProperty

from kiosk.config.fonts import FontChoice
from kiosk.config.messages import Messages
from kiosk.paths import screens_dir
from screens.theme import HIGH_CONTRAST, STANDARD

log = logging.getLogger(__name__)

LARGE_TEXT_SCALE = 1.5  # 长辈模式: at least 1.5x (UX.md); the layouts reflow, nothing is clipped
ELDER_TIME_SCALE = 1.5  # 长辈模式 also gives more time: idle limits x1.5 (kiosk/visit/controller.py)


class ThemedApp(App):
    lang = StringProperty("zh")
    text_scale = NumericProperty(1.0)
    large_text = BooleanProperty(False)
    u = NumericProperty(1.0)  # one design pixel (1080-px short side) in window pixels
    landscape = BooleanProperty(True)
    high_contrast = BooleanProperty(False)
    # theme colours (screens/theme.py); a theme switch repaints every screen
    c_bg = ListProperty(STANDARD["c_bg"])
    c_card = ListProperty(STANDARD["c_card"])
    c_text = ListProperty(STANDARD["c_text"])
    c_muted = ListProperty(STANDARD["c_muted"])
    c_primary = ListProperty(STANDARD["c_primary"])
    c_primary_down = ListProperty(STANDARD["c_primary_down"])
    c_on_primary = ListProperty(STANDARD["c_on_primary"])
    c_secondary = ListProperty(STANDARD["c_secondary"])
    c_accent = ListProperty(STANDARD["c_accent"])
    c_danger = ListProperty(STANDARD["c_danger"])
    c_ok = ListProperty(STANDARD["c_ok"])
    c_disabled = ListProperty(STANDARD["c_disabled"])
    # the chrome around the screens: the SIMULATION badge, the idle countdown, the technicians'
    # strip (delivery stuck; never an error for residents), the top bar's assistance
    # (screens/assist/assist.py: voice volume/mute, help alert state)
    simulated = BooleanProperty(False)
    idle_seconds = NumericProperty(0)
    banner = StringProperty("")
    voice_volume = NumericProperty(0.8)
    voice_muted = BooleanProperty(False)
    assist_shown = BooleanProperty(True)  # false on maintenance screens
    help_state = StringProperty("")  # "" | pending | sent
    demo_text = StringProperty("")  # the simulation dock's button (screens/overlays.py), "" : none

    messages: Messages
    design_size: tuple[int, int] = (1920, 1080)
    use_kivy_settings = False  # no Kivy configuration panel (rotation, input, keyboard) at all

    def open_settings(self, *_args: Any) -> bool:
        """Kivy's F1 settings panel never opens on a kiosk: it could change rotation, input and
        keyboard settings and persist them in data/kivy/config.ini."""
        return False

    def load_look(self, font: FontChoice) -> None:
        """Register the CJK font as the default and load the kv rules every screen shares."""
        LabelBase.register(DEFAULT_FONT, str(font.path), fn_bold=str(font.bold or font.path))
        Builder.load_file(str(screens_dir() / "widgets.kv"))
        Builder.load_file(str(screens_dir() / "assist" / "voice.kv"))

    def on_large_text(self, _instance: Any, value: bool) -> None:
        """长辈模式 (the resident-facing name of the large-text setting): larger text, more time
        and a slower voice; the last two are the app's (:meth:`elder_mode_changed`)."""
        self.text_scale = LARGE_TEXT_SCALE if value else 1.0
        self.elder_mode_changed(value)

    def elder_mode_changed(self, on: bool) -> None:
        """More time and a slower voice follow 长辈模式 (the kiosk app overrides this)."""

    def on_high_contrast(self, _instance: Any, value: bool) -> None:
        for name, colour in (HIGH_CONTRAST if value else STANDARD).items():
            setattr(self, name, list(colour))

    def apply_scale(self) -> None:
        """Fit the design size into the window (called at start and on every resize)."""
        design = self.design_size
        width, height = Window.size
        self.landscape = width >= height
        self.u = min(width / design[0], height / design[1]) * (min(design) / 1080)
        if width < design[0] * 0.75 or height < design[1] * 0.75:
            log.warning(
                "window %dx%d is smaller than the designed %dx%d; scaling down", width, height, *design
            )

    def offer_demo(self, key: str, action: Any = None) -> None:
        """Demo builds: show one simulation action (e.g. "lay a sample ID card") in the orange
        simulation dock, outside the resident's layout; an empty key hides it."""
        self.demo_text = self.tr(key) if key and self.simulated else ""
        self._demo_action = action if self.demo_text else None

    def run_demo(self) -> None:
        action = getattr(self, "_demo_action", None)
        if action is not None:
            action()

    def tr(self, key: str, lang: str | None = None, **values: Any) -> str:
        """A resident-facing text; kv calls ``app.tr('key', app.lang)`` so it re-binds on switch."""
        return self.messages.get(key, lang or self.lang, **values)

    def fee_text(self, fee_fen: int) -> str:
        if fee_fen == 0:
            return self.tr("services.fee_free")
        return self.tr("services.fee", amount=f"{fee_fen / 100:.2f}")

    def toggle_language(self) -> None:
        self.lang = "en" if self.lang == "zh" else "zh"

    def toggle_large_text(self) -> None:
        self.large_text = not self.large_text

    def toggle_contrast(self) -> None:
        self.high_contrast = not self.high_contrast
