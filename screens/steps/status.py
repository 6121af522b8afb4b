"""Request status look-up step (办理进度查询): scan the receipt's QR code, type its acceptance
number (受理号) on a 0-9 pad, or lay the ID card on the reader, then show what the backend says in
plain words.

The mode machine (scan, type, busy, result) is :class:`kiosk.steps.status_lookup.StatusLookup`; this
widget draws its state (one pane per mode, the live preview, the result's rows) and forwards
touches and card reads. The camera is optional: without a usable one the step opens on the keypad.
The card reader's worker reports on the UI thread; only a card read for this visit (its session id
as the owner) is looked up, so a card left by the previous resident lists nothing.
"""

from __future__ import annotations

import logging
from typing import Any

from kivy.clock import Clock
from kivy.graphics.texture import Texture
from kivy.properties import BooleanProperty, ListProperty, ObjectProperty, StringProperty

from kiosk.steps.status import StatusView
from kiosk.steps.status_lookup import MODES, StatusLookup, StatusLookupState, result_rows
from screens.steps.base import StepBase

log = logging.getLogger(__name__)

KEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0")  # the 受理号 is digits only


class RequestStatusStep(StepBase):
    mode = StringProperty("scan")  # scan | type | busy | result
    texture = ObjectProperty(None, allownone=True)
    hint = StringProperty("")
    typed = StringProperty("")
    entry_problem = StringProperty("")
    # wants_next (StepBase): the step screen's "next" button checks the typed number
    camera_ok = BooleanProperty(False)
    card_ok = BooleanProperty(False)  # a card reader: "or lay your ID card on the reader"
    card_demo = BooleanProperty(False)  # the simulated reader: a button lays the demo card on it
    demo = BooleanProperty(False)  # simulated camera: offer to hold up a receipt
    state = StringProperty("")  # the result's state (kiosk.steps.status.STATES)
    headline = StringProperty("")
    explain = StringProperty("")
    rows = ListProperty([])  # (label, value) pairs of the result

    def __init__(self, *, flow: Any, step: Any, **kwargs: Any) -> None:
        super().__init__(flow=flow, step=step, **kwargs)  # StepBase: flow, step, self.tasks
        runtime = self.app.runtime
        self.camera = runtime.devices.get("camera")
        health = runtime.device_health("camera") if self.camera is not None else None
        camera_ok = bool(health is not None and health.usable)
        simulated = camera_ok and bool(getattr(self.camera, "simulated", False))
        reader = runtime.devices.get("card_reader")
        self._card_worker: Any = None
        self._card_unsubscribe: Any = None
        self._owner = str(flow.session.id)
        self._demo_pending = False
        if reader is not None and hasattr(reader, "start_worker"):
            self._card_worker = reader.start_worker(self.app.post)
        self.lookup = StatusLookup(
            flow.session.artifacts,
            queue=lambda: self.app.runtime.queue,
            tasks=self.tasks,
            camera_ok=camera_ok,
            card_ok=self._card_worker is not None,
            scanners=self._scanner if camera_ok else None,
            demo_camera=self.camera if simulated else None,
            receipt_frame=self._receipt_frame if simulated else None,
            on_change=self.render,
        )
        self.camera_ok = self.lookup.camera_ok
        self.card_ok = self._card_worker is not None
        self.card_demo = self.card_ok and getattr(reader, "simulator", None) is not None
        self.demo = self.lookup.demo
        self.render(self.lookup.state)
        if self._card_worker is not None:
            self._card_unsubscribe = self._card_worker.subscribe(self._card_event)
            self._card_worker.request_read(self._owner)
        Clock.schedule_once(lambda _dt: self.lookup.open(), 0)

    def _card_event(self, event: Any) -> None:
        """A card read for this visit lists its holder's requests; lifting it arms the next read."""
        from kiosk.steps.card_worker import CardRead, CardRemoved

        if isinstance(event, CardRead):
            self.lookup.card_read(event.card.id_number)
        elif isinstance(event, CardRemoved) and self._card_worker is not None and not self.lookup.left:
            self._card_worker.request_read(self._owner)
            if self._demo_pending:
                self._demo_pending = False
                self.lay_demo_card()

    # what the UI tests and the tour read of the engine
    @property
    def scanner(self) -> Any:
        return self.lookup.scanner

    @property
    def view(self) -> StatusView | None:
        return self.lookup.state.view

    @property
    def _held_up(self) -> bool:
        return self.lookup.held_up

    def on_kv_post(self, _base_widget: Any) -> None:
        from kivy.factory import Factory

        for key in KEYS:
            button = Factory.DigitKey()
            button.key, button.form = key, self
            self.ids.keypad.add_widget(button)
        # one pane per mode; only the current one is on screen (hidden panes take no touches).
        # ids are weak proxies: keep the panes themselves, or detached ones are collected
        self._panes: dict[str, Any] | None = {mode: self.ids[f"{mode}_pane"].__self__ for mode in MODES}
        self.on_mode(self, self.mode)
        self.ids.keypad_box.bind(height=lambda *_: self._fit_keys())

    def _fit_keys(self) -> None:
        """Digit keys as tall as the design asks, or as four rows fit under the number."""
        box, app = self.ids.keypad_box, self.app
        keys = list(self.ids.keypad.children) + list(self.ids.keypad_row.children)
        base = app.u * 96 * (1 + (app.text_scale - 1) * 0.3)
        typed = app.u * 110 * (1 + (app.text_scale - 1) * 0.5)
        room = (box.height - typed - 5 * box.spacing) / 5  # four rows of digits and the row below
        height = max(app.u * 64, min(base, room)) if box.height > 1 else base
        for key in keys:
            key.height = height

    def on_mode(self, _instance: Any, mode: str) -> None:
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
        listed = self.state == "holder_list"
        for label, value in rows:
            row = Factory.StatusRow()
            row.label, row.value, row.number_row = label, value, listed
            box.add_widget(row)

    # -- drawing the engine's state -------------------------------------------------------------------
    def render(self, state: StatusLookupState) -> None:
        app = self.app
        self.mode = state.mode
        # the main button is the action bar's right slot: 下一步 while typing, 完成 on a result
        self.main_key = "status.finish" if state.main_action == "finish" else ""
        self.wants_next = bool(state.main_action)
        # what to do now is the headline of the title row: type the number, or show the receipt
        self.question = {"type": app.tr("status.entry.title"), "scan": app.tr("status.scan.show")}.get(
            state.mode, ""
        )
        self.hint = app.tr(state.hint_key) if state.hint_key else ""
        self.typed = state.typed
        self.entry_problem = app.tr(state.entry_problem_key) if state.entry_problem_key else ""
        view = state.view
        self.state = state.result_state
        if view is None:
            self.rows = []
            return
        self.headline = app.tr(f"status.state.{view.state}")
        self.explain = app.tr(f"status.explain.{view.state}")
        self.rows = result_rows(view, app.tr, self._service_title)

    def refresh_texts(self) -> None:
        self.render(self.lookup.state)
        self._fit_keys()  # the keys' kv height follows the text size: fit them again

    def _service_title(self, request_type: str) -> str:
        for service in self.app.catalogue.services:
            if service.request_type == request_type:
                return str(service.title.get(self.app.lang))
        return str(self.app.tr("status.service_other"))

    # -- the camera: scanner and live preview --------------------------------------------------------
    def _scanner(self, on_hint: Any, on_found: Any) -> Any:
        """The camera's QR decoding, with the kiosk's QR scanner beside it when one is usable."""
        from kiosk.steps.status_scan import CodeReader, QrScanner, ScanGroup

        camera = QrScanner(
            self.camera, self.app.post, on_frame=self._frame, on_hint=on_hint, on_found=on_found
        )
        device = self._code_scanner()
        if device is None:
            return camera
        return ScanGroup(camera, CodeReader(device, self.app.post, on_hint=on_hint, on_found=on_found))

    def _code_scanner(self) -> Any:
        runtime = self.app.runtime
        device = runtime.devices.get("scanner")
        health = runtime.device_health("scanner") if device is not None else None
        return device if health is not None and health.usable else None

    def _receipt_frame(self, request_id: str) -> Any:
        from kiosk.steps.status_scan import receipt_frame

        shape = self.camera.source.frame_shape
        base = self.app.runtime.config.kiosk.status_base_url
        return receipt_frame(base + request_id, shape[1], shape[0])

    def _frame(self, frame: Any) -> None:
        if self.lookup.left or self.mode != "scan":
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

    # -- touches, forwarded -------------------------------------------------------------------------
    def start_scan(self) -> None:
        self.lookup.start_scan()

    def stop_scan(self) -> None:
        self.lookup.stop_scan()

    def hold_up_receipt(self) -> None:
        """Demo (simulated camera): hold the newest request's receipt up to the lens."""
        self.lookup.hold_up_receipt()

    def show_keypad(self) -> None:
        self.lookup.show_keypad()

    def lay_demo_card(self) -> None:
        """Demo (simulated reader): lay the synthetic resident's card on the reader; a card still
        lying there is lifted first (it belongs to an earlier visit: the next one laid is read)."""
        simulator = getattr(self.app.runtime.devices.get("card_reader"), "simulator", None)
        if simulator is None or self._card_worker is None:
            return
        if self._card_worker.card_present:
            simulator.remove()
            self._demo_pending = True  # laid once the worker has seen the old card go
        else:
            simulator.place("resident")

    def press(self, key: str) -> None:
        self.lookup.press(key)

    def clear(self) -> None:
        self.lookup.clear()

    def next(self) -> None:
        """The action bar's main button: check the typed number, or 完成 on a result."""
        if self.lookup.state.main_action == "finish":
            self.finish()
        else:
            self.lookup.check()

    def check(self) -> None:
        self.lookup.check()

    def ask(self, key: str, *, via: str, by: str = "id") -> None:
        self.lookup.ask(key, via=via, by=by)

    def show(self, view: StatusView) -> None:
        """Show a look-up's result (also what the screenshot tour calls)."""
        self.lookup.show(view)

    def retry(self) -> None:
        self.lookup.retry()

    def next_try(self) -> None:
        self.lookup.next_try()

    def again(self) -> None:
        self.lookup.again()

    def finish(self) -> None:
        self.teardown()
        self.app.step_done()

    # -- the step host's hooks -----------------------------------------------------------------------
    def back(self) -> bool:
        """Back inside the step first (result -> entry, keypad -> camera); from the start, home."""
        if not self.lookup.back():
            self.teardown()
            self.app.go_home()
        return True

    def teardown(self) -> None:
        self.lookup.leave()
        if self._card_unsubscribe is not None:
            self._card_unsubscribe()
            self._card_unsubscribe = None
        if self._card_worker is not None:
            self._card_worker.cancel_read()
        self._release_bindings()
        super().teardown()

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
