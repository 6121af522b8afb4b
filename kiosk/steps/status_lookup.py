"""The request status look-up's mode machine (办理进度查询), Kivy-free.

Modes: ``scan`` (a :class:`~kiosk.steps.status_scan.QrScanner` reads the receipt's QR code), ``type``
(the 0-9 digit pad for the 受理号, :class:`~kiosk.steps.status.ManualEntry`), ``busy`` (the signed
look-up runs off the UI thread) and ``result`` (a :class:`~kiosk.steps.status.StatusView`). Without
a usable camera the step opens on the keypad. In ``scan`` and ``type`` an ID card laid on the reader
(:meth:`StatusLookup.card_read`) lists that holder's own requests. Events in: the touches
(:meth:`StatusLookup.press`, :meth:`~StatusLookup.check`, :meth:`~StatusLookup.back` ...), the
scanner's hints and its find, the card read, the look-up's answer; state out:
:class:`StatusLookupState`. A typed number whose check digit is wrong is refused on the spot, before
any network call. Only the latest question's answer is shown: asking again, or leaving, drops an
earlier one still on its way.

What was looked up (how, and the state it had; never the ID number) goes into
``artifacts["status_lookup"]``, so it leaves with the session's wipe.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from kiosk.steps.backend_step import Runner
from kiosk.steps.status import ManualEntry, StatusView, look_up, look_up_holder, look_up_number

log = logging.getLogger(__name__)

SCAN, TYPE, BUSY, RESULT = "scan", "type", "busy", "result"
MODES = (SCAN, TYPE, BUSY, RESULT)
BY_ID, BY_NUMBER, BY_HOLDER = "id", "number", "holder"  # what a look-up asks by
HINT_SHOW = "status.scan.show"
BACKSPACE = "⌫"


class Scanner(Protocol):
    """A running QR scan (:class:`~kiosk.steps.status_scan.QrScanner`)."""

    def start(self) -> None: ...

    def stop(self, join_s: float = ...) -> None: ...


# (on_hint, on_found) -> a scanner not started yet; the screen adds its live preview
ScannerFactory = Callable[[Callable[[str], None], Callable[[str], None]], Scanner]


class DemoCamera(Protocol):
    """The simulated camera's handle: hold an image up to the lens, or put it down (None)."""

    def hold_up(self, image: Any) -> None: ...


class StatusQueue(Protocol):
    """The request queue as the look-up uses it: signed clients and this kiosk's outbox."""

    def new_client(self) -> Any: ...

    @property
    def outbox(self) -> Any: ...


@dataclass(frozen=True)
class StatusLookupState:
    """What the look-up screen shows; ``*_key`` are message keys (empty: nothing to show)."""

    mode: str = SCAN
    hint_key: str = ""
    typed: str = ""  # the keypad's display, grouped in fours as the receipt prints it
    entry_problem_key: str = ""
    view: StatusView | None = None  # the result shown (mode ``result``)
    card_ok: bool = False  # an ID card reader is there: "or lay your ID card on the reader"

    @property
    def wants_next(self) -> bool:
        """The step screen's "next" button checks the typed number."""
        return self.mode == TYPE

    @property
    def main_action(self) -> str:
        """What the action bar's main button does: ``check`` the typed number, ``finish`` once a
        result is shown (完成, the way forward), or nothing (scanning, asking the backend)."""
        return {TYPE: "check", RESULT: "finish"}.get(self.mode, "")

    @property
    def result_state(self) -> str:
        return self.view.state if self.view is not None else ""

    @property
    def can_try_again(self) -> bool:
        """The result offers a way forward: ask again (the backend was away)."""
        return self.result_state == "offline"


def result_rows(
    view: StatusView, tr: Callable[[str], str], service_title: Callable[[str], str]
) -> list[tuple[str, str]]:
    """The result's (label, value) rows: the 受理号 grouped in fours, then what the backend said;
    for a card holder's list one row per request (受理号: service, date, status)."""
    if view.items:
        return [
            (
                item.shown_number or tr("status.label.no_number"),
                f"{service_title(item.request_type)}，{item.received_at}，{tr(f'status.state.{item.state}')}",
            )
            for item in view.items
        ]
    rows = [(tr("status.label.number"), view.shown_number)] if view.shown_number else []
    if view.request_type:
        rows.append((tr("status.label.service"), service_title(view.request_type)))
    if view.received_at:
        rows.append((tr("status.label.received_at"), view.received_at))
    if view.updated_at and view.updated_at != view.received_at:
        rows.append((tr("status.label.updated_at"), view.updated_at))
    if view.reason:
        rows.append((tr("status.label.reason"), view.reason))
    return rows


class StatusLookup:
    """One status look-up step of one visit."""

    def __init__(
        self,
        artifacts: dict[str, Any],
        *,
        queue: Callable[[], StatusQueue | None],
        tasks: Runner,
        camera_ok: bool,
        card_ok: bool = False,
        scanners: ScannerFactory | None = None,
        demo_camera: DemoCamera | None = None,
        receipt_frame: Callable[[str], Any] | None = None,
        on_change: Callable[[StatusLookupState], None] | None = None,
    ) -> None:
        self.artifacts = artifacts
        self._queue = queue
        self._tasks = tasks
        self.camera_ok = camera_ok and scanners is not None
        self._scanners = scanners
        self.demo_camera = demo_camera  # a simulated camera: the demo holds up a receipt
        self._receipt_frame = receipt_frame  # the status link -> a camera frame of its receipt
        self._on_change = on_change
        self.entry = ManualEntry()
        self.scanner: Scanner | None = None
        self.held_up = False
        self.left = False
        self._asking = 0  # which look-up the screen waits for (a later one, or none, wins)
        self._last: tuple[str, str] | None = None  # (what was asked, by what) for "retry"
        self.state = StatusLookupState(typed=self.entry.display(), card_ok=card_ok)

    @property
    def demo(self) -> bool:
        return self.camera_ok and self.demo_camera is not None and self._receipt_frame is not None

    def _set(self, **changes: Any) -> None:
        self.state = replace(self.state, **changes)
        if self._on_change is not None:
            self._on_change(self.state)

    # -- opening, scanning ---------------------------------------------------------------------------
    def open(self) -> None:
        """The step is on screen: scan when the camera can, else type."""
        if not self.left:
            self.start_scan() if self.camera_ok else self.show_keypad()

    def start_scan(self) -> None:
        if self.left or not self.camera_ok or self._scanners is None:
            return
        self.stop_scan()
        self._set(mode=SCAN, hint_key=HINT_SHOW)
        self.scanner = self._scanners(self.hint, self.found)
        self.scanner.start()

    def stop_scan(self) -> None:
        scanner, self.scanner = self.scanner, None
        if scanner is not None:
            scanner.stop(join_s=0)  # the thread ends within one frame wait; never block the UI on it
        if self.held_up and self.demo_camera is not None:
            self.demo_camera.hold_up(None)
            self.held_up = False

    def hint(self, key: str) -> None:
        """The scanner's advice changed (no code seen, not a receipt, no frames)."""
        if not self.left:
            self._set(hint_key=key)

    def found(self, request_id: str) -> None:
        """The scanner read a receipt's code."""
        if self.left or self.state.mode != SCAN:
            return
        self.stop_scan()
        self.ask(request_id, via="scan")

    def card_read(self, id_number: str) -> None:
        """An ID card was read on the reader while the look-up waits for a receipt or a number:
        list that holder's own requests. Ignored while asking or showing a result."""
        if self.left or self.state.mode not in (SCAN, TYPE) or not id_number:
            return
        self.stop_scan()
        self.ask(id_number, via="card", by=BY_HOLDER)

    def hold_up_receipt(self) -> None:
        """Demo (simulated camera): hold the newest request's receipt (or a made-up one) up to the lens."""
        camera, frame_of = self.demo_camera, self._receipt_frame
        if self.left or not self.demo or camera is None or frame_of is None:
            return
        queue = self._queue()

        def hold_up() -> None:
            from contract.ids import uuid7

            latest = queue.outbox.latest_id() if queue is not None else None
            camera.hold_up(frame_of(latest or str(uuid7())))

        self.held_up = True
        self._tasks.run(hold_up, lambda _none: None, self._not_held_up, name="demo-receipt")

    def _not_held_up(self, exc: Exception) -> None:
        log.warning("demo receipt not held up: %s", exc)
        self.held_up = False

    # -- typing --------------------------------------------------------------------------------------
    def show_keypad(self) -> None:
        if self.left:
            return
        self.stop_scan()
        self._set(mode=TYPE)

    def press(self, key: str) -> None:
        """A keypad key: a digit 0-9, or ``⌫``."""
        if key == BACKSPACE:
            self.entry.backspace()
        else:
            self.entry.press(key)
        self._typed_changed()

    def clear(self) -> None:
        self.entry.clear()
        self._typed_changed()

    def _typed_changed(self, **changes: Any) -> None:
        self._set(typed=self.entry.display(), entry_problem_key="", **changes)

    def check(self) -> None:
        """The "next" button while typing: ask for the typed 受理号, or say what is wrong with it
        (too few digits, a wrong check digit) without asking anyone."""
        problem = self.entry.problem()
        if problem:
            self._set(entry_problem_key=problem)
        elif self.entry.number is not None:
            self.ask(self.entry.number, via="typed", by=BY_NUMBER)

    # -- asking the backend --------------------------------------------------------------------------
    def ask(self, key: str, *, via: str, by: str = BY_ID) -> None:
        """Look a request up off the UI thread: ``key`` is a request id (the QR, ``by`` id), an
        acceptance number (``by`` number) or a card's ID number (``by`` holder)."""
        if self.left:
            return
        self._last = (key, by)
        self._asking += 1
        asking = self._asking
        self.artifacts["status_lookup"] = {"via": via}
        self._set(mode=BUSY)
        queue = self._queue()

        request_id = key if by == BY_ID else ""

        def run() -> StatusView:
            if queue is None:
                return StatusView("offline", request_id, detail="request queue not started")
            client = queue.new_client()
            try:
                if by == BY_HOLDER:
                    return look_up_holder(client, key)
                if by == BY_NUMBER:
                    return look_up_number(client, key, held_here=queue.outbox.record_by_number)
                return look_up(client, key, held_here=queue.outbox.record)
            finally:
                client.close()

        def failed(exc: Exception) -> None:  # look_up turns expected failures into values already
            log.error("status look-up failed unexpectedly: %s", type(exc).__name__)
            self._answered(StatusView("offline", request_id, detail=type(exc).__name__), asking)

        self._tasks.run(run, lambda view: self._answered(view, asking), failed, name="status-lookup")

    def _answered(self, view: StatusView, asking: int) -> None:
        if not self.left and asking == self._asking:  # else the resident left or asked something else
            self.show(view)

    def show(self, view: StatusView) -> None:
        """Show a look-up's result (also what the screenshot tour calls)."""
        if view.state == "offline":
            log.warning("status look-up: backend unavailable: %s", view.detail)
        else:
            log.info("status look-up: %s (%s)", view.state, view.shown_number or f"{len(view.items)} listed")
        self.artifacts.setdefault("status_lookup", {})["state"] = view.state
        self._set(mode=RESULT, view=view)

    def retry(self) -> None:
        if self._last is not None:
            key, by = self._last
            self.ask(key, via="retry", by=by)

    def next_try(self) -> None:
        """The result's way forward: ask again (the backend was away)."""
        if self.state.result_state == "offline":
            self.retry()

    def again(self) -> None:
        """Check another number: back to scanning (or typing), nothing of this one kept on screen."""
        self._asking += 1
        self._last = None  # an ID number is kept no longer than its answer is shown
        self.entry.clear()
        self._set(view=None, typed=self.entry.display(), entry_problem_key="")
        self.start_scan() if self.camera_ok else self.show_keypad()

    def back(self) -> bool:
        """Back inside the step first (result -> entry, keypad -> camera). False from the start of
        the look-up: the step leaves (home)."""
        if self.state.mode in (RESULT, BUSY):
            self.again()
        elif self.state.mode == TYPE and self.camera_ok:
            self.start_scan()
        else:
            return False
        return True

    def leave(self) -> None:
        """The step is going: stop scanning, drop any answer still on its way."""
        self.left = True
        self._asking += 1
        self._last = None
        self._tasks.cancel()
        self.stop_scan()
