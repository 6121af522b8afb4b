"""The ID-card reader interface: the card read, the reader's tagged states, and its errors.

A reader answers three kinds of things:

- values for the expected states: :class:`Presence` (``card`` / ``no_card``) from a find, and
  ``Presence.NO_CARD`` from a read when the card went away before it started;
- an :class:`IdCard` for a successful read (every field of the four card layouts, the photo as the
  undecoded WLT bytes);
- errors (below) when the card, the reader's SAM module or the serial line fails.

Errors (all :class:`drivers.errors.DeviceError`)::

    DeviceError
    ├── DeviceNotFound / DevicePermissionDenied / DeviceDisconnected / DeviceTimeout
    ├── ProtocolError
    │   ├── FrameError           a reply frame is malformed (bad length, no preamble in time)
    │   │   └── ChecksumError    a reply frame's XOR checksum is wrong
    │   └── CardDataError        the card's text block cannot be decoded (bad date, unknown sex code)
    └── CardReaderError          the reader answered with an SW3 status that is not success
        ├── CardReadFailed       the card could not be read (moved, dirty, authentication failed)
        └── SamError             the reader's SAM module failed (self-test, not authorised)

``CardReaderError.reason`` is a stable word (``read_failed``, ``sam_self_test`` ...) that screens map
to message keys and the CLI prints.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass
from typing import Protocol

from drivers.base import DeviceHealth
from drivers.errors import DeviceError, ProtocolError


class CardType(enum.Enum):
    """The four card layouts a GA/T 467 reader returns (the JSON ``card_type`` values)."""

    RESIDENT = "resident"
    HMT_RESIDENCE = "hmt_residence"  # Hong Kong / Macau / Taiwan residence permit ('J')
    FOREIGN_PERMANENT = "foreign_permanent"  # foreign permanent resident card, 2017 ('I')
    FOREIGN_PERMANENT_2023 = "foreign_permanent_2023"  # foreign permanent resident card, 2023 ('Y')


class Presence(enum.Enum):
    """Whether a card is on the reader: an expected state, never an exception."""

    CARD = "card"
    NO_CARD = "no_card"


@dataclass(frozen=True)
class IdCard:
    """One card as read. Personal fields are left out of ``repr`` so a stray log line leaks nothing.

    ``valid_to`` is ``None`` for a long-term (长期) card; ``birth_date``/``valid_from`` are always dates.
    Fields a layout does not have are empty strings. ``photo_wlt`` is the card's 1024-byte encrypted
    WLT photo exactly as read; ``photo_bmp`` is only set when a site's licensed decoder produced it.
    """

    card_type: CardType
    name: str = ""
    sex: str = ""  # 男 / 女 / 未知 / 未说明
    birth_date: dt.date = dt.date.min
    id_number: str = ""  # ID number, or the card number on foreign cards
    valid_from: dt.date = dt.date.min
    valid_to: dt.date | None = None  # None: long-term (长期)
    name_en: str = ""
    nation: str = ""  # name without 族 (resident cards only)
    nation_code: str = ""
    address: str = ""
    issuer: str = ""  # issuing authority; on 2017 foreign cards the issuing office code
    nationality: str = ""  # ISO 3166 alpha-3 (foreign cards)
    pass_number: str = ""  # HMT permits: the Home Return / Taiwan compatriot permit number
    issue_count: str = ""  # HMT permits
    renewal_count: str = ""  # 2023 foreign cards
    card_version: str = ""  # 2017 foreign cards
    previous_card: str = ""  # 2023 foreign cards: link to the previous card number
    extra_address: str = ""  # the additional (new) address, when the card has one
    photo_wlt: bytes = b""
    fingerprint: bytes = b""
    photo_bmp: bytes | None = None

    def __repr__(self) -> str:
        photo = len(self.photo_wlt)
        return f"IdCard(card_type={self.card_type.value}, long_term={self.valid_to is None}, photo={photo}B)"

    @property
    def long_term(self) -> bool:
        return self.valid_to is None


class FrameError(ProtocolError):
    """A reply frame is malformed: implausible length, or no preamble before the deadline."""


class ChecksumError(FrameError):
    """A reply frame arrived whole but its XOR checksum does not match (line noise)."""


class CardDataError(ProtocolError):
    """The card's text block does not decode (a field is not what its layout says)."""


class CardReaderError(DeviceError):
    """The reader answered with a non-success SW3 status. ``reason`` is a stable word."""

    def __init__(self, message: str, *, sw3: int, reason: str, device: str = "", port: str = "") -> None:
        super().__init__(message, device=device, port=port)
        self.sw3 = sw3
        self.reason = reason


class CardReadFailed(CardReaderError):
    """The card could not be read: the resident should place it again (or use another card)."""


class SamError(CardReaderError):
    """The reader's security module failed: a technician must look at the reader."""


class CardReader(Protocol):
    """A connected card reader. Every method blocks for at most its own timeout."""

    simulated: bool
    port: str

    def open(self) -> None:
        """(Re)open the port and check the SAM module answers. Raises DeviceError."""
        ...

    def find_card(self) -> Presence:
        """Whether a card is on the reader now."""
        ...

    def read_card(self, *, fingerprint: bool = False) -> IdCard | Presence:
        """find, select, read (and the additional address); ``Presence.NO_CARD`` if no card is there."""
        ...

    def sam_id(self) -> str:
        """The SAM module's id, for technicians."""
        ...

    def health(self) -> DeviceHealth: ...

    def close(self) -> None: ...
