"""Freed heap goes back to the kernel when the kiosk returns to the attract screen (kiosk/memory.py)."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import pytest

from kiosk import memory

glibc = pytest.mark.skipif(memory._malloc_trim() is None, reason="malloc_trim is glibc only")


def _rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


@glibc
def test_trim_hands_freed_heap_back() -> None:
    # Many blocks below the mmap threshold (so they live in the heap arena), all freed but the last one:
    # it pins the top of the heap, so glibc cannot shrink the heap and keeps the pages below it for
    # reuse, resident, as after a visit; trimming returns them.
    libc = ctypes.CDLL("libc.so.6")
    libc.malloc.restype = ctypes.c_void_p
    libc.free.argtypes = [ctypes.c_void_p]
    blocks = [libc.malloc(64 * 1024) for _ in range(1600)]  # 100 MiB
    for b in blocks:
        ctypes.memset(b, 1, 64 * 1024)  # touch every page so it counts in RSS
    keep = blocks[-1]
    for b in blocks[:-1]:
        libc.free(b)
    before = _rss_kb()
    assert memory.release_free_heap() is True
    after = _rss_kb()
    libc.free(keep)
    assert before - after > 50 * 1024, f"RSS {before} kB -> {after} kB"


@glibc
def test_background_trim_runs_off_the_calling_thread_one_at_a_time() -> None:
    ran_on: list[str] = []
    real = memory._trim

    def slow_trim(pad: int) -> int:
        ran_on.append(threading.current_thread().name)
        gate.wait(5)
        return real(pad)

    gate = threading.Event()
    memory._trim = slow_trim
    try:
        first = memory.release_free_heap_soon()
        assert first is not None
        while not memory._lock.locked():
            pass
        assert memory.release_free_heap_soon() is None  # one trim at a time
        gate.set()
        first.join(5)
    finally:
        memory._trim = real
    assert ran_on == ["heap-trim"]


def test_no_trim_available_is_a_quiet_no_op(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(memory, "_looked_up", True)
    monkeypatch.setattr(memory, "_trim", None)
    assert memory.release_free_heap() is False
    assert memory.release_free_heap_soon() is None
