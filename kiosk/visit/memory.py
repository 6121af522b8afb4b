"""Keep a process that runs for months from creeping up in memory.

Two measures, both for glibc's allocator (elsewhere, musl or macOS, they are no-ops):

``tune_allocator()``, first thing at start, before any thread: at most two malloc arenas instead of
eight per core (every short-lived worker thread, for a backend call, a card read or a camera frame,
would otherwise leave its own fragmented 64 MB arena behind), and a fixed mmap threshold of 256 KiB
(glibc raises the threshold each time a large block is freed, after which the camera's 0.9 MB frames
and the receipts' rasters are carved from the arenas and fragment them instead of being mapped and
unmapped whole). ``MALLOC_ARENA_MAX`` / ``MALLOC_MMAP_THRESHOLD_`` / ``GLIBC_TUNABLES`` in the
environment win over these defaults.

Once start-up is over (every screen built), ``freeze_startup_objects()``: the ~190,000 objects
start-up made (screens, kv rules, fonts, modules) move to the permanent generation, so a full
collection looks only at what visits made (a full collection took 180-390 ms before, 70-180 ms
after, measured beside the soak on this 2-core box).

At every return to the attract screen, when nobody is at the terminal, ``release_visit_memory()``:
a full collection frees the visit's cyclic garbage (30,000-50,000 objects a visit: widgets, their
textures, and the personal data they held) now, rather than in an automatic full collection in the
middle of the next resident's visit; then the heap the visit freed goes back to the kernel:

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
import gc
import logging
import os
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


M_MMAP_THRESHOLD = -3  # mallopt parameters, from glibc's malloc.h
M_ARENA_MAX = -8
ARENA_MAX = 2
MMAP_THRESHOLD = 256 * 1024


def tune_allocator(*, arena_max: int = ARENA_MAX, mmap_threshold: int = MMAP_THRESHOLD) -> dict[str, int]:
    """Set glibc's arena count and mmap threshold for a long-running process; call before starting
    threads. Returns what was set (empty where nothing could be, or the environment decided)."""
    if _malloc_trim() is None:  # not glibc
        return {}
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").mallopt
    except (OSError, AttributeError):
        return {}
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    tunables = os.environ.get("GLIBC_TUNABLES", "")
    wanted = (
        ("arena_max", M_ARENA_MAX, arena_max, "MALLOC_ARENA_MAX"),
        ("mmap_threshold", M_MMAP_THRESHOLD, mmap_threshold, "MALLOC_MMAP_THRESHOLD_"),
    )
    tuned: dict[str, int] = {}
    for name, param, value, variable in wanted:
        decided_elsewhere = variable in os.environ or f"glibc.malloc.{name}" in tunables
        if not decided_elsewhere and mallopt(param, value) == 1:
            tuned[name] = value
    log.debug("allocator tuned: %s", tuned)
    return tuned


def freeze_startup_objects() -> int:
    """Collect, then move every surviving object to the permanent generation; returns how many."""
    gc.collect()
    gc.freeze()
    count = gc.get_freeze_count()
    log.info("start-up objects frozen out of garbage collection: %d", count)
    return count


def release_visit_memory() -> int:
    """Free the finished visit's garbage (on the UI thread: it holds the GIL anyway), then trim the
    heap on a worker thread. Returns the number of objects collected."""
    started = time.perf_counter()
    freed = gc.collect()
    log.debug("visit garbage: %d objects in %.0f ms", freed, (time.perf_counter() - started) * 1000)
    release_free_heap_soon()
    return freed


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
