"""Request status look-up (办理进度查询): what a receipt carries, and what the backend says about it.

A receipt prints the request's own id (a UUIDv7, ``contract/ids.py``) in full and a QR code holding
``kiosk.status_base_url + request_id`` (the backend's public ``/status/{id}`` page). A resident
either holds that QR up to the camera or types on a hexadecimal keypad. Typing all 32 digits is
slow, so the keypad first asks only for the number's last group (12 hex digits, random bits of
the UUIDv7, printed on every receipt ever made): the backend resolves it (``GET
/v1/requests/by-tail/{tail}``) and says when two requests share it, then the whole number is
asked for. For the whole number the UUIDv7 layout doubles as a typing check: the 13th digit is
always ``7`` and the 17th one of ``8 9 a b``, so most slips are caught before the backend is asked.

The answer (``GET /v1/requests/{id}``: status, reason, request type, times; no personal data) is
turned into a :class:`StatusView` the screen shows in plain words. An unreachable backend is a value
(``offline``), never an exception on the screen. A request the backend has not seen yet but this
kiosk still holds in its outbox is ``queued_here``: submitted, on its way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from kiosk.errors import BackendRejected, BackendUnavailable

log = logging.getLogger(__name__)

ID_DIGITS = 32
TAIL_DIGITS = 12  # the last group of the printed number
GROUPS = (8, 4, 4, 4, 12)  # how a UUID is printed: 8-4-4-4-12
HEX = "0123456789abcdef"
_UUID_RE = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_STATUS_PATH_RE = re.compile(r"/status/([0-9A-Fa-f-]{32,36})/?$")

# what the backend's status values mean for a resident (message keys under ``status.state``)
BACKEND_STATES = ("received", "in_progress", "done", "rejected")
STATES = (*BACKEND_STATES, "queued_here", "unknown", "ambiguous", "offline")


def is_request_id(text: str) -> bool:
    """Whether ``text`` (canonical, lower case with dashes) is a UUIDv7 as the kiosk makes them."""
    return bool(_UUID_RE.match(text)) and len(text) == 36 and version_ok(text.replace("-", ""))


def version_ok(digits: str) -> bool:
    """The UUIDv7 markers in 32 hex digits: version 7, RFC 4122 variant."""
    return len(digits) == ID_DIGITS and digits[12] == "7" and digits[16] in "89ab"


def canonical(digits: str) -> str:
    """32 hex digits (any case, dashes or spaces allowed) -> ``xxxxxxxx-xxxx-7xxx-yxxx-xxxxxxxxxxxx``."""
    clean = re.sub(r"[\s-]", "", digits).lower()
    parts, start = [], 0
    for size in GROUPS:
        parts.append(clean[start : start + size])
        start += size
    return "-".join(parts)


def parse_qr(text: str) -> str | None:
    """The request id a scanned QR code stands for, or None if it is not a receipt's code.

    Accepted: the receipt's status link (``https://<host>/.../status/<id>``) and a bare id. Any
    other code (a payment QR, a web site, the certificate's signed QR) is not a receipt."""
    text = text.strip()
    candidate = ""
    if "://" in text:
        parts = urlsplit(text)
        match = _STATUS_PATH_RE.search(parts.path)
        if parts.scheme.lower() != "https" or match is None:
            return None
        candidate = match.group(1)
    elif _UUID_RE.match(text.lower()):
        candidate = text
    if not candidate:
        return None
    request_id = canonical(candidate)
    return request_id if is_request_id(request_id) else None


def mask_request_id(request_id: str) -> str:
    """Enough of the number to recognise the receipt, not enough to look it up again from a
    glance at the screen: ``0192F3A4-…-4A5B``."""
    digits = request_id.replace("-", "").upper()
    if len(digits) == ID_DIGITS:
        return f"{digits[:8]}-…-{digits[-4:]}"
    return f"…-{digits[-4:]}" if len(digits) == TAIL_DIGITS else "…"


class ManualEntry:
    """What a resident types on the hex keypad: the number's last group (12 digits) or, with
    ``full``, the whole number, shown grouped as the receipt prints it."""

    def __init__(self, *, full: bool = False) -> None:
        self.digits = ""
        self.full = full

    @property
    def size(self) -> int:
        return ID_DIGITS if self.full else TAIL_DIGITS

    def set_full(self, full: bool) -> None:
        """Switch between the last group and the whole number (what was typed is kept if it fits)."""
        self.full = full
        self.digits = self.digits[: self.size]

    def press(self, key: str) -> bool:
        """Add one hex digit; False when full or not a hex digit."""
        key = key.lower()
        if len(key) != 1 or key not in HEX or len(self.digits) >= self.size:
            return False
        self.digits += key
        return True

    def backspace(self) -> None:
        self.digits = self.digits[:-1]

    def clear(self) -> None:
        self.digits = ""

    @property
    def complete(self) -> bool:
        return len(self.digits) == self.size

    def display(self, placeholder: str = "_") -> str:
        """``0192F3A4-9B2C-7___-____-____________`` (whole number) or ``0A1B 2C3D 4E__`` (last
        group): typed digits upper case, the rest placeholders."""
        padded = self.digits.upper() + placeholder * (self.size - len(self.digits))
        if not self.full:
            return " ".join(padded[i : i + 4] for i in range(0, TAIL_DIGITS, 4))
        return canonical(padded.replace(placeholder, "\0")).replace("\0", placeholder).upper()

    def problem(self) -> str:
        """A message key when the typed digits cannot be looked up, else ``""``."""
        if not self.complete:
            return "status.entry.incomplete" if self.full else "status.entry.tail_incomplete"
        if self.full and not version_ok(self.digits):
            return "status.entry.not_a_number"
        return ""

    @property
    def request_id(self) -> str | None:
        """The whole number typed (full mode), once complete and plausible."""
        return canonical(self.digits) if self.full and self.complete and not self.problem() else None

    @property
    def tail(self) -> str | None:
        """The last group typed (short mode), once complete."""
        return self.digits if not self.full and self.complete else None


@dataclass(frozen=True)
class StatusView:
    """What the result screen shows; ``state`` is one of :data:`STATES`."""

    state: str
    request_id: str
    request_type: str = ""
    received_at: str = ""  # YYYY-MM-DD HH:MM, local time
    updated_at: str = ""
    reason: str = ""  # the officer's reason for a rejection (no personal data by policy)
    detail: str = ""  # for technicians' logs only

    @property
    def masked_number(self) -> str:
        return mask_request_id(self.request_id)


class StatusClient(Protocol):
    def request_status(self, request_id: str) -> dict[str, Any] | None: ...

    def requests_by_tail(self, tail: str) -> list[dict[str, Any]]: ...


def _local_time(stamp: object) -> str:
    if not isinstance(stamp, str) or not stamp:
        return ""
    try:
        moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return ""
    if moment.tzinfo is not None:
        moment = moment.astimezone()
    return moment.strftime("%Y-%m-%d %H:%M")


def view_from_answer(request_id: str, answer: Mapping[str, Any]) -> StatusView:
    """The backend's JSON status turned into a view; an unexpected status reads as 'received' plus
    the raw value for technicians (the request exists, that much is certain)."""
    status = str(answer.get("status", ""))
    state = status if status in BACKEND_STATES else "received"
    return StatusView(
        state,
        request_id,
        request_type=str(answer.get("request_type", "")),
        received_at=_local_time(answer.get("received_at")),
        updated_at=_local_time(answer.get("updated_at")),
        reason=str(answer.get("reason") or "") if state == "rejected" else "",
        detail="" if state == status else f"backend status {status!r}",
    )


def look_up(
    client: StatusClient,
    request_id: str,
    *,
    held_here: Callable[[str], Mapping[str, Any] | None] | None = None,
) -> StatusView:
    """Ask the backend (blocking: call from a worker thread). Never raises for expected failures.

    ``held_here`` is the kiosk outbox's ``record``: a request the backend does not know yet but
    this kiosk still holds (pending delivery) is reported as ``queued_here`` rather than unknown."""
    try:
        answer = client.request_status(request_id)
    except BackendUnavailable as exc:
        return StatusView("offline", request_id, detail=str(exc))
    except BackendRejected as exc:  # a refused signature or similar: the resident can only retry later
        log.error("status look-up refused by the backend: %s", exc)
        return StatusView("offline", request_id, detail=str(exc))
    if answer is not None:
        return view_from_answer(request_id, answer)
    record = held_here(request_id) if held_here is not None else None
    if record is not None and record.get("status") == "pending":
        return StatusView("queued_here", request_id, request_type=str(record.get("request_type", "")))
    return StatusView("unknown", request_id)


def look_up_tail(client: StatusClient, tail: str) -> StatusView:
    """Like :func:`look_up` for the number's last group: unknown, the one request ending in it, or
    ``ambiguous`` (two share it: the resident is asked for the whole number)."""
    shown = tail  # only the last group is known until the backend answers
    try:
        found = client.requests_by_tail(tail)
    except BackendUnavailable as exc:
        return StatusView("offline", shown, detail=str(exc))
    except BackendRejected as exc:
        log.error("status look-up by last group refused by the backend: %s", exc)
        return StatusView("offline", shown, detail=str(exc))
    if not found:
        return StatusView("unknown", shown)
    if len(found) > 1:
        return StatusView("ambiguous", shown, detail=f"{len(found)} requests end in {tail}")
    return view_from_answer(str(found[0].get("request_id", shown)), found[0])
