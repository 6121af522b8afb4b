"""The kiosk's own share of a complete service visit, measured by the self-test's pilot.

    xvfb-run -a -s "-screen 0 1920x1080x24" .venv/bin/python bench/service_time.py [--service ID] [--runs N]

The pilot taps instantly, so what remains is the kiosk's time: screen changes, device work (card
read at wire speed, photo capture and checks, printing), the outbox commit and backend look-ups on
the local simulated backend. A resident's reading and tapping time comes on top (see the note).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--service", default="temp-id-certificate")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    totals, per_step = [], {}
    for _ in range(args.runs):
        with tempfile.TemporaryDirectory() as tmp:
            site = Path(tmp) / "kiosk.toml"
            site.write_text('[kiosk]\ndata_dir = "data"\n', encoding="utf-8")
            env = {k: v for k, v in os.environ.items() if not k.startswith("KIOSK")}
            out = subprocess.run(
                [sys.executable, "-m", "kiosk.cli", "selftest", "--service", args.service, "--simulate",
                 "--config", str(site), "--json"],
                capture_output=True, text=True, timeout=300, cwd=ROOT, env=env, check=True,
            ).stdout  # fmt: skip
        report = json.loads(out.strip().splitlines()[-1])
        steps = [s for s in report["steps"] if s["kind"] not in ("start", "check")]
        totals.append(sum(s["seconds"] for s in steps))
        for s in steps:
            per_step.setdefault(f"{s['step']} ({s['kind']})", []).append(s["seconds"])
    print(f"service {args.service}, {args.runs} runs")
    for name, values in per_step.items():
        print(f"  {name:<32} median {statistics.median(values):6.2f} s")
    print(
        f"kiosk's share of the visit: median {statistics.median(totals):.1f} s (all: {', '.join(f'{t:.1f}' for t in totals)})"
    )


if __name__ == "__main__":
    main()
