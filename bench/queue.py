"""Benchmark of the outbox and delivery (issue #6 targets).

1. Durable enqueue: ``Outbox.submit`` (validate, freeze, one committed transaction) against a bare
   sqlite3 WAL insert+commit with ``synchronous=FULL`` of the same body size, in alternating
   rounds in the same run so disk noise hits both alike. Target: ratio >= 0.9.
2. Delivery with signing to the local reference backend (subprocess, SQLite store): requests/s
   from a full outbox until empty. Target: >= 300/s.

    .venv/bin/python bench/queue.py [--n 2000] [--deliver 1000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

# this file is named queue.py: drop its own folder from the path so ``import queue`` (urllib3) finds
# the standard library, and put the repository root there instead
_HERE = Path(__file__).resolve().parent
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != _HERE]
sys.path.insert(0, str(_HERE.parent))

from kiosk.outbox import Outbox  # noqa: E402

PAYLOAD = {
    "applicant": {
        "id_number": "990000199001010009",
        "name": "张三丰",
        "identified_by": "card",
        "sex": "male",
    },
    "fields": {"purpose": "school", "copies": 2, "phone": "13800000000"},
}


def bench_enqueue(folder: Path, n: int, rounds: int) -> tuple[float, float]:
    outbox = Outbox(folder / "outbox.db", "BENCH-1")
    bare = sqlite3.connect(folder / "bare.db", isolation_level=None)
    bare.execute("PRAGMA journal_mode=WAL")
    bare.execute("PRAGMA synchronous=FULL")
    bare.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
    body = b"x" * 600  # about the size of the envelope above
    ours, theirs = [], []
    for _ in range(rounds):
        t0 = time.perf_counter()
        for _ in range(n):
            bare.execute("BEGIN")
            bare.execute("INSERT INTO t (body) VALUES (?)", (body,))
            bare.execute("COMMIT")
        theirs.append(n / (time.perf_counter() - t0))
        t0 = time.perf_counter()
        for _ in range(n):
            outbox.submit("household.household_certificate", 1, PAYLOAD)
        ours.append(n / (time.perf_counter() - t0))
    outbox.close()
    bare.close()
    return statistics.median(ours), statistics.median(theirs)


def bench_delivery(folder: Path, n: int) -> float:
    from kiosk.delivery import HttpSender, deliver_until_empty
    from kiosk.local_backend import LocalBackend
    from kiosk.signing import SigningKey, new_secret, write_key_file

    secret = new_secret()
    key = SigningKey("BENCH-2", bytes.fromhex(secret))
    write_key_file(folder / "hmac.key", secret)
    outbox = Outbox(folder / "deliver.db", "BENCH-2")
    for _ in range(n):
        outbox.submit("household.household_certificate", 1, PAYLOAD)
    with LocalBackend(folder / "backend", {"BENCH-2": folder / "hmac.key"}) as backend:
        sender = HttpSender(backend.url, key)
        t0 = time.perf_counter()
        delivered = deliver_until_empty(outbox, sender, timeout_s=120)
        rate = delivered / (time.perf_counter() - t0)
        sender.close()
    outbox.close()
    return rate


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="submissions per enqueue round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--deliver", type=int, default=1000, help="requests to deliver")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        ours, bare = bench_enqueue(folder, args.n, args.rounds)
        print(
            f"enqueue: outbox {ours:,.0f}/s, bare sqlite3 WAL FULL {bare:,.0f}/s, ratio {ours / bare:.2f} (target >= 0.9)"
        )
        if args.deliver:
            rate = bench_delivery(folder, args.deliver)
            print(f"delivery: {rate:,.0f} requests/s signed, to the local backend (target >= 300)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
