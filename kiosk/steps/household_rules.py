"""The household services' rules on who may apply (issue #19), as a pure engine.

Every limit is data: the service's ``rules`` table in ``config/services.toml`` (a site overrides it):

    guardian_under_age    applicants younger than this come with a guardian (default 16: 居民身份证法
                          第二十条: 未满十六周岁的由监护人代为申请)
    guardian_min_age      the guardian's own age at least (default 18)
    renewal_window_days   an expiring card is renewed only this many days before it expires
    window_reasons        the ``reason`` answers the window applies to (a damaged card is renewed
                          whenever it is damaged; only "it expires soon" waits for the window)

:func:`applicant_outcome` runs after the applicant is identified (card read, or number typed and
face matched): it answers the value ``applicant_minor`` ("yes" sends the guardian's steps) or a stop
(a result screen: the window is not open yet, a long-term card). :func:`guardian_outcome` judges the
guardian's card once it is read. Both take ``today`` from the caller (a clock injected), never
from the system.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from typing import Any

from contract.masking import mask_id_numbers
from kiosk.services.idnumber import age, birth_date

log = logging.getLogger(__name__)

DEFAULT_GUARDIAN_UNDER_AGE = 16
DEFAULT_GUARDIAN_MIN_AGE = 18

# stops: message keys in config/messages/household.toml (<key>.title and <key>.body)
STOP_WINDOW = "household.stop.window"  # renewal asked for before the window opens
STOP_LONG_TERM = "household.stop.long_term"  # a long-term (长期) card never expires
STOP_NO_BIRTH_DATE = "household.stop.no_birth_date"  # the age cannot be known
STOP_GUARDIAN_SELF = "household.stop.guardian_self"  # the applicant's own card laid as the guardian's
STOP_GUARDIAN_AGE = "household.stop.guardian_age"  # the guardian is not an adult


@dataclass(frozen=True)
class RuleOutcome:
    """Go on with ``results`` (session values), or stop with the message key ``stop``.
    ``detail`` is shown large on the stop (a date); ``cause`` is for the log only."""

    stop: str = ""
    results: dict[str, str] = field(default_factory=dict)
    detail: str = ""
    cause: str = ""

    @property
    def ok(self) -> bool:
        return not self.stop


def _int_rule(rules: dict[str, Any], name: str, default: int) -> int:
    value = rules.get(name, default)
    return value if isinstance(value, int) and not isinstance(value, bool) else default


def applicant_number(session: Any) -> str:
    """The applicant's ID number: the card read, else the number typed."""
    card = session.identity
    number = getattr(card, "id_number", None) if card is not None else None
    if number:
        return str(number)
    return str(session.values.get("id_number", ""))


def applicant_birth_date(session: Any) -> dt.date | None:
    """From the card when one was read (foreign cards carry it), else from the number typed."""
    card = session.identity
    born = getattr(card, "birth_date", None) if card is not None else None
    if isinstance(born, dt.date) and born != dt.date.min:
        return born
    try:
        return birth_date(applicant_number(session))
    except (ValueError, IndexError):
        return None


def applicant_outcome(rules: dict[str, Any], session: Any, today: dt.date) -> RuleOutcome:
    """Whether the identified applicant may go on, and whether a guardian must come too."""
    born = applicant_birth_date(session)
    if born is None:
        return RuleOutcome(STOP_NO_BIRTH_DATE, cause="no birth date on the card or in the number")
    window = rules.get("renewal_window_days")
    reasons = rules.get("window_reasons", ("expired",))
    card = session.identity
    if (
        isinstance(window, int)
        and card is not None
        and session.values.get("kind", "renewal") == "renewal"
        and session.values.get("reason") in tuple(reasons if isinstance(reasons, list | tuple) else ())
    ):
        valid_to = getattr(card, "valid_to", None)
        if valid_to is None:
            return RuleOutcome(STOP_LONG_TERM, cause="long-term card: it does not expire")
        opens = valid_to - dt.timedelta(days=window)
        if today < opens:
            return RuleOutcome(
                STOP_WINDOW,
                detail=opens.isoformat(),
                cause=f"card valid to {valid_to}, renewal window of {window} days opens {opens}",
            )
    minor = age(born, today) < _int_rule(rules, "guardian_under_age", DEFAULT_GUARDIAN_UNDER_AGE)
    return RuleOutcome(results={"applicant_minor": "yes" if minor else "no"})


def guardian_outcome(rules: dict[str, Any], session: Any, guardian: Any, today: dt.date) -> RuleOutcome:
    """Whether the card laid as the guardian's may stand for the under-16 applicant."""
    number = str(getattr(guardian, "id_number", ""))
    if number and number == applicant_number(session):
        return RuleOutcome(STOP_GUARDIAN_SELF, cause="the guardian's card is the applicant's")
    born = getattr(guardian, "birth_date", None)
    if not isinstance(born, dt.date) or born == dt.date.min:
        try:
            born = birth_date(number)
        except (ValueError, IndexError):
            born = None
    minimum = _int_rule(rules, "guardian_min_age", DEFAULT_GUARDIAN_MIN_AGE)
    if born is None or age(born, today) < minimum:
        return RuleOutcome(STOP_GUARDIAN_AGE, cause=f"guardian {mask_id_numbers(number)} under {minimum}")
    return RuleOutcome()  # an expired card is refused by the card step already (idnumber.check_card)
