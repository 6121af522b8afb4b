"""Kivy-free engines of the driving-licence steps: the licence from the register and its renewal
window (``licence_check``), and the hospital's electronic health-check record (``health_check``).

The rules are data (the step's ``rules`` table in ``config/services.toml``, :class:`LicenceRules`);
the backend states facts (the licence, whether a record is this person's and passed,
backend/vehicles.py); the engines decide. Like every backend step (:mod:`kiosk.steps.backend_step`)
they take events as method calls and answer with immutable states; a rule that stops the service
is a ``refused`` state whose ``message_key`` the screen shows in the result template.

The law (机动车驾驶证申领和使用规定, 公安部令第162号, in force 2022-04-01):
- art. 63: renew within the 90 days before the licence expires (``window_days``), with the holder's
  identity and a medical institution's certificate of physical condition;
- art. 72 and 77(8): a driver aged 70 or over has a health check every year and hands in the
  certificate within 30 days after each scoring cycle (记分周期, 12 months from the first issue) ends;
  so for them only a record made after the last cycle ended counts (``elderly_age``);
- the certificate's validity (``health_valid_days``) is the provinces' practice, not the decree's:
  site data.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from kiosk.steps.backend_step import (
    ANSWERED,
    DONE,
    REFUSED,
    BackendEngine,
    Closable,
    LookupState,
    MalformedAnswer,
    Runner,
    Visit,
)
from kiosk.visit.privacy import mask_id_number

log = logging.getLogger(__name__)

RECORD_DIGITS = (8, 20)  # a health-check record number: 8 to 20 digits


class LicenceClient(Closable, Protocol):
    def licence(self, id_number: str) -> dict[str, Any] | None: ...

    def health_check(self, id_number: str, record_no: str) -> dict[str, Any]: ...


@dataclass(frozen=True)
class LicenceRules:
    """The licence steps' rules; every value can be set in the step's ``rules`` table."""

    window_days: int = 90  # renewal: only within this many days before expiry (art. 63)
    check_window: bool = True  # False: any valid licence (replacement of a lost or damaged one)
    elderly_age: int = 70  # from this age a health certificate every scoring cycle (art. 72)
    health_valid_days: int = 180  # how old a health-check record may be (provincial practice)

    @classmethod
    def of(cls, rules: Mapping[str, Any]) -> LicenceRules:
        known = {k: v for k, v in rules.items() if k in cls.__dataclass_fields__}
        return cls(**known)


def age_on(id_number: str, day: dt.date) -> int | None:
    """Full years of age on ``day`` from the birth date in an 18-digit ID number (GB 11643)."""
    try:
        born = dt.date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))
    except ValueError:
        return None
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def _anniversary(start: dt.date, year: int) -> dt.date:
    try:
        return start.replace(year=year)
    except ValueError:  # 29 February in a common year
        return dt.date(year, 2, 28)


def last_cycle_end(first_issued: dt.date, day: dt.date) -> dt.date:
    """The end of the latest scoring cycle (记分周期: 12 months from the first issue) on or before
    ``day``; the first issue itself when no cycle has ended yet."""
    end = _anniversary(first_issued, day.year)
    if end > day:
        end = _anniversary(first_issued, day.year - 1)
    return max(end, first_issued)


def _date(value: object, what: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value))
    except ValueError as exc:
        raise MalformedAnswer(f"{what} that is not a date: {value!r}") from exc


def holder_number(visit: Visit) -> str:
    """The licence holder's ID number: the card's, else the one typed."""
    return str(getattr(visit.identity, "id_number", "") or visit.values.get("id_number", ""))


# -- the licence and its window -------------------------------------------------------------------


@dataclass(frozen=True)
class LicenceState(LookupState):
    rows: tuple[tuple[str, str], ...] = ()  # (label message key, value) once the licence is shown
    detail: str = ""  # a date the stop names (when the renewal window opens)
    elderly: bool = False  # the holder is of the age that needs a certificate every cycle


class LicenceCheckEngine(BackendEngine[LicenceState]):
    """The holder's licence from the register: shown for the resident to confirm, unless a rule
    stops the service (no licence, not in a usable state, outside the renewal window)."""

    kind = "licence_check"

    def __init__(
        self,
        visit: Visit,
        clients: Callable[[], Any],
        tasks: Runner,
        rules: LicenceRules,
        today: Callable[[], dt.date] = dt.date.today,
        on_change: Callable[[LicenceState], None] | None = None,
    ) -> None:
        super().__init__(clients, tasks, LicenceState(), on_change)
        self.visit, self.rules, self.today = visit, rules, today

    def start(self) -> None:
        number = holder_number(self.visit)

        def ask(client: LicenceClient) -> dict[str, Any] | None:
            found = client.licence(number)
            if found is not None and (not isinstance(found, Mapping) or "valid_to" not in found):
                raise MalformedAnswer("licence answer without 'valid_to'")
            return None if found is None else dict(found)

        self._call(ask, self._answer, "licence.busy", rows=(), detail="")

    def _answer(self, licence: dict[str, Any] | None) -> None:
        if licence is None:
            self._set(phase=REFUSED, message_key="licence.unknown")
            return
        today = self.today()
        valid_to = _date(licence["valid_to"], "a licence 'valid_to'")
        if licence.get("status", "normal") != "normal":
            log.info("licence not renewable here: status %s", licence.get("status"))
            self._set(phase=REFUSED, message_key="licence.not_normal")
            return
        if self.rules.check_window and today > valid_to:
            self._set(phase=REFUSED, message_key="licence.expired", detail=valid_to.isoformat())
            return
        opens = valid_to - dt.timedelta(days=self.rules.window_days)
        if self.rules.check_window and today < opens:
            self._set(phase=REFUSED, message_key="licence.too_early", detail=opens.isoformat())
            return
        number = holder_number(self.visit)
        age = age_on(number, today)
        elderly = age is not None and age >= self.rules.elderly_age
        self.visit.artifacts["licence"] = {**licence, "age": age, "elderly": elderly}
        self.visit.values["licence_no"] = str(licence.get("licence_no") or number)
        self.visit.values["licence_class"] = str(licence.get("licence_class", ""))
        rows = (
            ("licence.row.number", mask_id_number(str(licence.get("licence_no") or number))),
            ("licence.row.class", str(licence.get("licence_class", ""))),
            ("licence.row.valid_to", valid_to.isoformat()),
        )
        # the title row asks to check the licence; a message only for what the resident must know
        key = "licence.confirm_elderly" if elderly else ""
        self._set(phase=ANSWERED, message_key=key, rows=rows, elderly=elderly)

    def confirm(self) -> None:
        """The resident confirms: this is my licence."""
        if self.state.phase == ANSWERED and not self.left:
            self._set(phase=DONE)


# -- the electronic health-check record -----------------------------------------------------------


@dataclass(frozen=True)
class HealthState(LookupState):
    entry: str = ""  # the record number typed so far
    detail: str = ""  # a date a stop names


HEALTH_REASONS = {"unknown_record": "health.record_unknown", "not_passed": "health.record_failed"}


class HealthCheckEngine(BackendEngine[HealthState]):
    """The resident types the record number the hospital gave (电子体检); the backend says whether
    it is theirs and passed; the record's date must be recent enough (``health_valid_days``) and,
    from ``elderly_age``, after the last scoring cycle ended."""

    kind = "health_check"

    def __init__(
        self,
        visit: Visit,
        clients: Callable[[], Any],
        tasks: Runner,
        rules: LicenceRules,
        today: Callable[[], dt.date] = dt.date.today,
        on_change: Callable[[HealthState], None] | None = None,
    ) -> None:
        super().__init__(clients, tasks, HealthState(), on_change)
        self.visit, self.rules, self.today = visit, rules, today

    @property
    def complete(self) -> bool:
        return RECORD_DIGITS[0] <= len(self.state.entry) <= RECORD_DIGITS[1]

    def press(self, key: str) -> None:
        """A key of the digit pad: a digit, or ``del``."""
        if self.left or self.state.busy or self.state.phase == DONE:
            return
        entry = self.state.entry
        if key == "del":
            entry = entry[:-1]
        elif key.isdigit() and len(key) == 1 and len(entry) < RECORD_DIGITS[1]:
            entry += key
        self._set(entry=entry, phase="idle", message_key="", detail="")

    def again(self) -> None:
        """Type another number (after an unknown one)."""
        if not self.left:
            self._set(entry="", phase="idle", message_key="", detail="")

    def start(self) -> None:
        """Nothing to ask before a number is typed (``submit`` asks)."""
        if self.state.offline and self.complete:
            self.submit()

    def submit(self) -> None:
        if self.left or not self.complete or self.state.busy:
            return
        number, record_no = holder_number(self.visit), self.state.entry

        def ask(client: LicenceClient) -> dict[str, Any]:
            answer = client.health_check(number, record_no)
            if not isinstance(answer, Mapping) or "valid" not in answer:
                raise MalformedAnswer("health-check answer without 'valid'")
            return dict(answer)

        self._call(ask, self._answer, "health.busy", detail="")

    def _answer(self, answer: dict[str, Any]) -> None:
        if not answer["valid"]:
            reason = str(answer.get("reason") or "unknown_record")
            log.info("health-check record refused: %s", reason)
            key = HEALTH_REASONS.get(reason, "health.record_unknown")
            self._set(phase=REFUSED, message_key=key, can_retry=key == "health.record_unknown",
                      retry_key="health.type_again")  # fmt: skip
            return
        record = answer.get("record") or {}
        exam = _date(record.get("exam_date") if isinstance(record, Mapping) else None, "an 'exam_date'")
        today = self.today()
        if exam > today:
            raise MalformedAnswer("a health-check record dated in the future")
        if (today - exam).days > self.rules.health_valid_days:
            self._set(phase=REFUSED, message_key="health.record_expired", detail=exam.isoformat())
            return
        licence = self.visit.artifacts.get("licence") or {}
        if licence.get("elderly"):
            first = licence.get("first_issued") or licence.get("valid_from")
            cycle_end = last_cycle_end(_date(first, "a licence 'first_issued'"), today)
            if exam < cycle_end:  # last cycle's certificate: the law asks one per cycle (art. 72)
                self._set(phase=REFUSED, message_key="health.record_last_cycle", detail=cycle_end.isoformat())
                return
        self.visit.values["health_record_no"] = self.state.entry
        self.visit.artifacts["health_check"] = {"record_no": self.state.entry, "exam_date": exam.isoformat()}
        self._set(phase=DONE, message_key="")

    def retry(self) -> None:
        """再试一次 when the backend was away; 重新输入 after an unknown number."""
        if self.left:
            return
        if self.state.offline:
            self.submit()
        elif self.state.can_retry:
            self.again()
