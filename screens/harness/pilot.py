"""Drive the real kiosk app frame by frame: for UI tests, the screenshot tour, smoke and self-tests.

The pilot runs the real :class:`~screens.app.KioskApp` (real window, real kv, real touch events
through the window's input path) but advances Kivy's event loop itself, so a test can tap a button,
wait for a condition with a deadline, and read the screen, without sleeping and without threads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from kivy.base import EventLoop, ExceptionManager, runTouchApp
from kivy.core.window import Window
from kivy.uix.widget import Widget

from kiosk.runtime import Runtime
from screens.app import KioskApp


class PilotError(AssertionError):
    """A pilot expectation failed (nothing to tap, a condition never became true)."""


class _Touch:
    """A synthetic touch that travels the same path as a real touchscreen event."""

    def __init__(self, x: float, y: float) -> None:
        from kivy.input.motionevent import MotionEvent

        class Event(MotionEvent):
            def depack(self, args: Any) -> None:
                self.is_touch = True
                self.sx, self.sy = args
                super().depack(args)

        self.event = Event("pilot", 1, (x / Window.width, y / Window.height))

    def down(self) -> None:
        EventLoop.post_dispatch_input("begin", self.event)

    def up(self) -> None:
        EventLoop.post_dispatch_input("end", self.event)


class Pilot:
    def __init__(self, runtime: Runtime, **app_options: Any) -> None:
        from kiosk.main import after_first_frame  # the harness composes the app as kiosk/main.py does

        app_options.setdefault("after_first_frame", after_first_frame(runtime))
        self.app = KioskApp(runtime, **app_options)
        self._capturing = False
        self._captured: Any = None
        self.errors: list[BaseException] = []  # unexpected exceptions seen (tests assert none)
        self.app._run_prepare()
        runTouchApp(embedded=True)
        Window.bind(on_flip=self._on_flip)
        self.frames(3)

    # -- time --------------------------------------------------------------------------------------
    def frames(self, count: int = 1) -> None:
        """Let Kivy run ``count`` frames (clock callbacks, input, drawing), handling exceptions the
        way the real main loop does (the app's handler turns them into the calm error screen)."""
        for _ in range(count):
            self._guarded(EventLoop.idle)

    def _guarded(self, action: Callable[[], Any]) -> None:
        try:
            action()
        except Exception as exc:
            self.errors.append(exc)
            if ExceptionManager.handle_exception(exc) == ExceptionManager.RAISE:
                raise

    def wait_until(self, condition: Callable[[], Any], timeout_s: float = 5.0, what: str = "") -> Any:
        """Run frames until ``condition()`` is truthy; PilotError after ``timeout_s`` of real time."""
        deadline = time.monotonic() + timeout_s
        while True:
            result = condition()
            if result:
                return result
            if time.monotonic() > deadline:
                raise PilotError(f"timed out waiting for {what or condition}")
            self.frames(1)

    # -- looking -----------------------------------------------------------------------------------
    @property
    def screen(self) -> str:
        return str(self.app.manager.current)

    def walk(self) -> Iterator[Widget]:
        """Every widget on the window (screen and overlays such as the idle warning)."""
        for child in list(Window.children):
            yield from child.walk(restrict=True)

    def visible_texts(self) -> list[str]:
        self.frames(1)
        texts = []
        for widget in self.walk():
            text = getattr(widget, "text", None)
            if isinstance(text, str) and text and widget.opacity > 0 and self._on_window(widget):
                texts.append(text)
        return texts

    def find(self, text: str, *, exact: bool = False) -> Widget:
        """The tappable widget showing ``text`` (or containing it)."""
        from kivy.uix.behaviors import ButtonBehavior

        matches = []
        for widget in self.walk():
            shown = getattr(widget, "text", None) or getattr(widget, "title", None)
            if not isinstance(shown, str) or widget.opacity == 0:
                continue
            if not (self._on_window(widget) or self._scroll_view_of(widget) is not None):
                continue  # off the window and no list to scroll it into view
            if (shown == text) if exact else (text in shown):
                matches.append(widget)
        tappable = [w for w in matches if isinstance(w, ButtonBehavior) and not w.disabled]
        if tappable:
            return tappable[0]
        if matches:
            return matches[0]
        raise PilotError(f"nothing shows {text!r} on screen {self.screen!r}")

    def _on_window(self, widget: Widget) -> bool:
        if widget.get_root_window() is None:
            return False
        x, y = widget.to_window(*widget.center)
        return 0 <= x <= Window.width and 0 <= y <= Window.height

    # -- touching ----------------------------------------------------------------------------------
    def tap(self, target: Widget | str, *, exact: bool = False) -> None:
        """Touch the centre of a widget (or of the widget showing that text), then let it react."""
        self.frames(2)  # let pending layouts settle so positions are final
        widget = self.find(target, exact=exact) if isinstance(target, str) else target
        self._scroll_into_view(widget)
        x, y = widget.to_window(*widget.center)
        self.tap_at(x, y)

    @staticmethod
    def _scroll_view_of(widget: Widget) -> Any:
        """The list ``widget`` sits in (None: not in one), when it is on the window at all."""
        from kivy.uix.scrollview import ScrollView

        if widget.get_root_window() is None:
            return None
        parent = widget.parent
        while parent is not None and not isinstance(parent, ScrollView):
            parent = None if parent.parent is parent else parent.parent  # the window is its own parent
        return parent

    def _scroll_into_view(self, widget: Widget) -> None:
        """As a resident would scroll a list to reach an item below the fold."""
        parent = self._scroll_view_of(widget)
        if parent is not None:
            parent.scroll_to(widget, padding=10, animate=False)
            self.frames(2)

    def tap_at(self, x: float, y: float) -> None:
        touch = _Touch(x, y)
        self._guarded(touch.down)
        self.frames(1)
        self._guarded(touch.up)
        self.frames(2)

    # -- pictures ----------------------------------------------------------------------------------
    def screenshot(self, path: Path | str) -> Path:
        """Save what the window shows now as a PNG."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        self.image().save(path)
        return path

    def image(self) -> Any:
        """What the window shows now, as a PIL RGB image (the layout checks read colours from it)."""
        self._capturing = True
        Window.canvas.ask_update()
        self.frames(1)
        if self._capturing:  # nothing drew: force one more frame
            Window.canvas.ask_update()
            self.frames(1)
        image, self._captured = self._captured, None
        return image

    def _on_flip(self, *_args: Any) -> None:
        if not self._capturing:
            return
        from kivy.graphics.opengl import GL_RGBA, GL_UNSIGNED_BYTE, glReadPixels
        from PIL import Image

        width, height = Window.size
        data = glReadPixels(0, 0, width, height, GL_RGBA, GL_UNSIGNED_BYTE)
        image = Image.frombytes("RGBA", (width, height), data).transpose(Image.Transpose.FLIP_TOP_BOTTOM)
        self._captured = image.convert("RGB")
        self._capturing = False

    def close(self) -> None:
        Window.unbind(on_flip=self._on_flip)
        self.app.end_session("pilot_close")
        self.app.stop()
        self.app.runtime.close()
