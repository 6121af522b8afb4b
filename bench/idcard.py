"""Benchmark of the ID-card reader (issue #3 targets), real driver against the paced pty simulator.

1. find + select + read (text+photo) with replies paced at 115200 baud: measured time against the
   wire time of every byte both ways (10 bits per byte). Target: <= 1.1x (wire time ~115 ms).
   The full ``read_card`` (with the additional-address command) is reported too.
2. The driver's own gaps: from the moment ``read()`` returns a reply's last byte to the moment it
   writes the next command, summed over one read. Target: < 5 ms in total.
3. CPU while polling for a card that is not there (``find_card`` every ``--poll`` seconds): CPU time
   of the polling thread, and of the whole process (which includes the simulator), as % of one core.
   Target: < 2 %.

    .venv/bin/python bench/idcard.py [--reads 20] [--poll 0.25] [--poll-seconds 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from drivers.idcard import frame
from drivers.idcard.base import IdCard, Presence
from drivers.idcard.sam import SamSerialReader, SerialPort, open_pyserial
from drivers.idcard.simulator import SamSimulator

BAUD = 115200


class TimedPort:
    """A SerialPort wrapper noting when each write starts and each read returns."""

    def __init__(self, inner: SerialPort) -> None:
        self.inner = inner
        self.events: list[tuple[str, float]] = []

    def write(self, data: bytes) -> None:
        self.events.append(("w", time.perf_counter()))
        self.inner.write(data)

    def read(self, size: int, timeout: float) -> bytes:
        data = self.inner.read(size, timeout)
        self.events.append(("r", time.perf_counter()))
        return data

    def discard_input(self) -> None:
        self.inner.discard_input()

    def close(self) -> None:
        self.inner.close()


def wire_time(sim_card: IdCard) -> tuple[float, float]:
    """Seconds on the wire for find + select + read, (replies, commands), 10 bits per byte."""
    from drivers.idcard.decode import encode_text

    read_data = 4 + len(encode_text(sim_card)) + len(sim_card.photo_wlt)
    replies = [frame.encode_reply(0x9F, bytes(4)), frame.encode_reply(0x90, bytes(8))]
    replies.append(frame.encode_reply(0x90, bytes(read_data)))
    commands = [
        frame.encode_command(0x20, 0x01),
        frame.encode_command(0x20, 0x02),
        frame.encode_command(0x30, 0x01),
    ]
    return sum(map(len, replies)) * 10 / BAUD, sum(map(len, commands)) * 10 / BAUD


def driver_gaps(events: list[tuple[str, float]]) -> float:
    """Sum over commands after the first: write time minus the last read before it."""
    total, last_read, seen_write = 0.0, None, False
    for kind, t in events:
        if kind == "r":
            last_read = t
        else:
            if seen_write and last_read is not None:
                total += t - last_read
            seen_write = True
    return total


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--reads", type=int, default=20)
    parser.add_argument("--poll", type=float, default=0.25, help="poll interval in seconds")
    parser.add_argument("--poll-seconds", type=float, default=5.0)
    args = parser.parse_args()

    ports: list[TimedPort] = []

    def opener(path: str, baud: int) -> SerialPort:
        port = TimedPort(open_pyserial(path, baud))
        ports.append(port)
        return port

    with SamSimulator(card="resident", pace=True, baud=BAUD) as sim:
        reader = SamSerialReader(sim.port, baud=BAUD, opener=opener)
        reader.open()
        reply_wire, command_wire = wire_time(sim.cards["resident"])
        wire = reply_wire + command_wire
        short, full, gaps = [], [], []
        for _ in range(args.reads):
            port = ports[-1]
            port.events.clear()
            start = time.perf_counter()
            card = reader.read_card(extra_address=False)
            short.append(time.perf_counter() - start)
            assert isinstance(card, IdCard)
            gaps.append(driver_gaps(port.events))
            start = time.perf_counter()
            assert isinstance(reader.read_card(), IdCard)
            full.append(time.perf_counter() - start)

        med = statistics.median(short)
        print(
            f"wire time find+select+read at {BAUD} baud: {wire * 1000:.1f} ms "
            f"(replies {reply_wire * 1000:.1f} ms, paced by the simulator; commands {command_wire * 1000:.1f} ms, "
            "which the pty delivers at once)"
        )
        print(
            f"find+select+read ({args.reads} runs): median {med * 1000:.1f} ms, "
            f"max {max(short) * 1000:.1f} ms, ratio {med / wire:.3f} to the full wire time, "
            f"{med / reply_wire:.3f} to the paced replies (target <= 1.1)"
        )
        print(f"read_card with additional address: median {statistics.median(full) * 1000:.1f} ms")
        print(
            f"driver gaps per read (reply's last byte -> next command): median "
            f"{statistics.median(gaps) * 1000:.3f} ms, max {max(gaps) * 1000:.3f} ms (target < 5 ms)"
        )

        sim.remove()
        thread_cpu: list[float] = []
        stop = threading.Event()

        def poll() -> None:
            t0 = time.thread_time()
            while not stop.wait(args.poll):
                assert reader.find_card() is Presence.NO_CARD
            thread_cpu.append(time.thread_time() - t0)

        cpu0, wall0 = time.process_time(), time.perf_counter()
        poller = threading.Thread(target=poll)
        poller.start()
        time.sleep(args.poll_seconds)
        stop.set()
        poller.join()
        wall = time.perf_counter() - wall0
        process = (time.process_time() - cpu0) / wall * 100
        print(
            f"polling every {args.poll:g} s for {wall:.1f} s with no card: polling thread "
            f"{thread_cpu[0] / wall * 100:.2f} % of a core, whole process incl. simulator {process:.2f} % "
            "(target < 2 %)"
        )
        reader.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
