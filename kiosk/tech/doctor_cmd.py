"""``kiosk-tech doctor [--config FILE] [--json]``: everything a terminal needs, checked in one go.

Config valid (production mode's refusals included: the same lines as ``config check``), CJK font
present, every device opened and its status, the backend reachable and our signature accepted,
clock skew against the backend, free disk space, the outbox readable. Exit 1 naming the failing
checks; a technician on the phone reads the lines out.
"""

from __future__ import annotations

import argparse
import email.utils
import json
import shutil
import time
from dataclasses import asdict, dataclass
from typing import Any

MAX_SKEW_S = 60.0
MIN_FREE_MB = 200


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = sub.add_parser("doctor", help="check config, font, devices, backend, clock, disk and outbox")
    parser.add_argument("--config", metavar="FILE", help="site file (default: $KIOSK_CONFIG, /etc/kiosk)")
    parser.add_argument("--json", action="store_true", help="one JSON document for scripts")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from kiosk.config.model import load_config
    from kiosk.errors import ConfigError

    checks: list[Check] = []
    try:
        config = load_config(args.config, production=True)  # the same lines as the kiosk's start
        checks.append(Check("config", True, config.source or "packaged defaults"))
    except ConfigError as exc:
        checks.append(Check("config", False, "; ".join(str(p) for p in exc.problems)))
        return _report(checks, args.json)
    checks.extend(_font(config))
    checks.extend(_devices(config))
    checks.extend(_backend(config))
    checks.extend(_disk_and_outbox(config))
    return _report(checks, args.json)


def _font(config: Any) -> list[Check]:
    from kiosk.config.fonts import find_cjk_font
    from kiosk.errors import ConfigError

    try:
        font = find_cjk_font(
            config.display.font, config.data_dir / "cache" / "fonts", config_file=config.source
        )
    except ConfigError as exc:
        return [Check("font", False, str(exc))]
    return [Check("font", True, f"{font.family} ({font.path})")]


def _devices(config: Any) -> list[Check]:
    from kiosk.config.fonts import FontChoice
    from kiosk.config.messages import Messages
    from kiosk.devices import NOT_INSTALLED
    from kiosk.main import open_devices
    from kiosk.runtime import Runtime
    from kiosk.services.catalogue import Catalogue

    runtime = Runtime(config, Catalogue.load(), Messages({}), FontChoice(config.data_dir, "", ""))
    try:
        open_devices(runtime)
        checks = []
        for role, section in config.devices.items():
            if section.driver == NOT_INSTALLED:
                checks.append(Check(f"device {role}", True, "not installed"))
                continue
            health = runtime.device_health(role)
            usable = health is not None and health.usable
            detail = (
                f"{section.driver}: {health.state.value} {health.code} {health.detail}".strip()
                if health
                else ""
            )
            checks.append(Check(f"device {role}", usable or not section.required, detail))
        return checks
    finally:
        runtime.close()


def _backend(config: Any) -> list[Check]:
    if not config.backend.url:
        return [
            Check("backend", True, "none configured: the kiosk starts the local reference backend (demo)")
        ]
    from kiosk.errors import BackendRejected, BackendUnavailable, KioskError
    from kiosk.queue.client import BackendClient

    try:
        client = BackendClient.from_config(config)
    except KioskError as exc:
        return [Check("backend", False, str(exc))]
    checks = []
    try:
        client.request_status("00000000-0000-7000-8000-000000000000")  # 404: reachable, signature accepted
        checks.append(Check("backend", True, f"{config.backend.url}: reachable, signature accepted"))
    except BackendRejected as exc:
        checks.append(
            Check("backend", False, f"signature refused (wrong key, unenrolled kiosk, clock?): {exc}")
        )
    except BackendUnavailable as exc:
        checks.append(Check("backend", False, str(exc)))
        return checks
    try:
        answer = client.session.get(config.backend.url.rstrip("/") + "/healthz", timeout=client.timeout)
        server_time = email.utils.parsedate_to_datetime(answer.headers["Date"]).timestamp()
        skew = time.time() - server_time
        checks.append(Check("clock", abs(skew) <= MAX_SKEW_S, f"{skew:+.1f} s against the backend"))
    except Exception as exc:  # any failure here is a finding, not a crash
        checks.append(Check("clock", False, f"cannot compare with the backend: {type(exc).__name__}"))
    finally:
        client.close()
    return checks


def _disk_and_outbox(config: Any) -> list[Check]:
    from kiosk.errors import StorageError
    from kiosk.queue.delivery import open_outbox

    checks = []
    config.data_dir.mkdir(parents=True, exist_ok=True)
    free_mb = shutil.disk_usage(config.data_dir).free / 1_000_000
    checks.append(Check("disk", free_mb >= MIN_FREE_MB, f"{free_mb:,.0f} MB free in {config.data_dir}"))
    try:
        outbox = open_outbox(config)
    except StorageError as exc:
        return [*checks, Check("outbox", False, str(exc))]
    try:
        status = outbox.status()
    finally:
        outbox.close()
    age = status.oldest_pending_age_s
    healthy = status.dead == 0 and (age is None or age < config.backend.stuck_after_s)
    detail = f"pending {status.pending}, acknowledged {status.acknowledged}, dead {status.dead}"
    if age is not None:
        detail += f", oldest pending {age:.0f} s"
    return [*checks, Check("outbox", healthy, detail)]


def _report(checks: list[Check], as_json: bool) -> int:
    ok = all(c.ok for c in checks)
    if as_json:
        print(json.dumps({"ok": ok, "checks": [asdict(c) for c in checks]}, ensure_ascii=False))
    else:
        for c in checks:
            print(f"{'ok  ' if c.ok else 'FAIL'} {c.name:<20} {c.detail}")
        failing = [c.name for c in checks if not c.ok]
        print("doctor: all checks passed" if ok else f"doctor: failing: {', '.join(failing)}")
    return 0 if ok else 1
