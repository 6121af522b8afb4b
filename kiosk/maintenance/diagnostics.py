"""What the maintenance pages show, computed without Kivy: one row per device (status, port, driver,
counters, last error with its cause), the card-read test's masked result, the queue view.

Everything here may block briefly (a printer's status answer, an SQLite read): the screens call it
from a worker thread and draw the result on the UI thread.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from drivers.base import DeviceHealth, Health
from kiosk.devices import NOT_INSTALLED
from kiosk.devices.counters import CounterSnapshot, counters_for
from kiosk.visit.privacy import mask_id_number, mask_name

if TYPE_CHECKING:
    from kiosk.queue.outbox import DeadLetter, QueueStatus
    from kiosk.runtime import Runtime
    from kiosk.steps.card_worker import CardRead, ReadFailed

# the option that names where a device is attached, per driver option model
_PORT_OPTIONS = ("port", "usb_vid_pid", "uri", "device", "queue", "folder")


@dataclass(frozen=True)
class DeviceRow:
    role: str
    driver: str
    port: str
    health: DeviceHealth
    counters: CounterSnapshot
    required: bool

    def lines(self) -> list[str]:
        """The technician's text for this device (the dashboard prints it in a monospace font)."""
        c = self.counters
        h = self.health
        head = f"{self.role:<11} {h.state.value:<8} {h.code}"
        out = [head, f"  driver {self.driver}   port {self.port or '-'}"]
        if h.detail:
            out.append(f"  status {h.detail}")
        out.append(f"  reads {c.reads}   prints {c.prints}   frames {c.frames}   errors {c.errors}")
        if c.last_error:
            when = time.strftime("%H:%M:%S", time.localtime(c.last_error_at)) if c.last_error_at else ""
            out.append(f"  last error {when} {c.last_error}".rstrip())
        return out


def port_of(section_options: dict[str, Any], device: Any) -> str:
    """Where the device is attached: the port it really opened, else what the config names."""
    reader = getattr(device, "reader", None)
    actual = getattr(reader, "port", "") if reader is not None else ""
    if actual:
        return str(actual)
    for key in _PORT_OPTIONS:
        value = section_options.get(key)
        if value not in (None, ""):
            return str(value)
    return ""


def _counters(device: Any) -> CounterSnapshot:
    """The device's counters; cameras count frames and faults themselves (drivers know no kiosk)."""
    target = getattr(device, "reader", device)  # the card reader's counters live on its driver
    snap = counters_for(target).snapshot()
    latest = getattr(device, "latest", None)
    if callable(latest):
        frame = latest()
        faults = int(getattr(device, "faults", 0))
        last = str(getattr(device, "last_fault", ""))
        return CounterSnapshot(
            snap.reads,
            snap.prints,
            frame.seq if frame is not None else 0,
            snap.errors + faults,
            last or snap.last_error,
            snap.last_error_at,
        )
    return snap


def device_rows(runtime: Runtime) -> list[DeviceRow]:
    """One row per configured device role (blocking: printers answer a status request)."""
    rows = []
    for role, section in runtime.config.devices.items():
        device = runtime.devices.get(role)
        if section.driver == NOT_INSTALLED:
            health = DeviceHealth(Health.UNKNOWN, "not_installed")
        else:
            health = runtime.device_health(role) or DeviceHealth(Health.UNKNOWN, "not_opened")
        counters = _counters(device) if device is not None else CounterSnapshot()
        if device is None and role in runtime.failures:
            failure = runtime.failures[role]
            counters = CounterSnapshot(errors=1, last_error=f"{failure.code}: {failure.detail}")
        rows.append(
            DeviceRow(
                role,
                section.driver,
                port_of(dict(section.options), device),
                health,
                counters,
                section.required,
            )
        )
    return rows


CARD_TYPES = {
    "resident": "居民身份证 resident ID card",
    "hmt_residence": "港澳台居民居住证 HMT residence permit",
    "foreign_permanent": "外国人永久居留身份证 foreign permanent resident (2017)",
    "foreign_permanent_2023": "外国人永久居留身份证 foreign permanent resident (2023)",
}


def card_test_lines(event: CardRead | ReadFailed) -> list[str]:
    """The card-read test's result: the identity masked, the timing, the reader's status word;
    a failure or a refusal with its exact cause."""
    from kiosk.steps.card_worker import CardRead

    if not isinstance(event, CardRead):
        return [f"读卡失败 read failed: {event.reason}", f"  {event.detail or event.message_key}"]
    card = event.card
    lines = [
        f"姓名 name       {mask_name(card.name or card.name_en)}",
        f"证件号 number    {mask_id_number(card.id_number)}",
        f"类型 type       {CARD_TYPES.get(card.card_type.value, card.card_type.value)}",
        f"用时 read time  {event.read_ms:.0f} ms",
        f"状态字 status   {event.status_word or '-'}",
    ]
    if event.refusals:
        lines.append("拒绝 refused    " + ", ".join(r.code for r in event.refusals))
    else:
        lines.append("结果 result     可用 usable")
    return lines


@dataclass(frozen=True)
class QueueView:
    status: QueueStatus
    dead: list[DeadLetter]


def queue_lines(view: QueueView) -> list[str]:
    s = view.status
    age = "-" if s.oldest_pending_age_s is None else f"{s.oldest_pending_age_s:.0f} s"
    return [
        f"待发送 pending {s.pending}",
        f"最早 oldest {age}",
        f"已确认 acknowledged {s.acknowledged}",
        f"失败 dead {s.dead}",
        f"最近错误 last delivery error: {s.last_error or '-'}",
    ]


def dead_letter_text(dead: DeadLetter, excerpt: int = 160) -> str:
    """One dead letter: id, type, the backend's status code and the start of its answer."""
    body = " ".join(dead.answer.split())
    if len(body) > excerpt:
        body = body[: excerpt - 1] + "…"
    return f"#{dead.sequence} {dead.request_id}  {dead.request_type}\nHTTP {dead.http_status}  {body}"
