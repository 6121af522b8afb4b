"""Give the heap a visit freed back to the kernel when the kiosk goes quiet.

A visit allocates a few megabytes of short-lived native memory (label textures, the photo's frames,
the receipt's raster). glibc keeps freed chunks in its arenas for reuse, and with several worker
threads each has its own arena, so resident memory creeps up by fragmentation although nothing is
alive (bench/soak.py: +47 MB over 27 visits without trimming, flat with it). ``malloc_trim(0)``
returns whole free pages of every arena to the kernel. It takes the arena locks, so it runs on its
own short-lived thread, never on the UI thread, and at most one at a time.

Elsewhere than glibc (musl, macOS) there is nothing to call and this is a no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time

log = logging.getLogger(__name__)

_lock = threading.Lock()
_trim = None
_looked_up = False


def _malloc_trim():
    global _trim, _looked_up
    if not _looked_up:
        _looked_up = True
        try:
            libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _trim = libc.malloc_trim
            _trim.argtypes = [ctypes.c_size_t]
            _trim.restype = ctypes.c_int
        except (OSError, AttributeError):
            log.info("malloc_trim is not available here; freed heap stays with the allocator")
            _trim = None
    return _trim


def release_free_heap() -> bool:
    """Trim now, on the calling thread. True if the C library gave memory back."""
    trim = _malloc_trim()
    if trim is None:
        return False
    with _lock:
        started = time.perf_counter()
        released = bool(trim(0))
        log.debug("malloc_trim: released=%s in %.1f ms", released, (time.perf_counter() - started) * 1000)
        return released


def release_free_heap_soon() -> threading.Thread | None:
    """Trim on a background thread; skipped if a trim is already running or there is nothing to call."""
    if _malloc_trim() is None or _lock.locked():
        return None
    thread = threading.Thread(target=release_free_heap, name="heap-trim", daemon=True)
    thread.start()
    return thread
