"""The hook for a site's licensed WLT photo decoder (the card photo is encrypted WLT).

Only vendor libraries licensed by the Ministry of Public Security decode WLT; none ships with the
kiosk. A site that has one configures its path (``wlt_decoder``) and the entry point; this module
loads it with ctypes and calls ``int fn(const char *wlt, char *bmp_out, int key)`` (the common
vendor shape, e.g. ``unpack`` in libwlt2bmp). Without a library the photo stays undecoded WLT bytes:
nothing here ever pretends to decode one.
"""

from __future__ import annotations

import ctypes
import logging
from typing import Protocol

from drivers.errors import DeviceError, DeviceNotFound

log = logging.getLogger(__name__)

WLT_LEN = 1024
BMP_LEN = 38862  # 102x126, 24-bit, rows padded to 4 bytes, plus the 54-byte header


class PhotoDecoder(Protocol):
    """What the reader needs of a decoder: WLT bytes in, the 102x126 BMP out (None: refused)."""

    def decode(self, wlt: bytes) -> bytes | None: ...


class WltDecoder:
    """A loaded vendor decoder; :meth:`decode` returns BMP bytes or None if the library refused."""

    def __init__(self, library: str, function: str = "unpack", key: int = 602) -> None:
        try:
            lib = ctypes.CDLL(library)
        except OSError as exc:
            raise DeviceNotFound(f"WLT decoder library cannot be loaded: {exc}", device="wlt") from exc
        try:
            self._fn = getattr(lib, function)
        except AttributeError as exc:
            raise DeviceError(f"WLT decoder library has no function {function!r}", device="wlt") from exc
        self._fn.restype = ctypes.c_int
        self._fn.argtypes = [ctypes.c_char_p, ctypes.c_char_p, ctypes.c_int]
        self._key = key
        self.library = library

    def decode(self, wlt: bytes) -> bytes | None:
        if len(wlt) != WLT_LEN:
            return None
        out = ctypes.create_string_buffer(BMP_LEN)
        result = self._fn(wlt, out, self._key)
        if result != 1:
            log.warning("WLT decoder returned %s", result)
            return None
        return out.raw


def load_decoder(library: str | None, function: str = "unpack") -> WltDecoder | None:
    """The configured decoder, or None when the site has none (the normal case)."""
    if not library:
        return None
    return WltDecoder(library, function)
