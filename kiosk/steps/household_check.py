"""The household certificate for a household member: the backend confirms the same household.

The applicant is the card holder who passed the face check; the member is the ID number they
typed, with the relationship they stated. Nothing about the member's household is shown: the
backend answers only "same household" or why not (backend/households.py), and a "no" is a result
screen (correct the number, or the member applies in person), never a list of who lives where.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from contract.masking import mask_id_numbers
from kiosk.steps.backend_step import DONE, REFUSED, BackendEngine, LookupState, MalformedAnswer, Runner, Visit
from kiosk.steps.household_rules import applicant_number

log = logging.getLogger(__name__)

KEY_CHECKING = "household.checking"
# the state's message keys; the result screen adds the sentence (household.not_same.body, ...)
KEY_NOT_SAME = "household.not_same.title"
KEY_SELF = "household.member_is_self.title"


class HouseholdClient(Protocol):
    def household_member(self, id_number: str, member_id_number: str) -> dict[str, Any]: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class HouseholdState(LookupState):
    reason: str = ""  # the backend's: applicant_unknown | member_unknown | different_household


class HouseholdCheckEngine(BackendEngine[HouseholdState]):
    """Ask once; DONE on the same household (``artifacts["household_check"]``), else REFUSED."""

    kind = "household"

    def __init__(
        self,
        visit: Visit,
        clients: Callable[[], Any],
        tasks: Runner,
        on_change: Callable[[HouseholdState], None] | None = None,
    ) -> None:
        super().__init__(clients, tasks, HouseholdState(), on_change)
        self.visit = visit

    def start(self) -> None:
        applicant = applicant_number(self.visit)
        member = str(self.visit.values.get("member_id_number", ""))
        if member == applicant:
            self._set(phase=REFUSED, message_key=KEY_SELF, reason="self")
            return

        def ask(client: HouseholdClient) -> dict[str, Any]:
            answer = client.household_member(applicant, member)
            same = answer.get("same_household") if isinstance(answer, dict) else None
            if not isinstance(same, bool):
                raise MalformedAnswer("the household answer has no same_household")
            return answer

        self._call(ask, self._answer, KEY_CHECKING)

    def _answer(self, answer: dict[str, Any]) -> None:
        member = mask_id_numbers(str(self.visit.values.get("member_id_number", "")))
        if answer["same_household"]:
            log.info("household check: %s is in the applicant's household", member)
            self.visit.artifacts["household_check"] = {"same_household": True}
            self._set(phase=DONE, message_key="")
        else:
            reason = str(answer.get("reason", ""))
            log.info("household check: %s refused (%s)", member, reason or "no reason")
            self._set(phase=REFUSED, message_key=KEY_NOT_SAME, reason=reason)
