"""The traffic-management stand-in (交通管理信息系统): driving licences, vehicles, violations and
penalty decisions, in the backend's store; and its signed routes.

A real deployment answers these from the traffic police's own system; this register lets the
kiosk's rules run end to end on synthetic data, enrolled by command (``kiosk-backend fines ...``,
:mod:`backend.fines_cli`) or, for the demo kiosk, by ``demo-enrol`` (:func:`demo_enrol`) at
backend start.

    POST /v1/fines/by-holder   {"id_number"}  the holder identified on the kiosk (card + face):
        {"licence": {...} | null, "violations": [...]} of the vehicles registered to them
    POST /v1/fines/by-plate    {"plate"}     a plate alone: what is outstanding, never when or where
    POST /v1/fines/by-decision {"decision_no"}  one decided fine, payable without identification:
        amount and decision date, never the time, the place or who
    POST /v1/fines/decide      {"id_number", "violation_ids"}  the holder confirms camera-recorded
        violations: each gets a penalty decision number (决定书编号), the licence its points
    POST /v1/fines/settle      {"decision_nos", "payment_id"}  mark decided fines paid once the
        payment provider says the order is paid (its fiscal e-receipt number is kept)

The licence's driving-licence number is the holder's ID number (GB 11643), as on a Chinese licence.
Points are counted per scoring cycle (记分周期, 12 months from the first licence date); the register
refuses a decision that would bring the cycle's points to 12 (满分), whatever a kiosk's rules say.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.register import id_check_ok, mask_number
from backend.store import Store, utc_now

if TYPE_CHECKING:
    from backend.payments import PaymentProvider

log = logging.getLogger(__name__)

FULL_POINTS = 12
_TABLES = (
    """CREATE TABLE IF NOT EXISTS fine_licences (
        id_number TEXT PRIMARY KEY, name TEXT NOT NULL, licence_class TEXT NOT NULL,
        status TEXT NOT NULL, points INTEGER NOT NULL, cycle_end TEXT NOT NULL, enrolled_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS fine_vehicles (
        plate TEXT PRIMARY KEY, owner_id_number TEXT NOT NULL, enrolled_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS fine_violations (
        violation_id TEXT PRIMARY KEY, plate TEXT NOT NULL, occurred_at TEXT NOT NULL,
        place_zh TEXT NOT NULL, place_en TEXT NOT NULL, description_zh TEXT NOT NULL,
        description_en TEXT NOT NULL, amount_fen INTEGER NOT NULL, points INTEGER NOT NULL,
        source TEXT NOT NULL, status TEXT NOT NULL, decision_no TEXT UNIQUE, decided_at TEXT,
        payment_id TEXT, fiscal_receipt_no TEXT, paid_at TEXT)""",
)
_COLUMNS = (
    "violation_id, plate, occurred_at, place_zh, place_en, description_zh, description_en,"
    " amount_fen, points, source, status, decision_no, decided_at, fiscal_receipt_no"
)
SOURCES = ("camera", "officer")  # 电子监控 (to be confirmed by the driver) or a ticket on the spot


class FinesError(Exception):
    """An enrolment or a decision refused: ``code`` is the machine word the route answers."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(detail or code)
        self.code = code


def _row(row: Any) -> dict[str, Any]:
    keys = [k.strip() for k in _COLUMNS.split(",")]
    item = dict(zip(keys, row, strict=True))
    item["date"] = str(item["occurred_at"])[:10]
    item["decided"] = item["status"] != "unprocessed"
    return item


def decision_number(violation_id: str, when: date) -> str:
    """A 决定书编号: region (6), year (4), then a 6-digit serial derived from the violation (the
    same violation always gets the same number, so a retried decision answers it again)."""
    serial = int(hashlib.sha256(violation_id.encode("utf-8")).hexdigest()[:10], 16) % 10**6
    return f"990000{when.year:04d}{serial:06d}"


class FinesRegister:
    """Licences, vehicles and violations in ``store`` (tables made on first use)."""

    def __init__(self, store: Store, today: Any = None) -> None:
        self.store = store
        self._today = today or (lambda: datetime.now(UTC).date())
        self._ready = False

    def _schema(self) -> None:
        if not self._ready:
            with self.store.transaction() as cur:
                for ddl in _TABLES:
                    cur.execute(ddl)
            self._ready = True

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        self._schema()
        with self.store.transaction() as cur:
            return list(self.store._exec(cur, sql, params).fetchall())

    # -- enrolment --------------------------------------------------------------------------------
    def add_licence(
        self, id_number: str, name: str, licence_class: str = "C1", *, status: str = "valid",
        points: int = 0, cycle_end: str = "",
    ) -> None:  # fmt: skip
        """Enrol (or replace) a driving licence; its number is the holder's ID number."""
        number = id_number.strip().upper()
        if not id_check_ok(number):
            raise FinesError("bad_id_number", f"{mask_number(number)} is not a valid ID number")
        if not 0 <= points < FULL_POINTS:
            raise FinesError("bad_points", f"points must be 0 to {FULL_POINTS - 1}")
        cycle_end = cycle_end or self._today().replace(year=self._today().year + 1).isoformat()
        self._schema()
        with self.store.transaction() as cur:
            self.store._exec(cur, "DELETE FROM fine_licences WHERE id_number = ?", (number,))
            self.store._exec(
                cur,
                "INSERT INTO fine_licences (id_number, name, licence_class, status, points, cycle_end,"
                " enrolled_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (number, name, licence_class, status, points, cycle_end, utc_now()),
            )

    def add_vehicle(self, plate: str, owner_id_number: str) -> None:
        owner = owner_id_number.strip().upper()
        if not id_check_ok(owner):
            raise FinesError("bad_id_number", f"{mask_number(owner)} is not a valid ID number")
        self._schema()
        with self.store.transaction() as cur:
            self.store._exec(cur, "DELETE FROM fine_vehicles WHERE plate = ?", (plate,))
            self.store._exec(
                cur, "INSERT INTO fine_vehicles (plate, owner_id_number, enrolled_at) VALUES (?, ?, ?)",
                (plate, owner, utc_now()),
            )  # fmt: skip

    def add_violation(
        self, violation_id: str, plate: str, occurred_at: str, *, description: tuple[str, str],
        place: tuple[str, str], amount_fen: int, points: int, source: str = "camera",
        decided_at: str = "",
    ) -> None:  # fmt: skip
        """Record a violation; ``decided_at`` (a date) records one already decided (a ticket given
        on the spot, or a camera record the driver confirmed earlier), with its decision number."""
        if source not in SOURCES or amount_fen < 0 or not 0 <= points <= FULL_POINTS:
            raise FinesError("bad_violation", "source camera|officer, amount >= 0, points 0-12")
        decided = date.fromisoformat(decided_at) if decided_at else None
        number = decision_number(violation_id, decided) if decided else None
        self._schema()
        with self.store.transaction() as cur:
            self.store._exec(cur, "DELETE FROM fine_violations WHERE violation_id = ?", (violation_id,))
            self.store._exec(
                cur,
                f"INSERT INTO fine_violations ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    violation_id, plate, occurred_at, place[0], place[1], description[0], description[1],
                    amount_fen, points, source, "decided" if decided else "unprocessed", number,
                    decided.isoformat() if decided else None, None,
                ),
            )  # fmt: skip

    # -- look-ups ---------------------------------------------------------------------------------
    def licence(self, id_number: str) -> dict[str, Any] | None:
        rows = self._query(
            "SELECT licence_class, status, points, cycle_end FROM fine_licences WHERE id_number = ?",
            (id_number.strip().upper(),),
        )
        if not rows:
            return None
        cls, status, points, cycle_end = rows[0]
        return {
            "licence_class": cls, "status": status, "points": int(points),
            "points_left": FULL_POINTS - int(points), "cycle_end": cycle_end,
        }  # fmt: skip

    def by_holder(self, id_number: str) -> dict[str, Any]:
        """The licence and the outstanding violations of the vehicles registered to the holder."""
        number = id_number.strip().upper()
        rows = self._query(
            f"SELECT {', '.join('v.' + c.strip() for c in _COLUMNS.split(','))} FROM fine_violations v"
            " JOIN fine_vehicles o ON o.plate = v.plate WHERE o.owner_id_number = ? AND v.status <> 'paid'"
            " ORDER BY v.occurred_at",
            (number,),
        )
        return {"licence": self.licence(number), "violations": [_row(r) for r in rows]}

    def by_plate(self, plate: str) -> list[dict[str, Any]]:
        """What is outstanding on a plate, for anyone who types it: what and how much, never when,
        where or the decision number (which pays it, and dates it)."""
        rows = self._query(
            f"SELECT {_COLUMNS} FROM fine_violations WHERE plate = ? AND status <> 'paid'"
            " ORDER BY occurred_at",
            (plate,),
        )
        keep = ("violation_id", "description_zh", "description_en", "amount_fen", "points", "decided")
        return [{k: item[k] for k in keep} for item in map(_row, rows)]

    def by_decision(self, decision_no: str) -> dict[str, Any] | None:
        """A decided, unpaid fine by its decision number: the amount and the decision's date only."""
        rows = self._query(f"SELECT {_COLUMNS} FROM fine_violations WHERE decision_no = ?", (decision_no,))
        if not rows:
            return None
        item = _row(rows[0])
        keep = ("violation_id", "description_zh", "description_en", "amount_fen", "points", "decision_no")
        return {
            **{k: item[k] for k in keep},
            "decided_at": item["decided_at"],
            "paid": item["status"] == "paid",
        }

    # -- decisions and payment --------------------------------------------------------------------
    def decide(self, id_number: str, violation_ids: list[str]) -> list[dict[str, Any]]:
        """The holder confirms camera-recorded violations of their vehicles: decision numbers
        issued, points added to the licence, in one transaction. Raises FinesError: no_licence,
        licence_not_valid, not_theirs, points_full."""
        number = id_number.strip().upper()
        licence = self.licence(number)
        if licence is None:
            raise FinesError("no_licence")
        if licence["status"] != "valid":
            raise FinesError("licence_not_valid")
        found = {item["violation_id"]: item for item in self.by_holder(number)["violations"]}
        if not violation_ids or any(v not in found for v in violation_ids):
            raise FinesError("not_theirs", "a violation is not of a vehicle registered to the holder")
        new = [found[v] for v in violation_ids if not found[v]["decided"]]
        added = sum(int(item["points"]) for item in new)
        if licence["points"] + added >= FULL_POINTS:
            raise FinesError("points_full", f"{licence['points']} + {added} points reach {FULL_POINTS}")
        today = self._today()
        with self.store.transaction() as cur:
            for item in new:
                item.update(decision_no=decision_number(item["violation_id"], today), status="decided")
                item.update(decided_at=today.isoformat(), decided=True)
                self.store._exec(
                    cur,
                    "UPDATE fine_violations SET status = 'decided', decision_no = ?, decided_at = ?"
                    " WHERE violation_id = ? AND status = 'unprocessed'",
                    (item["decision_no"], item["decided_at"], item["violation_id"]),
                )
            self.store._exec(
                cur, "UPDATE fine_licences SET points = points + ? WHERE id_number = ?", (added, number)
            )
        log.info("fines: %d violation(s) decided for %s, %d points", len(new), mask_number(number), added)
        return [found[v] for v in violation_ids]

    def settle(self, decision_nos: list[str], payment: dict[str, Any] | None) -> list[str]:
        """Mark decided fines paid by a paid order covering at least their fines."""
        if payment is None or payment.get("status") != "paid":
            raise FinesError("not_paid")
        items = [self.by_decision(n) for n in decision_nos]
        if not decision_nos or any(i is None for i in items):
            raise FinesError("unknown_decision")
        if int(payment["amount_fen"]) < sum(int(i["amount_fen"]) for i in items if i):
            raise FinesError("amount_short")
        with self.store.transaction() as cur:
            for n in decision_nos:
                self.store._exec(
                    cur,
                    "UPDATE fine_violations SET status = 'paid', payment_id = ?, fiscal_receipt_no = ?,"
                    " paid_at = ? WHERE decision_no = ? AND status = 'decided'",
                    (payment["payment_id"], payment.get("fiscal_receipt_no"), utc_now(), n),
                )
        return decision_nos


# -- the demo kiosk's synthetic data ---------------------------------------------------------------

DEMO_HOLDER = "99010119800315031X"  # 张三丰, the simulated reader's default card: four records
DEMO_NEAR_FULL = "993300196502010053"  # 李四 (sim card resident_long_term): 9 points; +6 is 12
DEMO_PLATES = {"京A12345": DEMO_HOLDER, "京B67890": DEMO_NEAR_FULL}
_RED = ("闯红灯", "Running a red light")
# id, plate, when, (zh, en), fine in fen, points, decided on (a ticket given on the spot) or ""
DEMO_VIOLATIONS = (
    ("V2026A1", "京A12345", "2026-10-12 08:41", ("违法停车", "Illegal parking"), 15000, 0, "2026-10-12"),
    ("V2026A2", "京A12345", "2026-11-03 17:20", ("违反禁止标线指示", "Ignoring road markings"), 10000, 1, ""),
    ("V2026A3", "京A12345", "2026-11-20 21:05", _RED, 20000, 6, ""),
    ("V2026A4", "京A12345", "2026-11-25 10:10", ("超速50%以上", "Speeding over 50%"), 200000, 12, ""),
    ("V2026B1", "京B67890", "2026-11-28 07:55", _RED, 20000, 6, ""),
)


def demo_enrol(fines: FinesRegister, *, if_absent: bool = False) -> bool:
    """The demo kiosk's licences, vehicles and violations, enrolled as replacements (``if_absent``:
    only into a register without them, so a restarted demo backend keeps what was decided)."""
    if if_absent and fines.licence(DEMO_HOLDER) is not None:
        return False
    fines.add_licence(DEMO_HOLDER, "张三丰", "C1", points=3)
    fines.add_licence(DEMO_NEAR_FULL, "李四", "C1", points=9)
    for plate, owner in DEMO_PLATES.items():
        fines.add_vehicle(plate, owner)
    road = ("示例路与测试街交叉口", "Example Rd at Test St")
    for vid, plate, at, what, fen, points, decided in DEMO_VIOLATIONS:
        source = "officer" if decided else "camera"
        fines.add_violation(
            vid, plate, at, description=what, place=road, amount_fen=fen, points=points, source=source,
            decided_at=decided,
        )  # fmt: skip
    return True


# -- routes ----------------------------------------------------------------------------------------


def _fines(request: Request) -> tuple[FinesRegister, PaymentProvider]:
    from backend.asgi import backend_of

    lookups = backend_of(request).lookups
    assert lookups.fines is not None  # Backend() binds the store
    return lookups.fines, lookups.payments


def _text(data: dict[str, Any], key: str) -> str:
    from backend.asgi import Refusal

    value = data.get(key)
    if not isinstance(value, str) or not value.strip():
        raise Refusal(400, f"{key}_required")
    return value.strip()


def fines_router() -> APIRouter:
    """The signed fines routes (replay-protected like every signed look-up)."""
    from backend import models as P
    from backend.asgi import Refusal, answer, backend_of, documented, json_object, read_signed

    r = APIRouter()
    bad = {400: ("bad input", P.Problem)}

    @r.post("/v1/fines/by-holder", **documented("Licence and violations of an identified holder",
            {200: ("licence and violations", P.FinesOfHolder), **bad}, body="LookupBody"))  # fmt: skip
    async def by_holder(request: Request) -> Response:
        verified, body = await read_signed(request)
        number = _text(json_object(body), "id_number")
        fines, _pay = _fines(request)
        found = await run_in_threadpool(fines.by_holder, number)
        log.info("fines of %s listed for kiosk %s", mask_number(number), verified.kiosk_id)
        return answer(200, found)

    @r.post("/v1/fines/by-plate", **documented("What is outstanding on a plate (no times or places)",
            {200: ("violations", P.PlateViolations), **bad}, body="LookupBody"))  # fmt: skip
    async def by_plate(request: Request) -> Response:
        _verified, body = await read_signed(request)
        plate = _text(json_object(body), "plate")
        found = await run_in_threadpool(_fines(request)[0].by_plate, plate)
        return answer(200, {"violations": found})

    unknown = {404: ("unknown", P.Problem)}

    @r.post("/v1/fines/by-decision", **documented("A decided fine by its decision number",
            {200: ("the fine", P.DecidedFine), **unknown, **bad}, body="DecisionBody"))  # fmt: skip
    async def by_decision(request: Request) -> Response:
        _verified, body = await read_signed(request)
        number = _text(json_object(body), "decision_no")
        found = await run_in_threadpool(_fines(request)[0].by_decision, number)
        return answer(200, {"fine": found}) if found else answer(404, {"error": "unknown_decision"})

    refused = {409: ("refused: {error: code}", P.Problem)}

    @r.post("/v1/fines/decide", **documented("Confirm camera-recorded violations: decision numbers",
            {200: ("decided", P.Violations), **refused, **bad}, body="DecideBody"))  # fmt: skip
    async def decide(request: Request) -> Response:
        _verified, body = await read_signed(request)
        data = json_object(body)
        ids = data.get("violation_ids")
        if not isinstance(ids, list) or not all(isinstance(v, str) for v in ids):
            raise Refusal(400, "violation_ids_required")
        try:
            done = await run_in_threadpool(_fines(request)[0].decide, _text(data, "id_number"), ids)
        except FinesError as exc:
            return answer(409, {"error": exc.code, "detail": str(exc)})
        return answer(200, {"violations": done})

    @r.post("/v1/fines/settle", **documented("Mark decided fines paid by a paid order",
            {200: ("settled", P.Ok), **refused, **bad}, body="SettleBody"))  # fmt: skip
    async def settle(request: Request) -> Response:
        _verified, body = await read_signed(request)
        data = json_object(body)
        numbers = data.get("decision_nos")
        if not isinstance(numbers, list) or not all(isinstance(n, str) for n in numbers):
            raise Refusal(400, "decision_nos_required")
        fines, pay = _fines(request)
        order = await run_in_threadpool(lambda: pay.status(_text(data, "payment_id"), poll=False))
        try:
            await run_in_threadpool(fines.settle, numbers, order)
        except FinesError as exc:
            return answer(409, {"error": exc.code, "detail": str(exc)})
        return answer(200, {"ok": True})

    @r.post("/v1/payments/{payment_id}/code", **documented("Pay an order with the resident's payment code",
            {200: ("order (paid, or the refusal in error)", P.Payment), 404: ("unknown", P.Problem), **bad},
            body="PaymentCodeBody"))  # fmt: skip
    async def pay_with_code(request: Request, payment_id: str) -> Response:
        _verified, body = await read_signed(request)
        lookups = backend_of(request).lookups
        status, found = await run_in_threadpool(
            lookups.payment, payment_id, "POST", "/code", json_object(body)
        )
        return answer(status, found)

    return r
