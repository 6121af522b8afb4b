"""``kiosk-backend vehicles ...``: enrol the synthetic licences, vehicles and health-check records
the vehicle services look up (backend/vehicles.py), and ``serve --enrol-vehicles FILE``.

    kiosk-backend vehicles add-licence --store URL --id-number N --name NAME --class C1
                                       --valid-to DATE [--first-issued DATE] [--status S] [--points P]
    kiosk-backend vehicles add-vehicle --store URL --plate P --owner N --registered DATE
                                       --insurance-to DATE [--plate-type T] [--use U] [--body B]
                                       [--violations N] [--injury-accident] [--brand B] [--colour C]
    kiosk-backend vehicles add-health-check --store URL --record-no R --id-number N --exam-date DATE
                                       [--result pass|fail] [--hospital H]
    kiosk-backend vehicles enrol FILE.json --store URL   (replaces what the file names)
    kiosk-backend vehicles list --store URL [--json]     ID numbers masked
    kiosk-backend vehicles remove licence|vehicle|health-check KEY --store URL

Dates are YYYY-MM-DD or relative to today (``+30d``; a negative one after ``=``: ``--exam-date=-20d``).
Exit codes: 0 done, 1 refused (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from backend.cli import CliError
from backend.store import Store, open_store
from backend.vehicles import VehicleRegister, VehicleRegisterError


def add_vehicle_serve_options(serve: argparse.ArgumentParser) -> None:
    serve.add_argument(
        "--enrol-vehicles",
        default="",
        metavar="FILE.json",
        help="enrol these licences, vehicles and health-check records at start (the demo kiosk's)",
    )


def enrol_at_start(args: argparse.Namespace, store: Store) -> None:
    """``serve --enrol-vehicles FILE``: enrolled once, before the workers start."""
    if not getattr(args, "enrol_vehicles", ""):
        return
    try:
        VehicleRegister(store).enrol_file(Path(args.enrol_vehicles))
    except VehicleRegisterError as exc:
        raise CliError(str(exc)) from exc


def cmd_vehicles(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        register = VehicleRegister(store)
        try:
            return _run(args, register)
        except VehicleRegisterError as exc:
            raise CliError(str(exc)) from exc
    finally:
        store.close()


def _need(args: argparse.Namespace, *names: str) -> None:
    missing = ["--" + n.replace("_", "-") for n in names if not getattr(args, n)]
    if missing:
        raise CliError(f"vehicles {args.action} needs {', '.join(missing)}")


def _run(args: argparse.Namespace, register: VehicleRegister) -> int:
    if args.action == "add-licence":
        _need(args, "id_number", "name", "licence_class", "valid_to")
        register.add_licence(
            args.id_number, name=args.name, licence_class=args.licence_class, valid_to=args.valid_to,
            first_issued=args.first_issued, status=args.status, points=args.points,
        )  # fmt: skip
        print("licence enrolled")
    elif args.action == "add-vehicle":
        _need(args, "plate", "owner", "registered", "insurance_to")
        register.add_vehicle(
            args.plate, owner=args.owner, plate_type=args.plate_type, brand=args.brand, colour=args.colour,
            use_type=args.use, body_type=args.body, registered=args.registered,
            insurance_valid_to=args.insurance_to, violations_outstanding=args.violations,
            injury_accident=args.injury_accident,
        )  # fmt: skip
        print(f"vehicle {args.plate.upper()} enrolled")
    elif args.action == "add-health-check":
        _need(args, "record_no", "id_number", "exam_date")
        register.add_health_check(
            args.record_no, id_number=args.id_number, exam_date=args.exam_date, result=args.result,
            hospital=args.hospital,
        )  # fmt: skip
        print("health-check record enrolled")
    elif args.action == "enrol":
        if not args.key:
            raise CliError("vehicles enrol needs the FILE.json")
        print(f"enrolled {register.enrol_file(Path(args.key))} entries")
    elif args.action == "list":
        listing = register.listing()
        if args.json:
            print(json.dumps(listing, ensure_ascii=False))
        else:
            for kind, rows in listing.items():
                print(f"{kind}: {len(rows)}")
                for row in rows:
                    print("  " + "  ".join(str(v) for v in row.values()))
    else:  # remove
        if args.what not in ("licence", "vehicle", "health-check") or not args.key:
            raise CliError("vehicles remove needs licence|vehicle|health-check and its key")
        if not register.remove(args.what, args.key):
            raise CliError(f"no such {args.what}")
        print(f"removed the {args.what}")
    return 0


def add_vehicle_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("vehicles", help="the vehicle register stand-in: licences, vehicles, health checks")
    p.add_argument(
        "action", choices=["add-licence", "add-vehicle", "add-health-check", "enrol", "list", "remove"]
    )
    p.add_argument(
        "what", nargs="?", default="", help="enrol: FILE.json; remove: licence|vehicle|health-check"
    )
    p.add_argument("key", nargs="?", default="", help="remove: the ID number, plate or record number")
    p.add_argument("--store", required=True)
    p.add_argument("--id-number", default="")
    p.add_argument("--name", default="")
    p.add_argument("--class", dest="licence_class", default="")
    p.add_argument("--valid-to", default="")
    p.add_argument("--first-issued", default="")
    p.add_argument("--status", default="normal")
    p.add_argument("--points", type=int, default=0)
    p.add_argument("--plate", default="")
    p.add_argument("--owner", default="", metavar="ID_NUMBER")
    p.add_argument("--plate-type", default="small")
    p.add_argument("--use", default="non_commercial", choices=["non_commercial", "commercial"])
    p.add_argument("--body", default="sedan")
    p.add_argument("--brand", default="")
    p.add_argument("--colour", default="")
    p.add_argument("--registered", default="")
    p.add_argument("--insurance-to", default="")
    p.add_argument("--violations", type=int, default=0)
    p.add_argument("--injury-accident", action="store_true")
    p.add_argument("--record-no", default="")
    p.add_argument("--exam-date", default="")
    p.add_argument("--result", default="pass", choices=["pass", "fail"])
    p.add_argument("--hospital", default="")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=_entry)


def _entry(args: argparse.Namespace) -> int:
    if args.action == "enrol":
        args.key = args.what  # enrol FILE: the one positional
    return cmd_vehicles(args)
