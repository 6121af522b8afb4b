"""Kivy's process-wide settings, applied before Kivy's window module is first imported.

Kivy reads its configuration when ``kivy`` is imported and creates the window when
``kivy.core.window`` is; so the window size, the no-escape-key rule and the log routing must be in
place first. ``prepare`` is called once by the composition root (and by the UI test fixtures).
"""

from __future__ import annotations

import os
from pathlib import Path


def prepare(*, size: tuple[int, int], fullscreen: bool, show_cursor: bool, kivy_home: Path) -> None:
    """Configure Kivy for a kiosk window of ``size`` pixels."""
    kivy_home.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("KIVY_HOME", str(kivy_home))  # never write into the resident-less ~/.kivy
    os.environ.setdefault("KIVY_NO_ARGS", "1")  # our own CLI parses sys.argv
    os.environ.setdefault("KIVY_NO_FILELOG", "1")
    os.environ.setdefault("KIVY_LOG_MODE", "PYTHON")  # through logging, so the masking filter applies
    from kivy.config import Config

    width, height = size
    Config.set("graphics", "width", str(width))
    Config.set("graphics", "height", str(height))
    Config.set("graphics", "fullscreen", "auto" if fullscreen else "0")
    Config.set("graphics", "resizable", "0" if fullscreen else "1")
    Config.set("graphics", "show_cursor", "1" if show_cursor else "0")
    Config.set("graphics", "maxfps", "60")
    Config.set("kivy", "exit_on_escape", "0")  # no escape key out of the kiosk
    Config.set("kivy", "pause_on_minimize", "0")
    Config.set("input", "mouse", "mouse,disable_multitouch")  # no red multitouch dots on right-click
    for name in Config.options("input"):  # only the window's pointer: the X server limits it to the
        if name != "mouse":  # touchscreen (deploy/x11/10-kiosk-lockdown.conf); no raw /dev/input
            Config.remove_option("input", name)
