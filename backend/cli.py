"""``kiosk-backend``: serve the ingest, show stats, and work the queue from a shell.

    kiosk-backend serve --store URL --host H --port P [--trust DIR] [--trust-key ID[:KIOSK]=FILE]
                        [--keys TOML] [--simulate] [--workers N] [--tls-cert ...]
    kiosk-backend stats --store URL [--json]
    kiosk-backend jobs take|complete|reject|list --store URL ...
    kiosk-backend staff add|passwd|disable|list|token|tokens|revoke ... --store URL  (backend/staff_cli.py)
    kiosk-backend audit --store URL [--actor A] [--action X]
    kiosk-backend register add|list|remove|audit --store URL ...   (backend/register_cli.py)
    kiosk-backend household add|list|remove|enrol-demo --store URL ... (backend/households.py)
    kiosk-backend keys generate|rotate|list|export-public --dir DIR   certificate signing keys
    kiosk-backend fines licence|vehicle|violation|show|demo-enrol --store URL ...  (backend/fines_cli.py)
    kiosk-backend vehicles add-licence|add-vehicle|add-health-check|enrol|list|remove --store URL ...
                                                       (backend/vehicles_cli.py)

Errors are one line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import ssl
import sys
import time
from collections.abc import Sequence
from typing import Any

from backend.staff_cli import StaffCliError, add_staff_commands, cli_audit
from backend.store import StoreError, open_store
from contract.masking import IdMaskingFormatter


class CliError(Exception):
    """A usage or set-up problem, printed as one line."""


def mounted_routers() -> list[Any]:
    """Route modules ``serve`` mounts beside the built-in ones (``create_app(backend, routers=...)``):
    the one place to add a router. Built in each worker process. (The staff console needs none:
    ``create_app`` mounts it at ``/console`` itself, so tests and every worker have it.)"""
    return []


def cmd_serve(args: argparse.Namespace) -> int:
    from backend.app import Backend
    from backend.console.settings import ConsoleSettings
    from backend.keys import KeyConfigError, load_keyring
    from backend.lookups import Lookups
    from backend.server import BackendServer, Limits, listen, serve_workers, tls_context

    if args.staff_token is not None or args.staff_token_file:
        raise CliError(
            "one shared staff token is retired: each person has an account and their own token"
            " (kiosk-backend staff add USER --role R; kiosk-backend staff token USER --out FILE)"
        )
    try:
        keys = load_keyring(args.trust, args.trust_key, args.keys)
    except KeyConfigError as exc:
        raise CliError(str(exc)) from exc
    if not keys:
        print(
            "warning: no kiosk keys enrolled (--trust DIR, --trust-key or --keys);"
            " every request will be refused",
            file=sys.stderr,
        )
    if args.workers < 1:
        raise CliError("--workers must be at least 1")
    limits = Limits(
        header_timeout_s=args.header_timeout,
        body_timeout_s=args.body_timeout,
        max_connections=args.max_connections,
    )
    from backend.register_cli import identity_from_args
    from backend.vehicles_cli import enrol_at_start

    store = open_store(args.store)  # the schema, once, and a bad URL or key folder is one line here
    try:
        enrol_at_start(args, store)  # serve --enrol-vehicles (backend/vehicles_cli.py)
        if identity_from_args(args, store).issuer is None:
            print(
                "warning: no certificate key (--cert-keys DIR); temp-id-certificate verifications answer 503",
                file=sys.stderr,
            )
    finally:
        store.close()

    def make_backend() -> Backend:
        store = open_store(args.store)
        identity = identity_from_args(args, store)
        identity.enrol_in_background()
        backend = Backend(
            store,
            keys,
            simulate=args.simulate,
            lookups=Lookups(paid_after_polls=args.paid_after_polls, identity=identity),
            console=ConsoleSettings(idle_s=args.console_idle_min * 60, silent_after_s=args.silent_after),
            answer_delay_s=args.answer_delay_ms / 1000,
        )
        if args.demo_fines and backend.lookups.fines is not None:  # the demo kiosk's synthetic fines,
            from backend.fines import demo_enrol  # enrolled afresh at each start (a demo starts over)

            demo_enrol(backend.lookups.fines)
        return backend

    try:
        tls = tls_context(args.tls_cert, args.tls_key, args.tls_client_ca) if args.tls_cert else None
        sock = listen(args.host, args.port, limits.backlog)
    except ssl.SSLError as exc:
        raise CliError(f"TLS set-up failed: {exc}") from exc
    except OSError as exc:
        raise CliError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from exc
    scheme = "https" if args.tls_cert else "http"
    port = sock.getsockname()[1]
    if args.workers > 1:
        print(f"listening on {scheme}://{args.host}:{port} ({args.workers} workers)", flush=True)
        parent = args.parent_pid
        serve_workers(
            make_backend,
            sock,
            args.workers,
            tls,
            limits,
            routers=mounted_routers,
            keep_running=lambda: not parent or os.getppid() == parent,
        )
        sock.close()
        return 0
    backend = make_backend()
    server = BackendServer(backend, sock, tls, limits, mounted_routers())

    def _terminate(signum: int, frame: object) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, _terminate)
    if args.parent_pid:
        _watch_parent(args.parent_pid, server)
    print(f"listening on {scheme}://{args.host}:{port}", flush=True)
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.server_close()
        backend.store.close()
    return 0


def _watch_parent(parent_pid: int, server: Any) -> None:
    """Shut the server down once ``parent_pid`` is no longer our parent (it died, even by SIGKILL,
    and we were re-parented): checked every half second on a daemon thread."""
    import os
    import threading

    def watch() -> None:
        while os.getppid() == parent_pid:
            time.sleep(0.5)
        print(f"parent process {parent_pid} is gone; stopping", file=sys.stderr, flush=True)
        server.shutdown()

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


def cmd_stats(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        stats = store.stats()
    finally:
        store.close()
    if args.json:
        print(json.dumps(stats))
    else:
        by = ", ".join(f"{k} {v}" for k, v in stats["by_status"].items())
        print(f"requests {stats['requests']}, duplicates {stats['duplicates']} ({by})")
    return 0


def cmd_kiosks(args: argparse.Namespace) -> int:
    """The fleet: each kiosk's last heartbeat, silent ones flagged, and where residents get stuck."""
    store = open_store(args.store)
    try:
        kiosks = store.kiosks()
    finally:
        store.close()
    now = time.time()
    for kiosk in kiosks:
        kiosk["silent_s"] = round(now - kiosk["last_seen_ts"], 1)
        kiosk["silent"] = kiosk["silent_s"] > args.silent_after
    if args.json:
        print(json.dumps({"kiosks": kiosks, "silent_after_s": args.silent_after}, ensure_ascii=False))
        return 0
    if not kiosks:
        print("no kiosk has sent a heartbeat yet")
        return 0
    for kiosk in kiosks:
        health = kiosk["health"]
        flag = "SILENT" if kiosk["silent"] else "ok"
        queue = health.get("queue", {})
        oldest = queue.get("oldest_pending_age_s") or 0
        print(
            f"{kiosk['kiosk_id']:<20} {flag:<6} last seen {kiosk['silent_s']:.0f} s ago, "
            f"version {health.get('version', '?')}, up {health.get('uptime_s', 0):.0f} s, "
            f"queue pending {queue.get('pending', '?')} (oldest {oldest:.0f} s)"
        )
        for role, device in sorted(health.get("devices", {}).items()):
            state, code, detail = (device.get(k, "") for k in ("state", "code", "detail"))
            print(f"    {role:<12} {state:<9} {code} {detail}".rstrip())
        funnel: dict[tuple[str, str], dict[str, int]] = {}
        for item in kiosk["steps"]:
            funnel.setdefault((item["service"], item["step"]), {})[item["outcome"]] = item["count"]
        for (service, step), outcomes in sorted(funnel.items()):
            counts = ", ".join(f"{k} {v}" for k, v in sorted(outcomes.items()))
            print(f"    {service} / {step}: {counts}")
    return 0


def cmd_alerts(args: argparse.Namespace) -> int:
    """Residents waiting for staff: open help alerts, oldest first (``--close ID`` when attended)."""
    from backend.alerts import close_alert, list_alerts

    store = open_store(args.store)
    try:
        if args.close:
            if not close_alert(store, args.close):
                raise CliError(f"alert {args.close} is unknown or already closed")
            cli_audit(store, "alert_close", args.close)
            print(f"alert {args.close} closed")
            return 0
        alerts = list_alerts(store, include_closed=args.all)
    finally:
        store.close()
    now = time.time()
    for alert in alerts:
        alert["waiting_s"] = round(now - alert["received_ts"], 1)
    if args.json:
        print(json.dumps({"alerts": alerts}, ensure_ascii=False))
    elif not alerts:
        print("no open help alerts")
    for alert in [] if args.json else alerts:
        where = "/".join(p for p in (alert["service"], alert["step"]) if p) or "-"
        print(
            f"{alert['kiosk_id']:<20} {alert['kind']:<19} {alert['status']:<6}"
            f" waiting {alert['waiting_s']:.0f} s"
            f"  screen {alert['screen']}  service/step {where}  raised {alert['raised_at']}"
            f"  id {alert['alert_id']}"
        )
    return 0


def cmd_jobs(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        result: Any
        if args.action == "take":
            result = store.take(args.worker)
            if result is None:
                print("no request waiting", file=sys.stderr)
                return 3
            cli_audit(store, "take", result["request_id"], f"worker {args.worker}")
        elif args.action == "list":
            result = store.list(args.status, args.limit)
        else:
            status = "done" if args.action == "complete" else "rejected"
            if args.action == "reject" and not args.reason:
                raise CliError("reject needs --reason (residents see it on the status page)")
            if not store.finish(args.request_id, status, args.reason or ""):
                raise CliError(f"request {args.request_id} is unknown or already finished")
            cli_audit(store, args.action, args.request_id, args.reason or "")
            result = {"request_id": args.request_id, "status": status}
    finally:
        store.close()
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kiosk-backend", description="Reference backend of the police kiosk."
    )
    parser.add_argument("-v", "--verbose", action="store_true")
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP ingest")
    serve.add_argument("--store", required=True, help="sqlite:///PATH or postgresql://...")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8700, help="0 picks a free port (printed)")
    serve.add_argument(
        "--trust",
        action="append",
        default=[],
        metavar="DIR",
        help="enrol the kiosks whose config `kiosk-tech config init` wrote in DIR",
    )
    serve.add_argument(
        "--trust-key",
        action="append",
        default=[],
        metavar="ID[:KIOSK]=FILE",
        help="enrol a key file (repeat a key id with another file: several active secrets, for rotation)",
    )
    serve.add_argument(
        "--keys", action="append", default=[], metavar="TOML", help="[keys.ID] kiosk_id, secret_files"
    )
    # retired: per-person accounts and tokens (kiosk-backend staff ...) replace one shared token
    serve.add_argument("--staff-token", default=None, help=argparse.SUPPRESS)
    serve.add_argument("--staff-token-file", default="", help=argparse.SUPPRESS)
    serve.add_argument(
        "--simulate", action="store_true", help="mount the simulation-only routes (simulate-paid)"
    )
    serve.add_argument(
        "--workers", type=int, default=1, metavar="N", help="worker processes on one socket (PostgreSQL)"
    )
    serve.add_argument(
        "--header-timeout", type=float, default=10.0, metavar="S", help="close if a request head takes longer"
    )
    serve.add_argument(
        "--body-timeout", type=float, default=30.0, metavar="S", help="close if a body lags its head more"
    )
    serve.add_argument(
        "--max-connections", type=int, default=256, metavar="N", help="per worker; past it, 503"
    )
    serve.add_argument("--paid-after-polls", type=int, default=3, help="simulated payments: polls until paid")
    serve.add_argument(
        "--console-idle-min", type=float, default=15, metavar="MIN",
        help="staff console: a session idle this long ends (default 15)",
    )  # fmt: skip
    serve.add_argument(
        "--silent-after", type=float, default=300, metavar="S",
        help="staff console: flag kiosks without a heartbeat this long (default 300)",
    )  # fmt: skip
    serve.add_argument(
        "--tls-cert", default="", metavar="PEM", help="serve HTTPS with this certificate chain"
    )
    serve.add_argument("--tls-key", default="", metavar="PEM", help="the certificate's private key")
    serve.add_argument(
        "--tls-client-ca", default="", metavar="PEM", help="require client certificates from this CA"
    )
    serve.add_argument(
        "--answer-delay-ms",
        type=float,
        default=0,
        metavar="MS",
        help="testing: wait this long between storing a request and answering",
    )
    serve.add_argument(
        "--parent-pid",
        type=int,
        default=0,
        metavar="PID",
        help="stop when this process is gone (the kiosk's local backend must not outlive a killed kiosk)",
    )
    from backend.register_cli import add_identity_commands, add_serve_options
    from backend.vehicles_cli import add_vehicle_commands, add_vehicle_serve_options

    add_serve_options(serve)
    serve.add_argument("--demo-fines", action="store_true", help="enrol the demo licences and fines afresh")
    add_vehicle_serve_options(serve)
    serve.set_defaults(func=cmd_serve)
    stats = sub.add_parser("stats", help="counts of stored requests and absorbed duplicates")
    stats.add_argument("--store", required=True)
    stats.add_argument("--json", action="store_true")
    stats.set_defaults(func=cmd_stats)
    kiosks = sub.add_parser(
        "kiosks", help="each kiosk's latest heartbeat and step analytics; flags silent ones"
    )
    kiosks.add_argument("--store", required=True)
    kiosks.add_argument("--json", action="store_true")
    kiosks.add_argument(
        "--silent-after", type=float, default=300, metavar="S", help="flag kiosks silent this long"
    )
    kiosks.set_defaults(func=cmd_kiosks)
    alerts = sub.add_parser("alerts", help="open help alerts (a resident is waiting for staff)")
    alerts.add_argument("--store", required=True)
    alerts.add_argument("--json", action="store_true")
    alerts.add_argument("--all", action="store_true", help="closed alerts too")
    alerts.add_argument("--close", metavar="ALERT_ID", default="", help="mark an alert attended")
    alerts.set_defaults(func=cmd_alerts)
    jobs = sub.add_parser("jobs", help="take, complete or reject requests")
    jobs.add_argument("action", choices=["take", "complete", "reject", "list"])
    jobs.add_argument("request_id", nargs="?", default="")
    jobs.add_argument("--store", required=True)
    jobs.add_argument("--worker", default="cli")
    jobs.add_argument("--reason", default="")
    jobs.add_argument("--status", choices=["received", "in_progress", "done", "rejected"])
    jobs.add_argument("--limit", type=int, default=50)
    jobs.set_defaults(func=cmd_jobs)
    add_staff_commands(sub)
    add_identity_commands(sub)
    from backend.fines_cli import add_fines_commands

    add_fines_commands(sub)
    add_vehicle_commands(sub)
    from backend.households import add_household_commands

    add_household_commands(sub)
    return parser


def log_handler() -> logging.Handler:
    """The backend's log, on stderr: request bodies carry ID numbers, so every formatted line
    (a traceback included) has them masked."""
    handler = logging.StreamHandler()
    handler.setFormatter(IdMaskingFormatter("%(levelname)s %(name)s: %(message)s"))
    return handler


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING, handlers=[log_handler()])
    if getattr(args, "action", None) in ("complete", "reject") and not args.request_id:
        print("error: complete/reject need a request id", file=sys.stderr)
        return 2
    try:
        return int(args.func(args))
    except (CliError, StaffCliError, StoreError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
