"""``kiosk-tech queue ...``: look at and drive the outbox (commissioning, stuck delivery).

    queue status [--json]          counts: pending, acknowledged, dead, oldest pending age (help
                                   alerts are outbox rows: counted, and their pending ones named)
    queue deliver [--until-empty]  deliver now (no backend configured: a local one is started)
    queue enqueue-test --count N   synthetic requests marked as tests, to commission a terminal
    queue retry-dead               put dead-lettered requests back in the queue
    queue prune [--days N] [--dead-days N]
                                   delete acknowledged rows older than N days (default: the
                                   configured outbox.keep_acknowledged_days) and purge the bodies of
                                   dead letters refused over outbox.keep_dead_days ago (default 30;
                                   rows and refusals stay); the app also does both hourly

Exit codes: 0 done, 1 requests still pending after ``deliver`` (or storage trouble), 2 bad config.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from kiosk.config.model import KioskConfig, load_config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    queue = sub.add_parser("queue", help="the outbox of submitted requests")
    actions = queue.add_subparsers(dest="queue_command", metavar="ACTION")
    actions.required = True
    status = actions.add_parser("status", help="counts and the oldest pending age")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=run_status)
    deliver = actions.add_parser("deliver", help="deliver pending requests now")
    deliver.add_argument(
        "--until-empty", action="store_true", help="keep retrying (with backoff) until empty"
    )
    deliver.add_argument(
        "--timeout",
        type=float,
        default=0,
        metavar="S",
        help="with --until-empty: give up after S seconds (0: never)",
    )
    deliver.set_defaults(func=run_deliver)
    enqueue = actions.add_parser("enqueue-test", help="add synthetic test requests")
    enqueue.add_argument("--count", type=int, required=True, metavar="N")
    enqueue.set_defaults(func=run_enqueue_test)
    retry = actions.add_parser("retry-dead", help="queue dead-lettered requests again")
    retry.set_defaults(func=run_retry_dead)
    prune = actions.add_parser(
        "prune", help="delete acknowledged rows and dead letters' bodies older than the retention"
    )
    prune.add_argument(
        "--days",
        type=float,
        metavar="N",
        help="keep acknowledged rows settled in the last N days (default: outbox.keep_acknowledged_days)",
    )
    prune.add_argument(
        "--dead-days",
        type=float,
        metavar="N",
        help="keep dead letters' bodies refused in the last N days (default: outbox.keep_dead_days)",
    )
    prune.set_defaults(func=run_prune)
    for parser in (status, deliver, enqueue, retry, prune):
        parser.add_argument(
            "--config", metavar="FILE", help="site file (default: $KIOSK_CONFIG or /etc/kiosk)"
        )


def _config(args: argparse.Namespace) -> KioskConfig:
    return load_config(args.config, validate_devices=False)  # the queue needs no devices


def run_status(args: argparse.Namespace) -> int:
    from kiosk.queue.delivery import open_outbox

    with open_outbox(_config(args)) as outbox:
        status = outbox.status()
    if args.json:
        print(json.dumps(status.as_dict()))
    else:
        age = "none" if status.oldest_pending_age_s is None else f"{status.oldest_pending_age_s:.0f} s"
        alerts = f" ({status.alerts_pending} help alerts)" if status.alerts_pending else ""
        counts = f"pending {status.pending}{alerts}, acknowledged {status.acknowledged}, dead {status.dead}"
        line = f"{counts}, oldest pending {age}"
        print(line + (f" (last error: {status.last_error})" if status.last_error else ""))
    return 0


def run_deliver(args: argparse.Namespace) -> int:
    from kiosk.queue.delivery import (
        backoff_from_config,
        deliver_one,
        deliver_until_empty,
        open_outbox,
        sender_from_config,
        signing_key,
    )
    from kiosk.queue.local_backend import LocalBackend

    config = _config(args)
    local = None
    url = config.backend.url
    if not url:
        key = config.resolve(config.backend.secret_file)
        local = LocalBackend(
            config.data_dir / "backend", {f"{signing_key(config).key_id}:{config.kiosk.id}": Path(key)}
        )
        url = local.start()
    try:
        with open_outbox(config) as outbox:
            sender = sender_from_config(config, url)
            try:
                if args.until_empty:
                    settled = deliver_until_empty(
                        outbox, sender, backoff=backoff_from_config(config), timeout_s=args.timeout or None
                    )
                else:
                    settled = 0
                    backoff = backoff_from_config(config)
                    while deliver_one(outbox, sender, backoff, now=float("inf")) == 0.0:
                        settled += 1  # one pass: stop at the first request that has to wait
            finally:
                sender.close()
            status = outbox.status()
    finally:
        if local is not None:
            local.stop()
    print(
        f"settled {settled}; pending {status.pending}, acknowledged {status.acknowledged}, dead {status.dead}"
        + (f" (last error: {status.last_error})" if status.pending and status.last_error else "")
    )
    return 0 if status.pending == 0 else 1


def run_enqueue_test(args: argparse.Namespace) -> int:
    from kiosk.queue.delivery import open_outbox

    if args.count < 1:
        raise SystemExit("kiosk-tech: --count must be at least 1")
    with open_outbox(_config(args)) as outbox:
        for i in range(args.count):
            outbox.submit(
                "system.test", 1, {"fields": {"note": f"commissioning test {i + 1}/{args.count}"}}, test=True
            )
        status = outbox.status()
    print(f"enqueued {args.count} test requests; pending {status.pending}")
    return 0


def run_retry_dead(args: argparse.Namespace) -> int:
    from kiosk.queue.delivery import open_outbox

    with open_outbox(_config(args)) as outbox:
        n = outbox.retry_dead()
    print(f"{n} dead-lettered requests queued again")
    return 0


def run_prune(args: argparse.Namespace) -> int:
    import time

    from kiosk.queue.delivery import open_outbox
    from kiosk.queue.retention import DAY_S, Retention, apply_retention

    config = _config(args)
    days = config.outbox.keep_acknowledged_days if args.days is None else args.days
    dead_days = config.outbox.keep_dead_days if args.dead_days is None else args.dead_days
    if days < 0:
        raise SystemExit("kiosk-tech: --days must be 0 or more")
    if dead_days <= 0:
        raise SystemExit("kiosk-tech: --dead-days must be more than 0")
    keep_forever = days == 0 and args.days is None
    if keep_forever:
        print(
            "outbox.keep_acknowledged_days is 0 (keep forever): no acknowledged row deleted;"
            " --days N prunes once"
        )
    now = time.time()
    with open_outbox(config) as outbox:
        n = 0 if keep_forever else outbox.prune_acknowledged(now - days * DAY_S)
        # the purge's audit line goes to the log (kiosk/queue/retention.py); the count is printed
        purged = apply_retention(outbox, Retention(keep_dead_s=dead_days * DAY_S), now).dead_purged
        status = outbox.status()
    print(
        (f"deleted {n} acknowledged requests settled over {days:g} days ago; " if not keep_forever else "")
        + f"purged the bodies of {purged} dead letters refused over {dead_days:g} days ago;"
        f" pending {status.pending}, acknowledged {status.acknowledged}, dead {status.dead}"
    )
    return 0
