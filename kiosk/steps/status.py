"""Request status look-up (办理进度查询): what a receipt carries, and what the backend says about it.

A receipt prints the request's acceptance number (受理号, ``contract/ids.py``: 12 digits grouped in
fours) and a QR code holding ``kiosk.status_base_url + request_id`` (the backend's public
``/status/{id}`` page; the UUIDv7 stays inside the code, never on paper or screen). A resident holds
that QR up to the camera, types the 受理号 on a digit pad (its Damm check digit catches a mistyped
digit or two swapped neighbours before the backend is asked: ``GET /v1/requests/by-number/{n}``),
or lays the ID card on the reader: the backend lists that holder's own requests, masked
(``POST /v1/requests/by-holder``).

The answer (status, reason, request type, times, acceptance number; no personal data) is turned
into a :class:`StatusView` the screen shows in plain words. An unreachable backend is a value
(``offline``), never an exception on the screen. A request the backend has not seen yet but this
kiosk still holds in its outbox is ``queued_here``: submitted, on its way.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

from contract.ids import NUMBER_DIGITS, group_number, is_acceptance_number
from kiosk.errors import BackendRejected, BackendUnavailable

log = logging.getLogger(__name__)

ID_DIGITS = 32
GROUPS = (8, 4, 4, 4, 12)  # a UUID's groups: 8-4-4-4-12
DIGITS = "0123456789"
_UUID_RE = re.compile(r"^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$")
_STATUS_PATH_RE = re.compile(r"/status/([0-9A-Fa-f-]{32,36})/?$")

# what the backend's status values mean for a resident (message keys under ``status.state``)
BACKEND_STATES = ("received", "in_progress", "done", "rejected")
# holder_list: the card holder's requests; holder_none: the backend knows none for this card
STATES = (*BACKEND_STATES, "queued_here", "unknown", "offline", "holder_list", "holder_none")


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


class ManualEntry:
    """What a resident types on the digit pad: the 12-digit acceptance number, shown grouped in
    fours as it is typed (as the receipt prints it)."""

    size = NUMBER_DIGITS

    def __init__(self) -> None:
        self.digits = ""

    def press(self, key: str) -> bool:
        """Add one digit; False when full or not a digit 0-9."""
        if len(key) != 1 or key not in DIGITS or len(self.digits) >= self.size:
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
        """``6335 04__ ____``: typed digits, the rest placeholders, in groups of four."""
        return group_number(self.digits + placeholder * (self.size - len(self.digits)))

    def problem(self) -> str:
        """A message key when the typed digits cannot be a 受理号 (too few, wrong check digit), or ``""``."""
        if not self.complete:
            return "status.entry.incomplete"
        if not is_acceptance_number(self.digits):
            return "status.entry.check_failed"
        return ""

    @property
    def number(self) -> str | None:
        """The acceptance number typed, once complete and its check digit right."""
        return self.digits if not self.problem() else None


@dataclass(frozen=True)
class HolderItem:
    """One of a card holder's requests as the kiosk lists it: nothing but what the backend masked."""

    number: str  # the acceptance number ("" for a request from before it existed)
    request_type: str
    state: str  # one of BACKEND_STATES
    received_at: str  # YYYY-MM-DD HH:MM, local time

    @property
    def shown_number(self) -> str:
        return group_number(self.number) if self.number else ""


@dataclass(frozen=True)
class StatusView:
    """What the result screen shows; ``state`` is one of :data:`STATES`."""

    state: str
    request_id: str  # the UUIDv7 asked about (the QR), or ""; never shown
    request_type: str = ""
    received_at: str = ""  # YYYY-MM-DD HH:MM, local time
    updated_at: str = ""
    reason: str = ""  # the officer's reason for a rejection (no personal data by policy)
    detail: str = ""  # for technicians' logs only
    number: str = ""  # the acceptance number (受理号), 12 digits, when known
    items: tuple[HolderItem, ...] = ()  # holder_list: the card holder's requests, newest first

    @property
    def shown_number(self) -> str:
        """The 受理号 grouped in fours, or ``""`` (a request from before it existed shows none)."""
        return group_number(self.number) if self.number else ""


class StatusClient(Protocol):
    def request_status(self, request_id: str) -> dict[str, Any] | None: ...

    def request_by_number(self, number: str) -> dict[str, Any] | None: ...

    def requests_by_holder(self, id_number: str) -> list[dict[str, Any]]: ...


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
    number = answer.get("acceptance_number")
    return StatusView(
        state,
        request_id,
        number=number if isinstance(number, str) and is_acceptance_number(number) else "",
        request_type=str(answer.get("request_type", "")),
        received_at=_local_time(answer.get("received_at")),
        updated_at=_local_time(answer.get("updated_at")),
        reason=str(answer.get("reason") or "") if state == "rejected" else "",
        detail="" if state == status else f"backend status {status!r}",
    )


HeldHere = Callable[[str], Mapping[str, Any] | None]


def _ask(ask: Callable[[], Any], what: str) -> tuple[Any, StatusView | None]:
    """``ask()``'s answer, or the ``offline`` view an expected failure reads as."""
    try:
        return ask(), None
    except BackendUnavailable as exc:
        return None, StatusView("offline", "", detail=str(exc))
    except BackendRejected as exc:  # a refused signature or similar: the resident can only retry later
        log.error("status look-up %s refused by the backend: %s", what, exc)
        return None, StatusView("offline", "", detail=str(exc))


def _not_at_backend(request_id: str, number: str, record: Mapping[str, Any] | None) -> StatusView:
    if record is not None and record.get("status") == "pending":
        held_number = record.get("number")
        return StatusView(
            "queued_here",
            request_id or str(record.get("request_id", "")),
            number=held_number if isinstance(held_number, str) else number,
            request_type=str(record.get("request_type", "")),
        )
    return StatusView("unknown", request_id, number=number)


def look_up(client: StatusClient, request_id: str, *, held_here: HeldHere | None = None) -> StatusView:
    """Ask the backend about a request id (the receipt's QR; blocking: call from a worker thread).
    Never raises for expected failures.

    ``held_here`` is the kiosk outbox's ``record``: a request the backend does not know yet but
    this kiosk still holds (pending delivery) is reported as ``queued_here`` rather than unknown."""
    answer, failed = _ask(lambda: client.request_status(request_id), "by id")
    if failed is not None:
        return replace(failed, request_id=request_id)
    if answer is not None:
        return view_from_answer(request_id, answer)
    return _not_at_backend(request_id, "", held_here(request_id) if held_here is not None else None)


def look_up_number(client: StatusClient, number: str, *, held_here: HeldHere | None = None) -> StatusView:
    """Like :func:`look_up` for a typed acceptance number (already checked: :class:`ManualEntry`);
    ``held_here`` is the outbox's ``record_by_number``."""
    answer, failed = _ask(lambda: client.request_by_number(number), "by number")
    if failed is not None:
        return replace(failed, number=number)
    if answer is not None:
        return replace(view_from_answer(str(answer.get("request_id", "")), answer), number=number)
    return _not_at_backend("", number, held_here(number) if held_here is not None else None)


def look_up_holder(client: StatusClient, id_number: str) -> StatusView:
    """The requests of the card holder whose card was just read: ``holder_list`` (newest first) or
    ``holder_none``. The ID number goes to the backend only; nothing of it is kept in the view."""
    found, failed = _ask(lambda: client.requests_by_holder(id_number), "by card")
    if failed is not None:
        return failed
    items = tuple(
        HolderItem(
            number=str(item.get("acceptance_number") or ""),
            request_type=str(item.get("request_type", "")),
            state=str(item.get("status")) if item.get("status") in BACKEND_STATES else "received",
            received_at=_local_time(item.get("received_at")),
        )
        for item in found
        if isinstance(item, Mapping)
    )
    return StatusView("holder_list", "", items=items) if items else StatusView("holder_none", "")
