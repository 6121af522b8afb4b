"""Look for one resident's personal data everywhere a finished visit could have left it.

:class:`Traces` are the forms the data takes (the name and ID number as str, UTF-8, UTF-16LE as the
card reader sends them, the ID number with or without spaces, a slice of the photo JPEG and its
base64 as frozen in the outbox body). The probes return what they find, described for a human:
the widget tree (every screen, shown or not), every Python object reachable through the garbage
collector's containers, files under given folders, and log text.
"""

from __future__ import annotations

import base64
import gc
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

_SPACES = re.compile(r"[\s\-]")


@dataclass
class Traces:
    name: str
    id_number: str
    photo: bytes = b""
    extra: tuple[str, ...] = ()  # other identifying text, e.g. the card's address
    photo_shape: tuple[int, int] | None = None  # (height, width) of the accepted photo's pixels
    # more bytes of the visit (the card photo's BMP, the face check's live JPEG): slices of each
    blobs: tuple[bytes, ...] = ()
    # weak references to the visit's objects that must die with it (the face check's live frame,
    # the decoded card photo, the face templates): (what it is, weakref)
    refs: list[tuple[str, Any]] = field(default_factory=list)
    needles: list[bytes] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        texts = [self.name, self.id_number, self.id_number.lower(), *self.extra]
        self.texts = [t for t in texts if t]
        needles: list[bytes] = []
        for text in self.texts:
            needles += [text.encode("utf-8"), text.encode("utf-16-le")]
        if self.photo:
            middle = len(self.photo) // 2 // 3 * 3
            chunk = self.photo[middle : middle + 48]
            needles += [chunk, base64.b64encode(chunk)]
            self.texts.append(base64.b64encode(chunk).decode("ascii"))
            self.photo = b""  # keep only the slices: the probe must not hold the photo itself
        for blob in self.blobs:
            middle = len(blob) // 2 // 3 * 3
            needles.append(blob[middle : middle + 48])
        self.blobs = ()
        self.needles = needles

    def in_text(self, text: str) -> str | None:
        squeezed = _SPACES.sub("", text) if len(text) < 100_000 else text
        for t in self.texts:
            if t in text or t in squeezed:
                return t
        return None

    def in_bytes(self, data: bytes | bytearray | memoryview) -> bytes | None:
        raw = bytes(data)
        for needle in self.needles:
            if needle in raw:
                return needle
        return None


def widget_finds(roots: Iterable[Any], traces: Traces) -> list[str]:
    """Text and hint text of every widget under ``roots`` (attached or not)."""
    found = []
    for root in roots:
        for widget in root.walk(restrict=True):
            for attr in ("text", "hint_text", "title", "message", "detail", "headline"):
                value = getattr(widget, attr, None)
                if isinstance(value, str) and traces.in_text(value):
                    found.append(f"{type(widget).__name__}.{attr} = {value[:80]!r}")
    return found


def _holders(obj: Any, limit: int = 3) -> str:
    """Who keeps ``obj`` alive, for the report (types of its referrers, one level up)."""
    names = []
    for ref in gc.get_referrers(obj)[:20]:
        if isinstance(ref, list) and len(ref) > 10_000:
            continue  # gc.get_objects() itself
        kind = type(ref).__name__
        if isinstance(ref, dict):
            owners = [type(o).__name__ for o in gc.get_referrers(ref)[:5] if not isinstance(o, list | dict)]
            kind = f"dict of {owners[:2]}"
        names.append(kind)
        if len(names) >= limit:
            break
    return ", ".join(names)


def _leaves(ignore: set[int]) -> Iterator[Any]:
    """Every str, bytes, bytearray, memoryview and numpy array referenced by a tracked container."""
    seen: set[int] = set()
    for container in gc.get_objects():
        if id(container) in ignore:
            continue
        for ref in gc.get_referents(container):
            kind = type(ref)  # not isinstance: a dead weak proxy raises on any attribute look-up
            leaf = issubclass(kind, str | bytes | bytearray | memoryview) or kind.__name__ == "ndarray"
            if leaf and id(ref) not in seen:
                seen.add(id(ref))
                yield ref


def object_finds(traces: Traces, *, baseline: set[int] | None = None) -> list[str]:
    """Objects reachable in this process that hold the traces; ``baseline`` holds ids of objects that
    held them before the visit began (the simulated reader's card table), which are not finds."""
    gc.collect()
    found = []
    for leaf in _leaves({id(traces), id(traces.needles), id(traces.texts)}):
        if baseline is not None and id(leaf) in baseline:
            continue
        if leaf is traces.name or leaf is traces.id_number:
            continue
        if isinstance(leaf, str):
            hit: Any = traces.in_text(leaf)
        elif type(leaf).__name__ == "ndarray":
            if traces.photo_shape is not None and tuple(leaf.shape[:2]) == traces.photo_shape:
                hit = f"pixels of the photo's size {leaf.shape}"
            else:
                hit = traces.in_bytes(leaf.tobytes()) if leaf.nbytes < 50_000_000 else None
        else:
            hit = traces.in_bytes(leaf)
            if hit and hit in traces.needles[-2:] and traces.photo_shape is not None:
                hit = f"photo bytes {hit[:8]!r}"
        if hit:
            found.append(f"{type(leaf).__name__}[{len(leaf)}] holds {hit!r:.40} (held by {_holders(leaf)})")
    found += [
        f"{what} is still alive (held by {_holders(ref())})" for what, ref in traces.refs if ref() is not None
    ]
    return found


def object_ids_with(traces: Traces) -> set[int]:
    """Ids of the objects holding the traces now (a baseline taken before the visit)."""
    gc.collect()
    ids = set()
    for leaf in _leaves({id(traces), id(traces.needles), id(traces.texts)}):
        hit = traces.in_text(leaf) if isinstance(leaf, str) else None
        if not isinstance(leaf, str) and type(leaf).__name__ != "ndarray":
            hit = traces.in_bytes(leaf)
        if hit:
            ids.add(id(leaf))
    return ids


def file_finds(folders: Iterable[Path], traces: Traces, *, newer_than: float = 0.0) -> list[str]:
    """Files under ``folders`` (changed after ``newer_than``) whose bytes hold the traces."""
    found = []
    for folder in folders:
        if not folder.exists():
            continue
        for path in folder.rglob("*"):
            try:
                if not path.is_file() or path.stat().st_mtime < newer_than:
                    continue
                hit = traces.in_bytes(path.read_bytes())
            except OSError:
                continue
            if hit:
                found.append(f"{path} holds {hit!r:.40}")
    return found
