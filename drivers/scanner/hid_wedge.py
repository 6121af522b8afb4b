"""A USB HID keyboard-wedge scanner read from its Linux evdev node.

The kernel reports each key as ``struct input_event`` (``linux/input.h``): a ``struct timeval``
(two native longs), ``__u16 type``, ``__u16 code``, ``__s32 value`` — 24 bytes on 64-bit Linux.
A key press is ``type EV_KEY (1)`` with ``value 1`` (0 release, 2 autorepeat); shift state is
tracked from ``KEY_LEFTSHIFT``/``KEY_RIGHTSHIFT``; ``KEY_ENTER`` (or the keypad's) ends a code.
The node is grabbed (``EVIOCGRAB``) so the scanner's keystrokes reach this reader only, never the
Kivy window (a scanned code must not type into whatever has focus). The key map is the US layout
scanners default to; codes outside it make the code a :class:`~drivers.errors.ProtocolError`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import select
import struct
import time
from pathlib import Path

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceDisconnected, DeviceNotFound, DevicePermissionDenied, ProtocolError
from drivers.scanner.base import MAX_CODE_CHARS

EVENT = struct.Struct("llHHi")  # struct input_event on this machine's ABI
EV_KEY = 1
KEY_DOWN = 1
SHIFTS = {42, 54}  # KEY_LEFTSHIFT, KEY_RIGHTSHIFT
ENTERS = {28, 96}  # KEY_ENTER, KEY_KPENTER
EVIOCGRAB = 0x40044590  # _IOW('E', 0x90, int)

# evdev key code -> (unshifted, shifted), US layout (linux/input-event-codes.h)
_ROWS = {2: "1234567890-=", 16: "qwertyuiop[]", 30: "asdfghjkl;'`", 43: "\\zxcvbnm,./"}
_SHIFTED = {2: "!@#$%^&*()_+", 16: "QWERTYUIOP{}", 30: 'ASDFGHJKL:"~', 43: "|ZXCVBNM<>?"}
KEYMAP: dict[int, tuple[str, str]] = {57: (" ", " ")}
for _start, _chars in _ROWS.items():
    for _i, _ch in enumerate(_chars):
        KEYMAP[_start + _i] = (_ch, _SHIFTED[_start][_i])
KEYMAP.update({71 + i: (d, d) for i, d in enumerate("789")})  # the keypad's digits
KEYMAP.update({75 + i: (d, d) for i, d in enumerate("456")})
KEYMAP.update({79 + i: (d, d) for i, d in enumerate("123")})
KEYMAP.update(
    {82: ("0", "0"), 83: (".", "."), 74: ("-", "-"), 78: ("+", "+"), 98: ("/", "/"), 55: ("*", "*")}
)


def key_events(text: str, *, enter: bool = True) -> bytes:
    """The evdev bytes a wedge scanner sends for ``text`` (the simulator types with this)."""
    reverse = {}
    for code, (plain, shifted) in sorted(KEYMAP.items(), reverse=True):
        reverse[shifted] = (code, plain != shifted)
        reverse[plain] = (code, False)
    out = bytearray()
    for ch in text:
        code, shift = reverse[ch]
        if shift:
            out += EVENT.pack(0, 0, EV_KEY, 42, 1)
        out += EVENT.pack(0, 0, EV_KEY, code, 1) + EVENT.pack(0, 0, EV_KEY, code, 0)
        if shift:
            out += EVENT.pack(0, 0, EV_KEY, 42, 0)
    if enter:
        out += EVENT.pack(0, 0, EV_KEY, 28, 1) + EVENT.pack(0, 0, EV_KEY, 28, 0)
    return bytes(out)


class HidWedgeScanner:
    """Reads codes from an evdev node (``path``) or an already open descriptor (``fd``: the
    simulator's pipe). ``grab``: take the device exclusively (real nodes only)."""

    def __init__(
        self, path: str = "", *, fd: int | None = None, grab: bool = True, simulated: bool = False
    ) -> None:
        self.simulated = simulated
        self.path = path or f"fd:{fd}"
        self._fd: int | None = fd
        self._grab = grab and fd is None
        self._pending = b""
        self._chars: list[str] = []
        self._shift = False
        self._bad = False
        self._gone = False

    def _open(self) -> int:
        if self._fd is None:
            try:
                self._fd = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
            except FileNotFoundError as exc:
                raise DeviceNotFound(
                    "no scanner at this input node", device="scanner", port=self.path
                ) from exc
            except PermissionError as exc:
                raise DevicePermissionDenied(
                    "no permission to read the input node (udev rule / input group)",
                    device="scanner",
                    port=self.path,
                ) from exc
            if self._grab:
                fcntl.ioctl(self._fd, EVIOCGRAB, 1)
        return self._fd

    def read(self, timeout_s: float) -> str | None:
        fd = self._open()
        deadline = time.monotonic() + timeout_s
        while True:
            code = self._take_code()
            if code is not None:
                return code
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _w, _x = select.select([fd], [], [], left)
            if not ready:
                return None
            try:
                chunk = os.read(fd, EVENT.size * 64)
            except BlockingIOError:
                continue
            except OSError as exc:  # ENODEV: unplugged
                self._gone = True
                raise DeviceDisconnected(
                    f"scanner input node failed: {exc}", device="scanner", port=self.path
                ) from exc
            if not chunk:
                self._gone = True
                raise DeviceDisconnected("the scanner went away", device="scanner", port=self.path)
            self._pending += chunk

    def _take_code(self) -> str | None:
        """Feed whole events from the buffer; the code once Enter is pressed."""
        while len(self._pending) >= EVENT.size:
            event, self._pending = self._pending[: EVENT.size], self._pending[EVENT.size :]
            _sec, _usec, kind, code, value = EVENT.unpack(event)
            if kind != EV_KEY:
                continue
            if code in SHIFTS:
                self._shift = value != 0
            elif value != KEY_DOWN:
                continue
            elif code in ENTERS:
                text, bad = "".join(self._chars), self._bad
                self._chars, self._bad = [], False
                if bad:
                    raise ProtocolError(
                        "the scanner typed keys outside its key map", device="scanner", port=self.path
                    )
                if text:
                    return text
            elif code in KEYMAP and len(self._chars) < MAX_CODE_CHARS:
                self._chars.append(KEYMAP[code][1 if self._shift else 0])
            else:
                self._bad = True  # an unknown key, or a code too long: refused at its Enter
        return None

    def health(self) -> DeviceHealth:
        if self._gone:
            return DeviceHealth(Health.DOWN, "disconnected", f"scanner at {self.path} went away")
        if self._fd is None and not Path(self.path).exists():
            return DeviceHealth(Health.DOWN, "not_found", f"no input node {self.path}")
        return DeviceHealth(Health.OK, "ok", f"keyboard-wedge scanner at {self.path}")

    def close(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            with contextlib.suppress(OSError):  # already closed by the other end's going away
                os.close(fd)
