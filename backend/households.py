"""The household register stand-in (户籍): who lives in which household, and the route that asks it.

A household certificate may be asked for a member of one's own household (issue #19): the kiosk
sends the applicant's number (from the card read and face-checked) and the member's number typed,
and the backend answers only whether both are registered in the same household: never the
household's number, its address or who else lives there.

    POST /v1/lookup/household   {"id_number", "member_id_number"}
                                -> {"same_household": bool, "reason": "" | "applicant_unknown" |
                                    "member_unknown" | "different_household"}

A real deployment asks the population information system (人口信息系统) instead. Here the members are
synthetic, in the backend's store (SQLite or PostgreSQL), enrolled with

    kiosk-backend household add --store URL --id-number N --household H [--relation R]
    kiosk-backend household list --store URL [--json]      ID numbers masked
    kiosk-backend household remove N --store URL

or, for the demo kiosk's simulated backend (``serve --simulate``), from ``demo_households.toml``
beside this module, enrolled before the first look-up (numbers already enrolled are kept), as the
face register enrols the demo residents.
"""

from __future__ import annotations

import argparse
import json
import logging
import re
import threading
import tomllib
import weakref
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.register import id_check_ok, mask_number
from backend.store import Store, open_store, utc_now

log = logging.getLogger(__name__)

DEMO_FILE = Path(__file__).with_name("demo_households.toml")
_HOUSEHOLD_RE = re.compile(r"^[A-Za-z0-9-]{1,32}$")
RELATIONS = (
    "head", "spouse", "child", "parent", "grandchild", "grandparent", "sibling", "other",
)  # fmt: skip
_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS household_members (id_number TEXT PRIMARY KEY,"
    " household_no TEXT NOT NULL, relation TEXT NOT NULL, enrolled_at TEXT NOT NULL)"
)


class HouseholdError(Exception):
    """An enrolment refused: one line for a person, numbers masked."""


class Households:
    """Household membership in the backend's store (its own table, made on first use)."""

    def __init__(self, store: Store) -> None:
        self.store = store
        with store.transaction() as cur:
            store._exec(cur, _SCHEMA)

    def add(self, id_number: str, household_no: str, relation: str = "other") -> None:
        number = id_number.strip().upper()
        if not id_check_ok(number):
            raise HouseholdError(f"{mask_number(number)} is not a valid ID number (GB 11643 check)")
        if not _HOUSEHOLD_RE.match(household_no):
            raise HouseholdError("the household number must be 1-32 letters, digits or dashes")
        if relation not in RELATIONS:
            raise HouseholdError(f"relation must be one of {', '.join(RELATIONS)}")
        with self.store.transaction() as cur:
            self.store._exec(cur, "DELETE FROM household_members WHERE id_number = ?", (number,))
            self.store._exec(
                cur,
                "INSERT INTO household_members (id_number, household_no, relation, enrolled_at)"
                " VALUES (?, ?, ?, ?)",
                (number, household_no, relation, utc_now()),
            )
        log.info("households: enrolled %s", mask_number(number))

    def household_of(self, id_number: str) -> str | None:
        with self.store.transaction() as cur:
            row = self.store._exec(
                cur,
                "SELECT household_no FROM household_members WHERE id_number = ?",
                (id_number.strip().upper(),),
            ).fetchone()
        return None if row is None else str(row[0])

    def remove(self, id_number: str) -> bool:
        with self.store.transaction() as cur:
            self.store._exec(
                cur, "DELETE FROM household_members WHERE id_number = ?", (id_number.strip().upper(),)
            )
            return bool(cur.rowcount == 1)

    def list(self) -> list[dict[str, str]]:
        """Every member, numbers masked, grouped by household."""
        with self.store.transaction() as cur:
            rows = self.store._exec(
                cur,
                "SELECT household_no, id_number, relation, enrolled_at FROM household_members"
                " ORDER BY household_no, id_number",
            ).fetchall()
        keys = ("household_no", "id_number", "relation", "enrolled_at")
        return [dict(zip(keys, (r[0], mask_number(r[1]), r[2], r[3]), strict=True)) for r in rows]

    def enrol_file(self, path: Path) -> int:
        """Enrol every member of a TOML file not enrolled yet; returns how many were added.
        ``[[household]] number = "H1"`` with ``members = [{id_number, relation}]``."""
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise HouseholdError(f"cannot read the households file {path}: {exc}") from exc
        added = 0
        for household in data.get("household", []):
            for member in household.get("members", []):
                number = str(member.get("id_number", ""))
                if self.household_of(number) is None:
                    self.add(number, str(household.get("number", "")), str(member.get("relation", "other")))
                    added += 1
        return added

    def check(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """The look-up: are both numbers in one household? (status, answer)"""
        applicant = data.get("id_number")
        member = data.get("member_id_number")
        if not isinstance(applicant, str) or not isinstance(member, str):
            return 400, {"error": "id_number_and_member_id_number_required"}
        if not id_check_ok(applicant.strip().upper()) or not id_check_ok(member.strip().upper()):
            return 400, {"error": "invalid_id_number"}
        own, theirs = self.household_of(applicant), self.household_of(member)
        reason = ""
        if own is None:
            reason = "applicant_unknown"
        elif theirs is None:
            reason = "member_unknown"
        elif own != theirs:
            reason = "different_household"
        outcome = reason or "same household"
        log.info("household check %s / %s: %s", mask_number(applicant), mask_number(member), outcome)
        return 200, {"same_household": not reason, "reason": reason}


# one Households per store (the route's backend is per worker process); the demo file is enrolled
# once per store when the backend simulates
_BY_STORE: weakref.WeakKeyDictionary[Store, Households] = weakref.WeakKeyDictionary()
_LOCK = threading.Lock()


def households_of(store: Store, *, demo: bool = False) -> Households:
    with _LOCK:
        found = _BY_STORE.get(store)
        if found is None:
            found = _BY_STORE[store] = Households(store)
            if demo:
                added = found.enrol_file(DEMO_FILE)
                log.info("households: %d demo members enrolled from %s", added, DEMO_FILE.name)
        return found


def households_router() -> APIRouter:
    """The signed household look-up (mounted by :func:`backend.asgi.create_app`)."""
    from backend import models
    from backend.asgi import answer, backend_of, documented, json_object, read_signed

    router = APIRouter()

    @router.post(
        "/v1/lookup/household",
        **documented(
            "Whether two people are registered in the same household (nothing else about it)",
            {200: ("answer", models.HouseholdAnswer), 400: ("bad input", models.Problem)},
            body="HouseholdBody",
        ),
    )
    async def household(request: Request) -> Response:
        _verified, body = await read_signed(request)
        data = json_object(body)
        backend = backend_of(request)
        households = await run_in_threadpool(households_of, backend.store, demo=backend.simulate)
        status, found = await run_in_threadpool(households.check, data)
        return answer(status, found)

    return router


# -- kiosk-backend household ... --------------------------------------------------------------------


def add_household_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("household", help="the household register stand-in: enrol synthetic members")
    cmd.add_argument("action", choices=["add", "list", "remove", "enrol-demo"])
    cmd.add_argument("id_positional", nargs="?", default="", metavar="ID_NUMBER", help="for remove")
    cmd.add_argument("--store", required=True)
    cmd.add_argument("--id-number", default="")
    cmd.add_argument("--household", default="", metavar="NUMBER", help="the household (户号)")
    cmd.add_argument("--relation", default="other", choices=RELATIONS, help="relation to the head")
    cmd.add_argument("--json", action="store_true")
    cmd.set_defaults(func=cmd_household)


def cmd_household(args: argparse.Namespace) -> int:
    from backend.cli import CliError

    store = open_store(args.store)
    try:
        households = Households(store)
        try:
            if args.action == "add":
                households.add(args.id_number, args.household, args.relation)
                print(f"enrolled {mask_number(args.id_number)} in household {args.household}")
            elif args.action == "enrol-demo":
                print(f"enrolled {households.enrol_file(DEMO_FILE)} demo members")
            elif args.action == "remove":
                number = args.id_positional or args.id_number
                if not households.remove(number):
                    raise CliError(f"{mask_number(number)} is in no household")
                print(f"removed {mask_number(number)}")
            else:
                members = households.list()
                if args.json:
                    print(json.dumps({"members": members}, ensure_ascii=False))
                elif not members:
                    print("no household members enrolled")
                for m in [] if args.json else members:
                    print(f"{m['household_no']}  {m['id_number']}  {m['relation']}  {m['enrolled_at']}")
        except HouseholdError as exc:
            raise CliError(str(exc)) from exc
        return 0
    finally:
        store.close()
