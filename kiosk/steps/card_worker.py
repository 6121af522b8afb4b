"""``CardReaderWorker``: the thread that owns the card reader and tells the UI what happens.

It polls for a card every ``poll_interval_s``, and sends events to listeners through ``post`` (the
app wraps Kivy's ``Clock.schedule_once``; tests pass ``lambda fn: fn()``), so listeners always run
on the UI thread and never block on the reader:

- :class:`ReaderStatus` ``starting`` / ``ready`` / ``disconnected`` / ``fault`` / ``stopped``;
- :class:`CardPlaced` and :class:`CardRemoved` as the card comes and goes;
- :class:`CardRead` (with the reasons the card is refused, if any) or :class:`ReadFailed` (a reason
  code and a resident-facing message key) -- only while a screen has asked for a card with
  :meth:`request_read`, and once per placement.

When the reader goes away (unplugged, powered off, silent) the worker closes it, reports
``disconnected`` and reopens it with exponential backoff until it answers again.

:func:`step_after` folds these events into the read-ID screen's :class:`StepState` (waiting,
reading, done with the identity masked, refused, failed with retry, reader down), so the screen
only draws a state and calls :meth:`CardReaderWorker.request_read` on entry and on "retry".
"""

from __future__ import annotations

import datetime as dt
import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from drivers.base import Health
from drivers.errors import DeviceDisconnected, DeviceError, DeviceNotFound, DeviceTimeout, ProtocolError
from drivers.idcard.base import CardReader, CardReaderError, IdCard, Presence, SamError
from kiosk.devices.counters import counters_for
from kiosk.services.idnumber import Refusal, check_card
from kiosk.visit.privacy import mask_id_number, mask_name

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]


@dataclass(frozen=True)
class ReaderStatus:
    status: str  # starting | ready | disconnected | fault | stopped
    detail: str = ""  # technician's text (port, cause); never personal data


@dataclass(frozen=True)
class CardPlaced:
    pass


@dataclass(frozen=True)
class CardRemoved:
    pass


@dataclass(frozen=True)
class CardRead:
    card: IdCard
    refusals: tuple[Refusal, ...] = ()  # empty: the card may be used
    read_ms: float = 0.0  # find + select + read, as the worker timed it
    status_word: str = ""  # the reader's last SW1 SW2 SW3, hex (technicians' card-read test)

    @property
    def accepted(self) -> bool:
        return not self.refusals


@dataclass(frozen=True)
class ReadFailed:
    reason: str  # card_removed | read_failed | unknown_card | communication | reader_fault | disconnected
    #              | card_left (the card on the reader was read for an earlier visit)
    message_key: str  # config/messages/idcard.toml
    detail: str = ""


CardEvent = ReaderStatus | CardPlaced | CardRemoved | CardRead | ReadFailed
Listener = Callable[[CardEvent], None]


def failure_of(exc: DeviceError) -> ReadFailed:
    """The event for a failed read: what the resident is told, and the technician's detail."""
    if isinstance(exc, SamError):
        reason = "reader_fault"
    elif isinstance(exc, CardReaderError):
        reason = "unknown_card" if exc.reason == "unknown_card_type" else "read_failed"
    elif isinstance(exc, DeviceDisconnected | DeviceNotFound):
        reason = "disconnected"
    elif isinstance(exc, ProtocolError | DeviceTimeout):
        reason = "communication"
    else:
        reason = "reader_fault"
    return ReadFailed(reason, f"idcard.error.{reason}", str(exc))


class CardReaderWorker:
    """Runs ``reader`` in its own thread. ``start`` once; ``stop`` joins within about a second."""

    def __init__(
        self,
        reader: CardReader,
        post: Post,
        *,
        poll_interval_s: float = 0.3,
        backoff_s: tuple[float, float] = (0.5, 5.0),
        removal_polls: int = 2,
        fingerprint: bool = False,
        today: Callable[[], dt.date] = dt.date.today,
    ) -> None:
        self._reader, self._post = reader, post
        self.poll_interval_s, self.backoff_s = poll_interval_s, backoff_s
        self._removal_polls, self._fingerprint, self._today = max(1, removal_polls), fingerprint, today
        self._listeners: list[Listener] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._armed = False  # a screen wants a card
        self._attempted = False  # a read was tried for the card now on the reader
        self._present = False
        self._misses = 0
        self._owner: str | None = None  # who asked for the read now armed (a session id)
        self._read_for: str | None = None  # whose read the card lying on the reader served
        self.status = ReaderStatus("starting")

    # -- the UI side ------------------------------------------------------------------------
    def subscribe(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener(event)`` on the UI thread for every event; returns the unsubscribe function."""
        with self._lock:
            self._listeners.append(listener)

        def unsubscribe() -> None:
            with self._lock:
                if listener in self._listeners:
                    self._listeners.remove(listener)

        return unsubscribe

    def request_read(self, owner: str | None = None) -> None:
        """A screen wants a card: read the one on the reader now (even if read before), else the next.

        With ``owner`` (the visit's session id), a card still lying on the reader since it was read
        for another owner is not read again: a ``ReadFailed("card_left")`` asks for it to be taken
        away (the previous visitor's card must not become the next visitor's identity); once it is
        lifted, the next card placed is read. Without ``owner`` (technicians' card test) any card is.
        """
        with self._lock:
            self._armed, self._attempted, self._owner = True, False, owner
        self._wake.set()

    def cancel_read(self) -> None:
        """The screen is no longer interested (left the step, session wiped)."""
        with self._lock:
            self._armed = False

    @property
    def card_present(self) -> bool:
        return self._present

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="card-reader", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 1.0) -> None:
        """Stop polling and close the reader (aborting a command in flight); joins the thread."""
        self._stop.set()
        self._wake.set()
        self._reader.close()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                log.warning("card reader thread did not stop within %.1f s", timeout)

    # -- the worker thread ------------------------------------------------------------------
    def _emit(self, event: CardEvent) -> None:
        def deliver() -> None:
            with self._lock:
                listeners = list(self._listeners)
            for listener in listeners:
                listener(event)

        self._post(deliver)

    def _set_status(self, status: str, detail: str = "") -> None:
        if status in ("disconnected", "fault") and status != self.status.status:
            counters_for(self._reader).error(detail)  # the dashboard's errors and last cause
        if status != self.status.status or detail != self.status.detail:
            self.status = ReaderStatus(status, detail)
            self._emit(self.status)

    def _run(self) -> None:
        backoff = self.backoff_s[0]
        connected = self._reader.health().state is Health.OK  # opened by the device factory already
        if connected:
            self._set_status("ready", self._reader.port)
        while not self._stop.is_set():
            if not connected:
                try:
                    self._reader.open()
                except DeviceError as exc:
                    if self._stop.is_set():
                        break
                    self._set_status("fault" if isinstance(exc, SamError) else "disconnected", str(exc))
                    self._stop.wait(backoff)
                    backoff = min(backoff * 2, self.backoff_s[1])
                    continue
                connected, backoff = True, self.backoff_s[0]
                self._set_status("ready", self._reader.port)
            try:
                self._poll()
            except DeviceError as exc:
                if self._stop.is_set():
                    break
                log.info("card reader lost: %s", exc)
                connected = False
                self._reader.close()
                self._set_presence(False, immediate=True)
                self._set_status("fault" if isinstance(exc, SamError) else "disconnected", str(exc))
                continue
            self._wake.wait(self.poll_interval_s)
            self._wake.clear()
        self._reader.close()
        self._set_status("stopped")

    def _set_presence(self, present: bool, *, immediate: bool = False) -> None:
        if present:
            self._misses = 0
            if not self._present:
                self._present = True
                with self._lock:
                    self._attempted = False  # a new placement: read once more if wanted
                    self._read_for = None  # a card laid down now belongs to nobody's visit yet
                self._emit(CardPlaced())
            return
        self._misses += 1
        if self._present and (immediate or self._misses >= self._removal_polls):
            self._present = False
            with self._lock:
                self._read_for = None
            self._emit(CardRemoved())

    def _poll(self) -> None:
        self._set_presence(self._reader.find_card() is Presence.CARD)
        with self._lock:
            want = self._armed and self._present and not self._attempted
            if want:
                self._attempted = True
            left = want and self._owner is not None and self._read_for not in (None, self._owner)
        if left:
            log.info("a card read for an earlier visit still lies on the reader: asking to take it away")
            self._emit(ReadFailed("card_left", "idcard.error.card_left"))
        elif want:
            self._read()

    def _read(self) -> None:
        counters = counters_for(self._reader)
        started = time.monotonic()
        try:
            result = self._reader.read_card(fingerprint=self._fingerprint)
        except (DeviceDisconnected, DeviceNotFound) as exc:
            counters.error(str(exc))
            self._emit(failure_of(exc))
            raise
        except DeviceError as exc:
            log.info("card read failed: %s", exc)
            counters.error(str(exc))
            self._emit(failure_of(exc))
            return
        read_ms = (time.monotonic() - started) * 1000
        if result is Presence.NO_CARD or not isinstance(result, IdCard):
            self._emit(ReadFailed("card_removed", "idcard.error.card_removed"))
            return
        with self._lock:
            self._armed = False
            self._read_for = self._owner if self._owner is not None else "-"
        counters.count("reads")
        status_word = str(getattr(self._reader, "last_status", ""))
        self._emit(CardRead(result, tuple(check_card(result, self._today())), read_ms, status_word))


class StepPhase(enum.Enum):
    """What the read-ID screen shows."""

    WAITING = "waiting"  # the placement animation
    READING = "reading"  # progress; the card is on the reader
    DONE = "done"  # the identity, masked; the flow may go on
    REFUSED = "refused"  # read, but the card cannot be used (expired, invalid number)
    FAILED = "failed"  # a read failed: message and a retry button
    READER_DOWN = "reader_down"  # the reader is not there: ask staff


@dataclass(frozen=True)
class StepState:
    """The read-ID step's state as the screen draws it. ``values`` fill the message's placeholders."""

    phase: StepPhase
    message_key: str
    values: dict[str, str] = field(default_factory=dict)
    card: IdCard | None = None  # set in DONE (and REFUSED, for the technician's log: never shown)
    reasons: tuple[str, ...] = ()  # message keys of the refusals

    @property
    def can_retry(self) -> bool:
        return self.phase in (StepPhase.FAILED, StepPhase.REFUSED)


INITIAL_STEP = StepState(StepPhase.WAITING, "idcard.step.place")


def step_after(state: StepState, event: CardEvent) -> StepState:
    """The step's next state after a worker event (a pure function: the screen keeps the state)."""
    if isinstance(event, ReaderStatus):
        if event.status in ("disconnected", "fault", "stopped"):
            return StepState(StepPhase.READER_DOWN, "idcard.error.disconnected")
        if state.phase is StepPhase.READER_DOWN and event.status == "ready":
            return INITIAL_STEP
        return state
    if isinstance(event, CardPlaced):
        return (
            StepState(StepPhase.READING, "idcard.step.reading") if state.phase is StepPhase.WAITING else state
        )
    if isinstance(event, CardRemoved):
        return INITIAL_STEP if state.phase in (StepPhase.READING, StepPhase.FAILED) else state
    if isinstance(event, ReadFailed):
        return StepState(StepPhase.FAILED, event.message_key)
    card = event.card
    if event.refusals:
        reasons = tuple(r.message_key for r in event.refusals)
        return StepState(StepPhase.REFUSED, reasons[0], card=card, reasons=reasons)
    values = {"name": mask_name(card.name or card.name_en), "id_number": mask_id_number(card.id_number)}
    return StepState(StepPhase.DONE, "idcard.step.read_ok", values, card=card)
