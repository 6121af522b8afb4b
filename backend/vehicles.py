"""The vehicle-administration register stand-in: driving licences, vehicles and their owners, and the
hospitals' electronic health-check records (电子体检), with the signed look-ups the vehicle services
ask.

A deployment replaces this with the traffic-management system (公安交通管理综合应用平台) and the
health-check records the hospitals upload; the routes and answer shapes stay the same. The data
are synthetic, enrolled with ``kiosk-backend vehicles add-licence | add-vehicle | add-health-check``
or from a JSON file (``kiosk-backend vehicles enrol FILE``, or ``serve --enrol-vehicles FILE`` at
start: the demo kiosk's, :mod:`kiosk.queue.demo_vehicles`), never hard-coded in the kiosk.

    POST /v1/vehicles/licence       {"id_number"}              -> {"licence": {...}} or 404
    POST /v1/vehicles/health-check  {"id_number", "record_no"} -> {"valid", "reason", "record"?}
    POST /v1/vehicles/owner-check   {"id_number", "plate"}     -> {"owner", "vehicle"?} or 404

The backend states facts (the licence, whether the record is this person's and passed, whether the
resident owns the vehicle, its insurance and outstanding violations); the kiosk applies the
service's rules to them (windows, ages, exemption years: data in ``config/services.toml``). A
stranger's vehicle is never described: ``owner-check`` answers only ``{"owner": false}``.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import threading
import weakref
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from backend.register import id_check_ok, mask_number
from backend.store import Store, utc_now

log = logging.getLogger(__name__)

TABLES = (
    """CREATE TABLE IF NOT EXISTS vehicle_licences (
        id_number TEXT PRIMARY KEY, name TEXT NOT NULL, licence_class TEXT NOT NULL,
        first_issued TEXT NOT NULL, valid_from TEXT NOT NULL, valid_to TEXT NOT NULL,
        status TEXT NOT NULL, points INTEGER NOT NULL, enrolled_at TEXT NOT NULL)""",
    """CREATE TABLE IF NOT EXISTS vehicle_records (
        plate TEXT PRIMARY KEY, plate_type TEXT NOT NULL, owner_id_number TEXT NOT NULL,
        brand TEXT NOT NULL, colour TEXT NOT NULL, use_type TEXT NOT NULL, body_type TEXT NOT NULL,
        registered TEXT NOT NULL, insurance_valid_to TEXT NOT NULL, violations_outstanding INTEGER NOT NULL,
        injury_accident BOOLEAN NOT NULL, status TEXT NOT NULL, enrolled_at TEXT NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS vehicle_records_owner ON vehicle_records (owner_id_number)",
    """CREATE TABLE IF NOT EXISTS health_checks (
        record_no TEXT PRIMARY KEY, id_number TEXT NOT NULL, hospital TEXT NOT NULL,
        exam_date TEXT NOT NULL, result TEXT NOT NULL, enrolled_at TEXT NOT NULL)""",
)

LICENCE_CLASSES = (
    "A1",
    "A2",
    "A3",
    "B1",
    "B2",
    "C1",
    "C2",
    "C3",
    "C4",
    "C5",
    "C6",
    "D",
    "E",
    "F",
    "M",
    "N",
    "P",
)
LICENCE_STATUSES = ("normal", "suspended", "revoked", "cancelled", "full_points")
# 号牌种类 (GA 36): the kiosk's plate-type ids
PLATE_TYPES = (
    "small", "large", "new_energy_small", "new_energy_large", "motorcycle", "light_motorcycle", "trailer",
)  # fmt: skip
USE_TYPES = ("non_commercial", "commercial")
BODY_TYPES = ("sedan", "suv", "mpv", "van", "truck", "motorcycle", "trailer")
_PLATE_RE = re.compile(r"^[\u4e00-\u9fff][A-Z][A-Z0-9]{4,6}[\u4e00-\u9fff]?$")
_RECORD_RE = re.compile(r"^[0-9]{8,20}$")
_RELATIVE = re.compile(r"^([+-])([0-9]{1,5})d$")


class VehicleRegisterError(Exception):
    """An enrolment refused (bad number, plate, date or value): one line for a person."""


def parse_date(text: object, *, today: dt.date | None = None) -> str:
    """An ISO date, or ``+30d`` / ``-400d`` relative to ``today`` (demo files stay current)."""
    value = str(text or "").strip()
    rel = _RELATIVE.match(value)
    if rel:
        days = int(rel.group(2)) * (1 if rel.group(1) == "+" else -1)
        return ((today or dt.date.today()) + dt.timedelta(days=days)).isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError as exc:
        raise VehicleRegisterError(f"{value!r} is not a date (YYYY-MM-DD or +Nd / -Nd)") from exc


def _number(text: object) -> str:
    number = str(text or "").strip().upper()
    if not id_check_ok(number):
        raise VehicleRegisterError(f"{mask_number(number)} is not a valid ID number (GB 11643 check)")
    return number


def _one_of(value: object, allowed: tuple[str, ...], what: str) -> str:
    text = str(value or "").strip()
    if text not in allowed:
        raise VehicleRegisterError(f"{what} {text!r} is not one of {', '.join(allowed)}")
    return text


_prepared: weakref.WeakSet[Store] = weakref.WeakSet()
_prepared_lock = threading.Lock()


class VehicleRegister:
    """Licences, vehicles and health-check records in the backend store (tables made on first use,
    so a store made before them gains them without a migration step)."""

    def __init__(self, store: Store, *, today: dt.date | None = None) -> None:
        self.store = store
        self._today = today
        with _prepared_lock:
            if store not in _prepared:
                with store.transaction() as cur:
                    for ddl in TABLES:
                        cur.execute(ddl)
                _prepared.add(store)

    @property
    def today(self) -> dt.date:
        return self._today or dt.date.today()

    def _put(self, table: str, key: str, columns: tuple[str, ...], values: tuple[Any, ...]) -> None:
        marks = ", ".join("?" for _ in columns)
        with self.store.transaction() as cur:
            self.store._exec(cur, f"DELETE FROM {table} WHERE {key} = ?", (values[0],))
            self.store._exec(cur, f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", values)

    # -- enrolment --------------------------------------------------------------------------------

    def add_licence(
        self,
        id_number: str,
        *,
        name: str,
        licence_class: str,
        valid_to: str,
        first_issued: str = "",
        valid_from: str = "",
        status: str = "normal",
        points: int = 0,
    ) -> dict[str, Any]:
        """Enrol (or replace) the driving licence of ``id_number`` (the licence number is the ID
        number, GA 482)."""
        number = _number(id_number)
        if not name.strip():
            raise VehicleRegisterError("the name is empty")
        to = parse_date(valid_to, today=self.today)
        since = parse_date(valid_from, today=self.today) if valid_from else (
            dt.date.fromisoformat(to) - dt.timedelta(days=6 * 365)
        ).isoformat()  # fmt: skip
        first = parse_date(first_issued, today=self.today) if first_issued else since
        if not 0 <= int(points) <= 12:
            raise VehicleRegisterError("points must be 0 to 12")
        row = (
            number, name.strip(), _one_of(licence_class, LICENCE_CLASSES, "licence class"), first, since, to,
            _one_of(status, LICENCE_STATUSES, "status"), int(points), utc_now(),
        )  # fmt: skip
        cols = ("id_number", "name", "licence_class", "first_issued", "valid_from", "valid_to", "status",
                "points", "enrolled_at")  # fmt: skip
        self._put("vehicle_licences", "id_number", cols, row)
        log.info("vehicles: licence of %s enrolled", mask_number(number))
        return self.licence(number) or {}

    def add_vehicle(
        self,
        plate: str,
        *,
        owner: str,
        plate_type: str = "small",
        brand: str = "",
        colour: str = "",
        use_type: str = "non_commercial",
        body_type: str = "sedan",
        registered: str,
        insurance_valid_to: str,
        violations_outstanding: int = 0,
        injury_accident: bool = False,
        status: str = "normal",
    ) -> dict[str, Any]:
        """Enrol (or replace) a vehicle and its registered owner."""
        plate = plate.strip().upper()
        if not _PLATE_RE.match(plate):
            raise VehicleRegisterError(f"{plate!r} is not a plate number (province, letter, 4-6 more)")
        if int(violations_outstanding) < 0:
            raise VehicleRegisterError("violations_outstanding must not be negative")
        row = (
            plate, _one_of(plate_type, PLATE_TYPES, "plate type"), _number(owner), brand.strip() or "-",
            colour.strip() or "-", _one_of(use_type, USE_TYPES, "use type"),
            _one_of(body_type, BODY_TYPES, "body type"), parse_date(registered, today=self.today),
            parse_date(insurance_valid_to, today=self.today), int(violations_outstanding),
            bool(injury_accident), _one_of(status, ("normal", "stolen", "seized", "scrapped"), "status"),
            utc_now(),
        )  # fmt: skip
        cols = ("plate", "plate_type", "owner_id_number", "brand", "colour", "use_type", "body_type",
                "registered", "insurance_valid_to", "violations_outstanding", "injury_accident", "status",
                "enrolled_at")  # fmt: skip
        self._put("vehicle_records", "plate", cols, row)
        log.info("vehicles: %s enrolled, owner %s", plate, mask_number(row[2]))
        return self.vehicle(plate) or {}

    def add_health_check(
        self, record_no: str, *, id_number: str, exam_date: str, result: str = "pass", hospital: str = ""
    ) -> dict[str, Any]:
        """Enrol (or replace) a hospital's electronic health-check record (电子体检)."""
        record_no = record_no.strip()
        if not _RECORD_RE.match(record_no):
            raise VehicleRegisterError(f"{record_no!r} is not a record number (8 to 20 digits)")
        row = (
            record_no, _number(id_number), hospital.strip() or "示例市人民医院",
            parse_date(exam_date, today=self.today), _one_of(result, ("pass", "fail"), "result"), utc_now(),
        )  # fmt: skip
        cols = ("record_no", "id_number", "hospital", "exam_date", "result", "enrolled_at")
        self._put("health_checks", "record_no", cols, row)
        log.info("vehicles: health-check record %s of %s enrolled", record_no[-4:], mask_number(row[1]))
        return self.health_check(record_no) or {}

    def enrol_file(self, path: Path) -> int:
        """Enrol (replacing) everything in a JSON file ``{"licences": [...], "vehicles": [...],
        "health_checks": [...]}`` whose keys are the ``add_*`` arguments; dates may be relative
        (``+30d``). Returns how many entries. Raises VehicleRegisterError naming the file."""
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise VehicleRegisterError(f"cannot read the vehicles file {path}: {exc}") from exc
        if not isinstance(doc, dict):
            raise VehicleRegisterError(f"{path}: not a JSON object")
        count = 0
        try:
            for item in doc.get("licences", []):
                self.add_licence(str(item.pop("id_number", "")), **item)
                count += 1
            for item in doc.get("vehicles", []):
                self.add_vehicle(str(item.pop("plate", "")), **item)
                count += 1
            for item in doc.get("health_checks", []):
                self.add_health_check(str(item.pop("record_no", "")), **item)
                count += 1
        except TypeError as exc:
            raise VehicleRegisterError(f"{path}: an entry with an unknown key: {exc}") from exc
        return count

    def remove(self, what: str, key: str) -> bool:
        table, column = {
            "licence": ("vehicle_licences", "id_number"),
            "vehicle": ("vehicle_records", "plate"),
            "health-check": ("health_checks", "record_no"),
        }[what]
        with self.store.transaction() as cur:
            self.store._exec(cur, f"DELETE FROM {table} WHERE {column} = ?", (key.strip().upper(),))
            return bool(cur.rowcount == 1)

    # -- look-ups ---------------------------------------------------------------------------------

    def _rows(self, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self.store.transaction() as cur:
            return list(self.store._exec(cur, sql, params).fetchall())

    def licence(self, id_number: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT id_number, name, licence_class, first_issued, valid_from, valid_to, status, points"
            " FROM vehicle_licences WHERE id_number = ?",
            (id_number.strip().upper(),),
        )
        if not rows:
            return None
        keys = ("licence_no", "name", "licence_class", "first_issued", "valid_from", "valid_to", "status",
                "points")  # fmt: skip
        return dict(zip(keys, rows[0], strict=True))

    def vehicle(self, plate: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT plate, plate_type, owner_id_number, brand, colour, use_type, body_type, registered,"
            " insurance_valid_to, violations_outstanding, injury_accident, status FROM vehicle_records"
            " WHERE plate = ?",
            (plate.strip().upper(),),
        )
        if not rows:
            return None
        keys = ("plate", "plate_type", "owner_id_number", "brand", "colour", "use_type", "body_type",
                "registered", "insurance_valid_to", "violations_outstanding", "injury_accident",
                "status")  # fmt: skip
        found = dict(zip(keys, rows[0], strict=True))
        found["injury_accident"] = bool(found["injury_accident"])
        return found

    def health_check(self, record_no: str) -> dict[str, Any] | None:
        rows = self._rows(
            "SELECT record_no, id_number, hospital, exam_date, result FROM health_checks WHERE record_no = ?",
            (record_no.strip(),),
        )
        keys = ("record_no", "id_number", "hospital", "exam_date", "result")
        return dict(zip(keys, rows[0], strict=True)) if rows else None

    def listing(self) -> dict[str, list[dict[str, Any]]]:
        """Everything enrolled, ID numbers masked (for ``vehicles list``)."""
        licences = self._rows("SELECT id_number, licence_class, valid_to, status FROM vehicle_licences")
        vehicles = self._rows("SELECT plate, plate_type, owner_id_number, registered FROM vehicle_records")
        checks = self._rows("SELECT record_no, id_number, exam_date, result FROM health_checks")
        return {
            "licences": [
                {"id_number": mask_number(r[0]), "licence_class": r[1], "valid_to": r[2], "status": r[3]}
                for r in licences
            ],
            "vehicles": [
                {"plate": r[0], "plate_type": r[1], "owner": mask_number(r[2]), "registered": r[3]}
                for r in vehicles
            ],
            "health_checks": [
                {"record_no": r[0], "id_number": mask_number(r[1]), "exam_date": r[2], "result": r[3]}
                for r in checks
            ],
        }

    # -- the answers of the signed routes ---------------------------------------------------------

    def answer_licence(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        number = str(data.get("id_number") or "").strip().upper()
        if not id_check_ok(number):
            return 400, {"error": "id_number_required"}
        found = self.licence(number)
        if found is None:
            return 404, {"error": "no_licence"}
        return 200, {"licence": found}

    def answer_health_check(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Whether the record exists, is this person's, and passed. A record of someone else is
        answered like an unknown one (a number typed cannot reveal whose it is)."""
        number = str(data.get("id_number") or "").strip().upper()
        record_no = str(data.get("record_no") or "").strip()
        if not id_check_ok(number) or not _RECORD_RE.match(record_no):
            return 400, {"error": "id_number_and_record_no_required"}
        found = self.health_check(record_no)
        if found is None or found["id_number"] != number:
            log.info("health-check record ...%s not found for %s", record_no[-4:], mask_number(number))
            return 200, {"valid": False, "reason": "unknown_record"}
        record = {"record_no": record_no, "exam_date": found["exam_date"], "hospital": found["hospital"]}
        if found["result"] != "pass":
            return 200, {"valid": False, "reason": "not_passed", "record": record}
        return 200, {"valid": True, "reason": "", "record": record}

    def answer_owner_check(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """Whether the identified resident is the vehicle's registered owner; for the owner, the
        record, with insurance and outstanding violations as the backend knows them today."""
        number = str(data.get("id_number") or "").strip().upper()
        plate = str(data.get("plate") or "").strip().upper()
        if not id_check_ok(number) or not plate:
            return 400, {"error": "id_number_and_plate_required"}
        found = self.vehicle(plate)
        if found is None:
            return 404, {"error": "unknown_plate"}
        if found.pop("owner_id_number") != number:
            log.info("owner check: %s is not the owner of %s", mask_number(number), plate)
            return 200, {"owner": False}
        found["insurance_ok"] = found["insurance_valid_to"] >= self.today.isoformat()
        return 200, {"owner": True, "vehicle": found}


def router() -> APIRouter:
    """The signed routes (mounted by :func:`backend.asgi.create_app`). ``Request`` and ``Response``
    are imported at module level: FastAPI resolves the postponed annotations from the globals."""
    from backend import asgi, models

    r = APIRouter()
    answers: dict[str, tuple[str, str, Any, Any]] = {
        "/v1/vehicles/licence": ("answer_licence", "A driving licence by the holder's ID number",
                                 models.LicenceAnswer, models.VehicleIdBody),
        "/v1/vehicles/health-check": ("answer_health_check", "An electronic health-check record (电子体检)",
                                      models.HealthCheckAnswer, models.HealthCheckBody),
        "/v1/vehicles/owner-check": ("answer_owner_check", "Is the resident the vehicle's registered owner",
                                     models.OwnerCheckAnswer, models.OwnerCheckBody),
    }  # fmt: skip

    def route(method_name: str) -> Any:
        async def handle(request: Request) -> Response:
            _verified, body = await asgi.read_signed(request)
            data = asgi.json_object(body)
            register = VehicleRegister(asgi.backend_of(request).store)
            status, found = await run_in_threadpool(getattr(register, method_name), data)
            return asgi.answer(status, found)

        return handle

    problem = models.Problem
    for path, (method_name, summary, answer_model, body_model) in answers.items():
        r.add_api_route(
            path,
            route(method_name),
            methods=["POST"],
            **asgi.documented(
                summary,
                {200: ("answer", answer_model), 400: ("bad input", problem), 404: ("not found", problem)},
                body=body_model.model_json_schema(),
            ),
        )
    return r
