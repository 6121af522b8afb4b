"""Benchmark of the outbox and delivery (issue #6 targets).

1. Durable enqueue: ``Outbox.submit`` (validate, freeze, one committed transaction) against a bare
   sqlite3 WAL insert+commit with ``synchronous=FULL`` of the same body size, in alternating
   rounds in the same run so disk noise hits both alike. Target: ratio >= 0.9.
2. Delivery with signing to the local reference backend (subprocess, SQLite store): requests/s
   from a full outbox until empty. Target: >= 300/s.
3. Retention: the first prune of a year of acknowledged rows (--year, 365,000 by default: 1,000
   visits a day) by ``Outbox.prune_acknowledged``: total time, and the longest single batch, which
   is how long a submission could wait for the write lock meanwhile.

    .venv/bin/python bench/outbox.py [--n 2000] [--deliver 1000] [--year 365000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from kiosk.queue.outbox import Outbox

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
    from contract.signing import SigningKey, new_secret, write_key_file
    from kiosk.queue.delivery import HttpSender, deliver_until_empty
    from kiosk.queue.local_backend import LocalBackend

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


def bench_prune(folder: Path, rows: int) -> tuple[float, float, int, float, float]:
    """(total s, longest batch ms, batches, file MB before, MB of pages in use after)"""
    path = folder / "prune.db"
    Outbox(path, "BENCH-3").close()  # the real schema
    db = sqlite3.connect(path, isolation_level=None)
    now = time.time()
    receipt = '{"request_id":"%036d","status":"received","received_at":"2026-11-29T00:00:00Z"}'
    db.execute("BEGIN")
    db.executemany(
        "INSERT INTO requests (seq, request_id, request_type, request_version, created_at, created_ts,"
        " status, answer_status, answer, settled_ts) VALUES (?, ?, 'household.household_certificate', 1,"
        " '2025-11-29T00:00:00Z', ?, 'acknowledged', 201, ?, ?)",
        (
            (i, f"{i:036d}", now - 400 * 86400 + i * 86, receipt % i, now - 400 * 86400 + i * 86)
            for i in range(1, rows + 1)
        ),
    )
    db.execute("COMMIT")
    db.close()
    before_mb = path.stat().st_size / 1e6
    outbox = Outbox(path, "BENCH-3")
    batches: list[float] = []
    write = outbox._write

    def timed(sql: str, params: tuple[object, ...]) -> int:
        t = time.perf_counter()
        n = write(sql, params)
        batches.append(time.perf_counter() - t)
        return n

    outbox._write = timed  # type: ignore[method-assign]
    t0 = time.perf_counter()
    outbox.prune_acknowledged(now + 1)  # every row is past the cut-off (the newest one stays)
    total = time.perf_counter() - t0
    page = outbox._db.execute("PRAGMA page_size").fetchone()[0]
    used = page * (
        outbox._db.execute("PRAGMA page_count").fetchone()[0]
        - outbox._db.execute("PRAGMA freelist_count").fetchone()[0]
    )
    outbox.close()
    return total, max(batches) * 1000, len(batches), before_mb, used / 1e6


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--n", type=int, default=1000, help="submissions per enqueue round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--deliver", type=int, default=1000, help="requests to deliver")
    parser.add_argument("--year", type=int, default=365_000, help="acknowledged rows to prune (0: skip)")
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
        if args.year:
            total, longest, batches, before, after = bench_prune(folder, args.year)
            print(
                f"retention: pruned {args.year - 1:,} acknowledged rows ({before:.1f} MB file) in {total:.1f} s,"
                f" {batches} batches, longest {longest:.0f} ms (a submission waits at most that long);"
                f" pages in use after: {after:.2f} MB (freed pages are reused)"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
