"""Freed heap goes back to the kernel when the kiosk returns to the attract screen (kiosk/visit/memory.py)."""

from __future__ import annotations

import ctypes
import threading
from pathlib import Path

import pytest

from kiosk.visit import memory

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


# mallopt is process-wide and one-way: each case runs in a fresh interpreter.
PROBE = """
import ctypes, json, sys, threading
from kiosk.visit.memory import tune_allocator

class MallInfo2(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL("libc.so.6")
libc.mallinfo2.restype = MallInfo2
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
tuned = tune_allocator() if sys.argv[1] == "tuned" else {}
# a camera frame's worth, mapped and freed: glibc would now raise its mmap threshold past it...
libc.free(libc.malloc(921_600))
# ...so that the next large block would come from the heap instead of a mapping of its own
before = libc.mallinfo2().hblks
block = libc.malloc(600_000)
mapped = libc.mallinfo2().hblks - before
libc.free(block)
# threads that allocate: how many arenas exist afterwards (glibc reports arenas via malloc_info)
def work():
    keep = [bytearray(200) for _ in range(2000)]
    barrier.wait()
barrier = threading.Barrier(9)
threads = [threading.Thread(target=work) for _ in range(8)]
[t.start() for t in threads]; barrier.wait(); [t.join() for t in threads]
libc.open_memstream.restype = ctypes.c_void_p
buf, size = ctypes.c_char_p(), ctypes.c_size_t()
stream = libc.open_memstream(ctypes.byref(buf), ctypes.byref(size))
libc.malloc_info(0, ctypes.c_void_p(stream))
libc.fclose(ctypes.c_void_p(stream))
arenas = buf.value.decode().count("<heap nr=")
print(json.dumps({"tuned": tuned, "mapped": mapped, "arenas": arenas}))
"""


def _probe(mode: str, **env: str) -> dict[str, object]:
    import json
    import os
    import subprocess
    import sys

    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode],
        cwd=Path(__file__).resolve().parents[2],
        env={k: v for k, v in os.environ.items() if not k.startswith(("MALLOC_", "GLIBC_TUNABLES"))} | env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(out.stdout)


@glibc
def test_tuned_allocator_maps_large_blocks_and_keeps_two_arenas() -> None:
    plain = _probe("plain")
    assert plain["tuned"] == {} and plain["mapped"] == 0 and plain["arenas"] > 2  # glibc's defaults
    tuned = _probe("tuned")
    assert tuned["tuned"] == {"arena_max": 2, "mmap_threshold": 256 * 1024}
    assert tuned["mapped"] == 1  # still a mapping of its own, returned whole when freed
    assert tuned["arenas"] <= 2


@glibc
def test_the_environment_decides_over_the_defaults() -> None:
    chosen = _probe("tuned", MALLOC_ARENA_MAX="4")
    assert chosen["tuned"] == {"mmap_threshold": 256 * 1024}
    chosen = _probe("tuned", GLIBC_TUNABLES="glibc.malloc.mmap_threshold=1048576")
    assert chosen["tuned"] == {"arena_max": 2} and chosen["mapped"] == 0
