"""Request status look-up step (办理进度查询): scan the receipt's QR code or type its number, then
show what the backend says in plain words.

Modes: ``scan`` (live preview; :class:`~kiosk.steps.status_scan.QrScanner` decodes frames on its own
thread), ``type`` (hexadecimal keypad, the number grouped as the receipt prints it), ``busy`` (the
signed look-up on a worker thread) and ``result``. The camera is optional: without a usable one
the step opens on the keypad. What was looked up lives in the session and goes with its wipe.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from kivy.app import App
from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty

from kiosk.steps.status import ManualEntry, StatusView, look_up, look_up_tail
from screens.steps.base import StepBase

log = logging.getLogger(__name__)

MODES = ("scan", "type", "busy", "result")
KEYS = ("1", "2", "3", "A", "4", "5", "6", "B", "7", "8", "9", "C", "D", "0", "E", "F")


class RequestStatusStep(StepBase):
    mode = StringProperty("scan")  # scan | type | busy | result
    texture = ObjectProperty(None, allownone=True)
    hint = StringProperty("")
    typed = StringProperty("")
    entry_problem = StringProperty("")
    wants_next = BooleanProperty(False)  # the step screen's "next" button checks the typed number
    full_entry = BooleanProperty(False)  # typing the whole number rather than its last group
    camera_ok = BooleanProperty(False)
    demo = BooleanProperty(False)  # simulated camera: offer to hold up a receipt
    state = StringProperty("")  # the result's state (kiosk.steps.status.STATES)
    headline = StringProperty("")
    explain = StringProperty("")
    rows = ListProperty([])  # (label, value) pairs of the result

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.flow = flow
        self.step = step
        self.entry = ManualEntry()
        self.view: StatusView | None = None
        self.scanner: Any = None
        self._alive = True
        self._hint_key = ""
        self._held_up = False
        self._last_id = ""
        self._last_by_tail = False
        self._asking = 0  # which look-up the screen waits for (a later one, or none, wins)
        self.camera = self.app.runtime.devices.get("camera")
        health = self.app.runtime.device_health("camera") if self.camera is not None else None
        self.camera_ok = bool(health is not None and health.usable)
        self.demo = self.camera_ok and bool(getattr(self.camera, "simulated", False))
        self.typed = self.entry.display()
        Clock.schedule_once(lambda _dt: self._open(), 0)

    @property
    def app(self) -> Any:
        return App.get_running_app()

    def on_kv_post(self, _base_widget: Any) -> None:
        from kivy.factory import Factory

        for key in KEYS:
            button = Factory.HexKey()
            button.key, button.form = key, self
            self.ids.keypad.add_widget(button)
        # one pane per mode; only the current one is on screen (hidden panes take no touches).
        # ids are weak proxies: keep the panes themselves, or detached ones are collected
        self._panes = {mode: self.ids[f"{mode}_pane"].__self__ for mode in MODES}
        self.on_mode(self, self.mode)

    def on_mode(self, _instance: Any, mode: str) -> None:
        self.wants_next = mode == "type"
        panes = getattr(self, "_panes", None)
        if panes is None:
            return
        stage = self.ids.stage
        stage.clear_widgets()
        stage.add_widget(panes[mode])

    def on_rows(self, _instance: Any, rows: list[tuple[str, str]]) -> None:
        from kivy.factory import Factory

        box = self.ids.rows
        box.clear_widgets()
        for label, value in rows:
            row = Factory.StatusRow()
            row.label, row.value = label, value
            box.add_widget(row)

    def _open(self) -> None:
        if self._alive:
            self.start_scan() if self.camera_ok else self.show_keypad()

    # -- scanning --------------------------------------------------------------------------------
    def start_scan(self) -> None:
        from kiosk.steps.status_scan import QrScanner

        self.stop_scan()
        self.mode = "scan"
        self._set_hint("status.scan.show")
        self.scanner = QrScanner(
            self.camera, self.app.post, on_frame=self._frame, on_hint=self._set_hint, on_found=self._found
        )
        self.scanner.start()

    def stop_scan(self) -> None:
        scanner, self.scanner = self.scanner, None
        if scanner is not None:
            scanner.stop(join_s=0)  # the thread ends within one frame wait; never block the UI on it
        if self._held_up:
            self.camera.hold_up(None)
            self._held_up = False

    def _frame(self, frame: Any) -> None:
        if not self._alive or self.mode != "scan":
            return
        image = frame.image
        height, width = image.shape[:2]
        texture = self.texture
        if texture is None or texture.size != (width, height):
            texture = Texture.create(size=(width, height), colorfmt="bgr")
            texture.flip_vertical()
        texture.blit_buffer(image.tobytes(), colorfmt="bgr", bufferfmt="ubyte")
        self.texture = texture
        self.canvas.ask_update()

    def _set_hint(self, key: str) -> None:
        if self._alive:
            self._hint_key = key
            self.hint = self.app.tr(key)

    def _found(self, request_id: str) -> None:
        if not self._alive or self.mode != "scan":
            return
        self.stop_scan()
        self.ask(request_id, via="scan")

    def hold_up_receipt(self) -> None:
        """Demo (simulated camera): hold the newest request's receipt up to the lens."""
        queue = self.app.runtime.queue
        base = self.app.runtime.config.kiosk.status_base_url
        camera = self.camera

        def run() -> None:
            from contract.ids import uuid7
            from kiosk.steps.status_scan import receipt_frame

            latest = queue.outbox.latest_id() if queue is not None else None
            shape = camera.source.frame_shape
            camera.hold_up(receipt_frame(base + (latest or str(uuid7())), shape[1], shape[0]))

        self._held_up = True
        threading.Thread(target=run, name="demo-receipt", daemon=True).start()

    # -- typing ----------------------------------------------------------------------------------
    def show_keypad(self) -> None:
        self.stop_scan()
        self.mode = "type"

    def press(self, key: str) -> None:
        if key == "⌫":
            self.entry.backspace()
        else:
            self.entry.press(key)
        self._typed_changed()

    def clear(self) -> None:
        self.entry.clear()
        self._typed_changed()

    def whole_number(self, full: bool = True) -> None:
        """Type the whole number (32 digits) instead of its last group, or back."""
        self.entry.set_full(full)
        self.full_entry = full
        self._typed_changed()

    def _typed_changed(self) -> None:
        self.typed = self.entry.display()
        self.entry_problem = ""

    def next(self) -> None:
        """The step screen's "next" button, shown while typing."""
        self.check()

    def check(self) -> None:
        problem = self.entry.problem()
        if problem:
            self.entry_problem = self.app.tr(problem)
            return
        if self.entry.full:
            assert self.entry.request_id is not None
            self.ask(self.entry.request_id, via="typed")
        else:
            assert self.entry.tail is not None
            self.ask(self.entry.tail, via="typed_last_group", by_tail=True)

    # -- asking the backend ------------------------------------------------------------------------
    def ask(self, request_id: str, *, via: str, by_tail: bool = False) -> None:
        """Look ``request_id`` (or, ``by_tail``, the number's last group) up on a worker thread; the
        result comes back through the app's clock."""
        self._last_id, self._last_by_tail = request_id, by_tail
        self._asking += 1
        asking = self._asking
        self.mode = "busy"
        queue = self.app.runtime.queue
        self.flow.session.artifacts["status_lookup"] = {"via": via}

        def run() -> None:
            if queue is None:
                view = StatusView("offline", request_id, detail="request queue not started")
            else:
                client = queue.new_client()
                try:
                    if by_tail:
                        view = look_up_tail(client, request_id)
                    else:
                        view = look_up(client, request_id, held_here=queue.outbox.record)
                finally:
                    client.close()
            self.app.post(lambda: self._show(view, asking))

        threading.Thread(target=run, name="status-lookup", daemon=True).start()

    def _show(self, view: StatusView, asking: int) -> None:
        if self._alive and asking == self._asking:  # else the resident left or asked something else
            self.show(view)

    def show(self, view: StatusView) -> None:
        """Show a look-up's result (also what the screenshot tour calls)."""
        if view.state == "offline":
            log.warning("status look-up: backend unavailable: %s", view.detail)
        else:
            log.info("status look-up: %s (%s)", view.state, view.masked_number)
        self.view = view
        self.flow.session.artifacts.setdefault("status_lookup", {})["state"] = view.state
        self.mode = "result"
        self.refresh_texts()

    def retry(self) -> None:
        if self._last_id:
            self.ask(self._last_id, via="retry", by_tail=self._last_by_tail)

    def next_try(self) -> None:
        """The result's way forward: ask again (backend was away) or type the whole number (the
        last group was ambiguous)."""
        if self.state == "ambiguous":
            self.again()
            self.show_keypad()
            self.whole_number(True)
        else:
            self.retry()

    def again(self) -> None:
        """Check another number: back to scanning (or typing), nothing of this one kept on screen."""
        self._asking += 1
        self.view = None
        self.state = ""
        self.rows = []
        self.clear()
        self.start_scan() if self.camera_ok else self.show_keypad()

    def finish(self) -> None:
        self.teardown()
        self.app.step_done()

    # -- texts -----------------------------------------------------------------------------------
    def refresh_texts(self) -> None:
        app = self.app
        if self._hint_key:
            self.hint = app.tr(self._hint_key)
        if self.entry_problem:
            self.entry_problem = app.tr(self.entry.problem() or "status.entry.incomplete")
        view = self.view
        if view is None:
            return
        self.state = view.state
        self.headline = app.tr(f"status.state.{view.state}")
        self.explain = app.tr(f"status.explain.{view.state}")
        rows = [(app.tr("status.label.number"), view.masked_number)]
        if view.request_type:
            rows.append((app.tr("status.label.service"), self._service_title(view.request_type)))
        if view.received_at:
            rows.append((app.tr("status.label.received_at"), view.received_at))
        if view.updated_at and view.updated_at != view.received_at:
            rows.append((app.tr("status.label.updated_at"), view.updated_at))
        if view.reason:
            rows.append((app.tr("status.label.reason"), view.reason))
        self.rows = rows

    def _service_title(self, request_type: str) -> str:
        for service in self.app.catalogue.services:
            if service.request_type == request_type:
                return str(service.title.get(self.app.lang))
        return str(self.app.tr("status.service_other"))

    # -- the step host's hooks -----------------------------------------------------------------------
    def back(self) -> bool:
        """Back inside the step first (result -> entry, keypad -> camera); from the start, home."""
        if self.mode in ("result", "busy"):
            self.again()
        elif self.mode == "type" and self.camera_ok:
            self.start_scan()
        else:
            self.teardown()
            self.app.go_home()
        return True

    def teardown(self) -> None:
        self._alive = False
        self.stop_scan()
        self._release_bindings()

    def _release_bindings(self) -> None:
        """Drop the kv bindings of this step and of all its panes now, not when the collector runs.

        The step and its detached panes form reference cycles, so they outlive the visit until a
        cycle collection; meanwhile their rules stayed bound to ``app.lang`` (and ``app.u``), and the
        next language switch on the home screen ran them against collected widgets (ReferenceError:
        weakly-referenced object no longer exists)."""
        from kivy.lang import Builder

        panes = list((getattr(self, "_panes", None) or {}).values())
        self._panes = None  # on_mode does nothing from now on
        for top in (self, *panes):
            for widget in list(top.walk(restrict=True)):
                Builder.unbind_widget(widget.uid)
