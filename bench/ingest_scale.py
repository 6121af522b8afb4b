"""Signed ingest throughput and p99 latency of ``kiosk-backend serve`` with 1 and 2 worker
processes, on SQLite and on PostgreSQL.

    .venv/bin/python bench/ingest_scale.py [--requests 2000] [--clients 8] [--workers 1,2]
                                           [--pg-url postgresql://...]

Each run starts the real server (``python -m backend serve --workers W``) on a fresh store and
sends ``--requests`` envelopes made by a real kiosk outbox (the exact bytes a kiosk sends), each
signed as the kiosk signs it, from ``--clients`` threads with keep-alive sessions; then it checks
that the store holds every request exactly once. PostgreSQL is ``--pg-url`` or
``KIOSK_TEST_PG_URL`` (``source scripts/test-services.sh; start_test_services``); without one the
PostgreSQL rows are skipped. The client shares the machine's cores with the server: on a 2-core
machine the figures are a floor, not a capacity.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import requests

from backend.store import open_store
from contract.signing import SigningKey
from kiosk.queue.outbox import Outbox

REPO = Path(__file__).resolve().parent.parent
KEY = SigningKey("KEY-BENCH", b"b" * 32)
KIOSK_ID = "KIOSK-BENCH"


def bodies(count: int, folder: Path) -> list[tuple[str, bytes]]:
    """``count`` envelopes as a kiosk outbox freezes them: (request_id, body bytes)."""
    out = []
    with Outbox(folder / "outbox.db", KIOSK_ID) as outbox:
        for i in range(count):
            outbox.submit("system.test", 1, {"fields": {"note": f"bench {i}"}}, test=True)
        while (head := outbox.head()) is not None:
            out.append((head.request_id, head.body))
            outbox.acknowledge(head.request_id, 201, "{}")
    return out


def fresh(url: str, folder: Path) -> str:
    if url == "sqlite":
        return f"sqlite:///{folder / f'bench-{time.monotonic_ns()}.db'}"
    store = open_store(url)
    with store.transaction() as cur:
        cur.execute("TRUNCATE requests, nonces")
    store.close()
    return url


def serve(store_url: str, workers: int, key_file: Path) -> tuple[subprocess.Popen[bytes], str]:
    cmd = [
        sys.executable, "-m", "backend", "serve", "--store", store_url, "--port", "0",
        "--workers", str(workers), "--trust-key", f"{KEY.key_id}:{KIOSK_ID}={key_file}",
    ]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env=env, cwd=REPO)
    assert proc.stdout is not None
    line = proc.stdout.readline().decode()
    if not line.startswith("listening on "):
        proc.kill()
        raise SystemExit(f"the backend did not start: {line!r}")
    url = line.split()[2]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:  # every worker up: a few answers in a row
        try:
            if all(requests.get(url + "/healthz", timeout=2).ok for _ in range(4)):
                break
        except requests.ConnectionError:
            time.sleep(0.1)
    return proc, url


def run(url: str, work: list[tuple[str, bytes]], clients: int) -> tuple[float, list[float], int]:
    """Send every body once (retrying on a connection error); (wall s, latencies ms, failures)."""
    latencies: list[float] = []
    failures = 0
    lock = threading.Lock()
    queue = list(reversed(work))

    def client() -> None:
        nonlocal failures
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    break
                request_id, body = queue.pop()
            while True:
                headers = {**KEY.sign("POST", "/v1/requests", body), "Idempotency-Key": request_id}
                headers["Content-Type"] = "application/json"
                begun = time.perf_counter()
                try:
                    answer = session.post(url + "/v1/requests", data=body, headers=headers, timeout=30)
                except requests.ConnectionError:
                    with lock:
                        failures += 1
                    continue
                took = (time.perf_counter() - begun) * 1000
                if answer.status_code in (200, 201):
                    with lock:
                        latencies.append(took)
                    break
                with lock:
                    failures += 1
        session.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    begun = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return time.perf_counter() - begun, latencies, failures


def p99(samples: list[float]) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * 0.99) - 1)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--workers", default="1,2")
    parser.add_argument("--pg-url", default=os.environ.get("KIOSK_TEST_PG_URL", ""))
    args = parser.parse_args()
    stores = ["sqlite", *([args.pg_url] if args.pg_url else [])]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        key_file = folder / "bench.key"
        key_file.write_text(KEY.secret.hex(), encoding="ascii")
        print(
            f"signed ingest: {args.requests} requests, {args.clients} client threads, {os.cpu_count()} cores"
        )
        if not args.pg_url:
            print("postgresql: skipped (no --pg-url or KIOSK_TEST_PG_URL)")
        for store in stores:
            name = "sqlite" if store == "sqlite" else "postgresql"
            for workers in [int(w) for w in args.workers.split(",")]:
                work = bodies(args.requests, Path(tempfile.mkdtemp(dir=tmp)))
                store_url = fresh(store, folder)
                proc, url = serve(store_url, workers, key_file)
                try:
                    wall, latencies, failures = run(url, work, args.clients)
                finally:
                    proc.terminate()
                    proc.wait(20)
                    if proc.stdout is not None:
                        proc.stdout.close()
                check = open_store(store_url)
                stored = check.stats()["requests"]
                check.close()
                print(
                    f"{name:<10} workers {workers}: {len(latencies) / wall:7.1f} req/s,"
                    f" median {statistics.median(latencies):6.1f} ms, p99 {p99(latencies):6.1f} ms,"
                    f" stored {stored}/{args.requests}, retried {failures}"
                )
                if stored != args.requests:
                    print(f"error: the store holds {stored} requests, not {args.requests}", file=sys.stderr)
                    return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
