"""``kiosk-tech read-card --port PORT [--baud N] [--timeout S] [--json] [--reveal]``: read one card.

One find -> select -> read with the production driver, for technicians checking a reader (or the
simulator: ``kiosk-tech sim-card`` prints a port). Name and number are masked unless ``--reveal``.
``--json`` prints one object with the keys of issue #3 (``card_type``, ``name``, ``sex`` ...,
``photo_wlt_sha256``). On failure: exit 1 and one line on stderr naming the cause (no card,
checksum, timeout, port not found, permission denied, disconnected ...), never a traceback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drivers.errors import DeviceError
    from drivers.idcard.base import IdCard

BAUDS = (115200, 57600, 38400, 19200, 9600)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("read-card", help="read one ID card (find, select, read) and show it masked")
    cmd.add_argument("--port", required=True, help="serial port, e.g. /dev/ttyUSB0 or /dev/serial/by-id/...")
    cmd.add_argument("--baud", type=int, choices=BAUDS, default=115200, help="line speed (default 115200)")
    cmd.add_argument(
        "--timeout",
        type=float,
        default=2.0,
        metavar="S",
        help="seconds to wait for the read reply (default 2)",
    )
    cmd.add_argument("--json", action="store_true", help="print one JSON object")
    cmd.add_argument("--reveal", action="store_true", help="show name and numbers unmasked")
    cmd.set_defaults(func=run_read_card)


def cause_of(exc: DeviceError) -> str:
    """The short cause a technician sees first: what to check next."""
    from drivers.errors import (
        DeviceDisconnected,
        DeviceNotFound,
        DevicePermissionDenied,
        DeviceTimeout,
    )
    from drivers.idcard.base import CardDataError, CardReaderError, ChecksumError, FrameError

    if isinstance(exc, DeviceNotFound):
        return "port not found"
    if isinstance(exc, DevicePermissionDenied):
        return "permission denied"
    if isinstance(exc, DeviceDisconnected):
        return "disconnected"
    if isinstance(exc, DeviceTimeout):
        return "timeout"
    if isinstance(exc, ChecksumError):
        return "checksum"
    if isinstance(exc, FrameError):
        return "framing"
    if isinstance(exc, CardDataError):
        return "card data"
    if isinstance(exc, CardReaderError):
        return exc.reason.replace("_", " ")
    return "device error"


def card_json(card: IdCard, *, reveal: bool) -> dict[str, Any]:
    """The issue's JSON object for ``card``; name and numbers masked unless ``reveal``."""
    from drivers.idcard.base import CardType
    from kiosk.visit.privacy import mask_id_number, mask_name

    def name(value: str) -> str:
        return value if reveal else mask_name(value)

    def number(value: str) -> str:
        return value if reveal else mask_id_number(value)

    foreign = card.card_type in (CardType.FOREIGN_PERMANENT, CardType.FOREIGN_PERMANENT_2023)
    out: dict[str, Any] = {"card_type": card.card_type.value, "name": name(card.name)}
    if foreign:
        out["name_en"] = name(card.name_en)
    out |= {
        "sex": card.sex,
        "nation": card.nation,
        "nation_code": card.nation_code,
        "birth_date": card.birth_date.isoformat(),
        "address": card.address,
        "id_number": number(card.id_number),
        "issuer": card.issuer,
        "valid_from": card.valid_from.isoformat(),
        "valid_to": "long-term" if card.valid_to is None else card.valid_to.isoformat(),
    }
    if card.nationality:
        out["nationality"] = card.nationality
    if card.pass_number:
        out["pass_number"] = number(card.pass_number)
    out["photo_wlt_sha256"] = hashlib.sha256(card.photo_wlt).hexdigest()
    return out


def _text(data: dict[str, Any]) -> str:
    return "\n".join(f"{key:18} {value}" for key, value in data.items())


def run_read_card(args: argparse.Namespace) -> int:
    from drivers.errors import DeviceError
    from drivers.idcard.base import Presence
    from drivers.idcard.sam import SamSerialReader, Timeouts

    if args.timeout <= 0:
        print("error: --timeout must be positive", file=sys.stderr)
        return 2
    timeouts = Timeouts(command_s=min(0.5, args.timeout), read_s=args.timeout, fingerprint_s=args.timeout)
    reader = SamSerialReader(args.port, baud=args.baud, timeouts=timeouts)
    try:
        reader.open()
        result = reader.read_card()
    except DeviceError as exc:
        print(f"error: {cause_of(exc)}: {exc}", file=sys.stderr)
        return 1
    finally:
        reader.close()
    if result is Presence.NO_CARD or isinstance(result, Presence):
        print(f"error: no card: no card on the reader at {args.port}", file=sys.stderr)
        return 1
    data = card_json(result, reveal=args.reveal)
    print(json.dumps(data, ensure_ascii=False) if args.json else _text(data))
    return 0
