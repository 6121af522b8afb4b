"""The guardian of an under-16 applicant, seen by the card and face-check steps as "the visitor".

The law has a guardian apply for a child under 16 (居民身份证法 第二十条); the guardian identifies
like any applicant: their own card on the reader, then the face check against that card. The
steps do not change for it: a step with ``role = "guardian"`` (config/services.toml) hands the face
check engine a :class:`GuardianVisit` instead of the session, whose identity is the guardian's card
and whose results land under ``guardian_*`` keys, so the applicant's own check is never overwritten.
The request's reserved id is shared: the guardian's verification certifies the same request.
"""

from __future__ import annotations

from collections.abc import Iterator, MutableMapping
from typing import Any

# the face check's artifacts that belong to whoever was checked; anything else (the reserved
# request_id) is the visit's
_OWN = ("face_check", "verification")
PREFIX = "guardian_"


class GuardianArtifacts(MutableMapping[str, Any]):
    """The session's artifacts with the face check's own keys renamed ``guardian_<key>``."""

    def __init__(self, artifacts: dict[str, Any]) -> None:
        self._artifacts = artifacts

    @staticmethod
    def _key(key: str) -> str:
        return PREFIX + key if key in _OWN else key

    def __getitem__(self, key: str) -> Any:
        return self._artifacts[self._key(key)]

    def __setitem__(self, key: str, value: Any) -> None:
        self._artifacts[self._key(key)] = value

    def __delitem__(self, key: str) -> None:
        del self._artifacts[self._key(key)]

    def __iter__(self) -> Iterator[str]:
        return iter(self._artifacts)

    def __len__(self) -> int:
        return len(self._artifacts)


class GuardianVisit:
    """The visit as the face check sees it while it checks the guardian."""

    def __init__(self, session: Any) -> None:
        self._session = session
        self.identity = session.guardian
        self.values: dict[str, Any] = {}  # the guardian's number is their card's, never one typed
        self.face: dict[str, Any] = session.face.setdefault("guardian", {})  # wiped with session.face
        self.artifacts = GuardianArtifacts(session.artifacts)

    @property
    def service_id(self) -> Any:
        return self._session.service_id


def visit_for(step: Any, session: Any) -> Any:
    """The visit a card or face step works on: the session, or its guardian view."""
    return GuardianVisit(session) if getattr(step, "role", "applicant") == "guardian" else session
