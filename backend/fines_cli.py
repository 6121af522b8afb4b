"""``kiosk-backend fines ...``: enrol the traffic-management stand-in's synthetic data.

    kiosk-backend fines licence --store URL --id-number N --name NAME [--class C1] [--points P]
                                [--status valid|suspended|revoked]
    kiosk-backend fines vehicle --store URL --plate 京A12345 --owner N
    kiosk-backend fines violation --store URL --id V1 --plate P --at "2026-11-03 17:20"
                                  --what 闯红灯/"Running a red light" --where 示例路/"Example Rd"
                                  --fine-fen 20000 --points 6 [--source camera|officer] [--decided DATE]
    kiosk-backend fines show --store URL --id-number N     the licence and open violations (JSON)
    kiosk-backend fines demo-enrol --store URL             the demo kiosk's data (serve --demo-fines)

Exit codes: 0 done, 1 refused (one line on stderr), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json

from backend.cli import CliError
from backend.fines import FinesError, FinesRegister, demo_enrol
from backend.register import mask_number
from backend.store import open_store


def _pair(text: str) -> tuple[str, str]:
    zh, _, en = text.partition("/")
    return zh.strip(), (en or zh).strip()


def cmd_fines(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        fines = FinesRegister(store)
        if args.action == "licence":
            fines.add_licence(
                args.id_number, args.name, args.licence_class, status=args.status, points=args.points
            )
            print(f"licence of {mask_number(args.id_number)} enrolled")
        elif args.action == "vehicle":
            fines.add_vehicle(args.plate, args.owner)
            print(f"vehicle {args.plate} enrolled")
        elif args.action == "violation":
            fines.add_violation(
                args.id, args.plate, args.at, description=_pair(args.what), place=_pair(args.where),
                amount_fen=args.fine_fen, points=args.points, source=args.source, decided_at=args.decided,
            )  # fmt: skip
            print(f"violation {args.id} enrolled")
        elif args.action == "show":
            print(json.dumps(fines.by_holder(args.id_number), ensure_ascii=False))
        else:
            demo_enrol(fines)
            print("demo licences, vehicles and violations enrolled")
        return 0
    except (FinesError, ValueError) as exc:
        raise CliError(str(exc)) from exc
    finally:
        store.close()


def add_fines_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("fines", help="the traffic-management stand-in: licences, vehicles, violations")
    p.add_argument("action", choices=["licence", "vehicle", "violation", "show", "demo-enrol"])
    p.add_argument("--store", required=True)
    p.add_argument("--id-number", default="")
    p.add_argument("--name", default="")
    p.add_argument("--class", dest="licence_class", default="C1")
    p.add_argument("--status", default="valid", choices=["valid", "suspended", "revoked"])
    p.add_argument("--points", type=int, default=0)
    p.add_argument("--plate", default="")
    p.add_argument("--owner", default="")
    p.add_argument("--id", default="", help="violation: its id")
    p.add_argument("--at", default="", help="violation: when, YYYY-MM-DD HH:MM")
    p.add_argument("--what", default="", help="violation: 中文/English")
    p.add_argument("--where", default="", help="violation: 中文/English")
    p.add_argument("--fine-fen", type=int, default=0)
    p.add_argument("--source", default="camera", choices=["camera", "officer"])
    p.add_argument("--decided", default="", metavar="DATE", help="violation: already decided on DATE")
    p.set_defaults(func=cmd_fines)
