"""``SamSimulator``: a GA/T 467 reader on a pseudo-terminal, so the real driver runs against it.

The simulator owns a pty (``os.openpty``); the driver opens its slave path (or the stable symlink
``link_path``, which survives unplug/re-plug) with pyserial exactly as it would a USB reader. A
thread answers each command frame; :meth:`place`, :meth:`remove`, :meth:`inject`, :meth:`unplug` and
:meth:`replug` drive it from tests and demo mode. Cards come from a TOML file (``sim_cards.toml``).

Faults (:meth:`inject` with a count of affected replies):

- ``corrupt``: the reply's checksum byte is flipped;  ``noise``: random bytes precede the reply;
- ``silence``: the command gets no reply;  ``truncate``: only half the reply is sent;
- ``remove_mid_read``: the next read command finds the card gone (SW3 0x41) and the card is removed;
- ``status``: the next reply is a bare SW3 ``status`` (e.g. 0x60 SAM self-test failed).

With ``pace=True`` every reply is written at the real wire rate (10 bits per byte at ``baud``).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import os
import random
import select
import threading
import time
import tomllib
import tty
from pathlib import Path
from typing import Any

from drivers.idcard import frame
from drivers.idcard.base import CardType, FrameError, IdCard
from drivers.idcard.decode import encode_text
from drivers.idcard.nations import nation_name
from drivers.idcard.sim_photos import simulated_wlt

DEFAULT_CARDS = Path(__file__).with_name("sim_cards.toml")
SAM_ID = bytes([5, 0, 1, 0]) + (20240101).to_bytes(4, "little") + (1).to_bytes(4, "little") + bytes(4)
FAULTS = ("corrupt", "noise", "silence", "truncate", "remove_mid_read", "status")
KEEP_COMMANDS = 1000  # commands remembered for tests and diagnostics


def load_cards(path: Path = DEFAULT_CARDS) -> dict[str, IdCard]:
    """Synthetic cards by key; the photo is a simulated WLT naming its picture (``photo = "demo"``,
    ``"lfw:N"`` or ``"none"``), fingerprints are pseudo-random stand-ins for the real bytes."""
    with path.open("rb") as fh:
        table = tomllib.load(fh).get("card", {})
    cards = {}
    for key, raw in table.items():
        fields: dict[str, Any] = dict(raw)
        fields["card_type"] = CardType(fields["card_type"])
        for name in ("birth_date", "valid_from"):
            fields[name] = dt.date.fromisoformat(fields[name])
        valid_to = fields.get("valid_to", "long-term")
        fields["valid_to"] = None if valid_to == "long-term" else dt.date.fromisoformat(valid_to)
        if fields.get("nation_code"):
            fields["nation"] = nation_name(fields["nation_code"]) or ""
        seed = hashlib.sha256(key.encode()).digest()
        # the photo a simulated WLT decoder returns (drivers/idcard/sim_photos.py): the demo face
        # unless the card names another
        fields["photo_wlt"] = simulated_wlt(str(fields.pop("photo", "demo")), seed)
        fingers = int(fields.pop("fingerprints", 0))  # 512 bytes of template per finger, 0..2
        fields["fingerprint"] = b"".join(
            hashlib.sha256(seed + bytes([64 + i])).digest() for i in range(16 * fingers)
        )
        cards[key] = IdCard(**fields)
    return cards


class SamSimulator:
    """A simulated reader on a pty. ``start()`` before use, ``stop()`` after; thread-safe controls."""

    def __init__(
        self,
        cards: dict[str, IdCard] | None = None,
        *,
        card: str | None = None,
        pace: bool = False,
        baud: int = 115200,
        link_path: Path | None = None,
        seed: int = 0,
    ) -> None:
        self.cards = cards if cards is not None else load_cards()
        if card is not None and card not in self.cards:
            raise KeyError(f"no synthetic card {card!r} (have: {', '.join(self.cards)})")
        self.pace = pace
        self.baud = baud
        self.link_path = link_path
        self.commands: list[tuple[int, int]] = []  # the latest commands received, for tests
        self._card = card
        self._faults: dict[str, int] = {}
        self._status = 0
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._master = -1
        self._slave = -1
        self.slave_path = ""
        self._stop = threading.Event()
        self._plugged = threading.Event()
        self._closed = threading.Event()  # set by the serving thread once an unplug closed the pty
        self._thread: threading.Thread | None = None

    # -- controls ---------------------------------------------------------------------------------
    @property
    def port(self) -> str:
        """The path a driver should open: the stable link if there is one, else the pty slave."""
        return str(self.link_path) if self.link_path else self.slave_path

    @property
    def card(self) -> str | None:
        return self._card

    def place(self, key: str) -> None:
        if key not in self.cards:
            raise KeyError(key)
        with self._lock:
            self._card = key

    def remove(self) -> None:
        with self._lock:
            self._card = None

    def inject(self, fault: str, count: int = 1, *, status: int = 0x41) -> None:
        if fault not in FAULTS:
            raise ValueError(f"unknown fault {fault!r} (known: {', '.join(FAULTS)})")
        with self._lock:
            self._faults[fault] = self._faults.get(fault, 0) + count
            if fault == "status":
                self._status = status

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def unplug(self) -> None:
        """Close the pty: the driver's next read/write fails as a yanked USB cable would.

        The serving thread closes the descriptors itself (within ~50 ms), so it never selects on
        a number the OS has already handed to someone else.
        """
        self._closed.clear()
        self._plugged.clear()
        if self._thread is not None and self._thread.is_alive():
            self._closed.wait(2)
        else:
            self._close_pty()

    def replug(self) -> None:
        self._open_pty()

    # -- lifecycle --------------------------------------------------------------------------------
    def start(self) -> SamSimulator:
        self._open_pty()
        self._thread = threading.Thread(target=self._run, name="sam-simulator", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._plugged.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        self._close_pty()
        if self.link_path is not None:
            with contextlib.suppress(FileNotFoundError):
                self.link_path.unlink()

    def __enter__(self) -> SamSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _open_pty(self) -> None:
        master, slave = os.openpty()
        tty.setraw(slave)  # no echo, no line discipline: bytes pass as on a UART
        self._master, self._slave, self.slave_path = master, slave, os.ttyname(slave)
        if self.link_path is not None:
            tmp = self.link_path.with_name(self.link_path.name + ".new")
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            tmp.symlink_to(self.slave_path)
            tmp.replace(self.link_path)
        self._plugged.set()

    def _close_pty(self) -> None:
        for fd in (self._master, self._slave):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._master = self._slave = -1

    # -- the reader -------------------------------------------------------------------------------
    def _run(self) -> None:
        buf = b""
        while not self._stop.is_set():
            if not self._plugged.is_set():
                if self._master >= 0:
                    self._close_pty()
                self._closed.set()
                buf = b""
                self._plugged.wait(0.1)
                continue
            master = self._master
            try:
                ready, _, _ = select.select([master], [], [], 0.05)
                if not ready:
                    continue
                buf += os.read(master, 4096)
            except (OSError, ValueError):  # unplugged under us
                buf = b""
                continue
            buf = self._serve(buf, master)

    def _serve(self, buf: bytes, master: int) -> bytes:
        while True:
            idx = buf.find(frame.PREAMBLE)
            if idx < 0:
                return buf[-4:]
            buf = buf[idx:]
            if len(buf) < frame.HEADER_LEN:
                return buf
            total = frame.HEADER_LEN + int.from_bytes(buf[5:7], "big")
            if len(buf) < total:
                return buf
            raw, buf = buf[:total], buf[total:]
            try:
                command = frame.decode_command(raw)
            except FrameError:
                self._send(master, frame.encode_reply(0x10))
                continue
            self.commands.append((command.cmd, command.para))
            del self.commands[:-KEEP_COMMANDS]  # a demo kiosk polls for days
            reply = self._answer(command)
            if reply is not None:
                self._send(master, reply)

    def _take(self, fault: str) -> bool:
        if self._faults.get(fault, 0) > 0:
            self._faults[fault] -= 1
            return True
        return False

    def _answer(self, command: frame.Command) -> bytes | None:
        with self._lock:
            if self._take("silence"):
                return None
            if self._take("status"):
                return self._damage(frame.encode_reply(self._status))
            card = self.cards.get(self._card) if self._card else None
            key = (command.cmd, command.para)
            if key in ((0x30, 0x01), (0x30, 0x10)) and self._take("remove_mid_read"):
                self._card = None
                return self._damage(frame.encode_reply(0x41))
            return self._damage(self._reply(key, card))

    def _reply(self, key: tuple[int, int], card: IdCard | None) -> bytes:
        if key in ((0x10, 0xFF), (0x11, 0xFF)):
            return frame.encode_reply(0x90)
        if key == (0x12, 0xFF):
            return frame.encode_reply(0x90, SAM_ID)
        if key[0] in (0x20, 0x30) and card is None:
            return frame.encode_reply(0x80)
        if key == (0x20, 0x01):
            return frame.encode_reply(0x9F, bytes(4))
        if key == (0x20, 0x02):
            return frame.encode_reply(0x90, bytes(8))
        if card is not None and key in ((0x30, 0x01), (0x30, 0x10)):
            text, photo = encode_text(card), card.photo_wlt
            sizes = len(text).to_bytes(2, "big") + len(photo).to_bytes(2, "big")
            if key == (0x30, 0x10):
                sizes += len(card.fingerprint).to_bytes(2, "big")
                return frame.encode_reply(0x90, sizes + text + photo + card.fingerprint)
            return frame.encode_reply(0x90, sizes + text + photo)
        if card is not None and key == (0x30, 0x03):
            if not card.extra_address:
                return frame.encode_reply(0x91)
            return frame.encode_reply(0x90, (card.extra_address + " " * 35)[:35].encode("utf-16-le"))
        if key[0] == 0x60:
            return frame.encode_reply(0x90)
        return frame.encode_reply(0x21)

    def _damage(self, reply: bytes) -> bytes:
        if self._take("corrupt"):
            reply = reply[:-1] + bytes([reply[-1] ^ 0xFF])
        if self._take("truncate"):
            reply = reply[: len(reply) // 2]
        if self._take("noise"):
            noise = bytes(self._rng.randrange(256) for _ in range(self._rng.randrange(3, 40)))
            reply = noise + b"\xaa\xaa" + reply
        return reply

    def _send(self, master: int, data: bytes) -> None:
        try:
            if self.pace:
                # write in ~1 ms slices at the wire rate, as a UART would deliver them
                per_byte = 10 / self.baud
                step = max(1, int(0.001 / per_byte))
                start = time.monotonic()
                for i in range(0, len(data), step):
                    due = start + i * per_byte
                    delay = due - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
                    os.write(master, data[i : i + step])
                end = start + len(data) * per_byte
                if end > time.monotonic():
                    time.sleep(end - time.monotonic())
            else:
                os.write(master, data)
        except OSError:
            pass  # unplugged while answering
