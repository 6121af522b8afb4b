"""The resident's session: the one object that holds everything about the person at the terminal.

It is wiped on finish, cancel, idle timeout and after an unexpected error: values cleared, photos
and temporary files deleted, registered wipe hooks run (the log masking filter forgets the name,
the card worker stops reading, screens reset). Nothing about one resident survives for the next.
"""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

SCRATCH_PREFIX = "kiosk-session-"


def sweep_scratch(root: Path) -> int:
    """Delete session folders left in ``root`` by a process that never reached its wipe (power cut,
    SIGKILL, OOM). Called once at app start, under the data folder's lock, before the first visit.
    Returns how many were removed; creates ``root`` (mode 0700) if missing."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    removed = 0
    for stale in root.glob(f"{SCRATCH_PREFIX}*"):
        shutil.rmtree(stale, ignore_errors=True)
        removed += not stale.exists()
    if removed:
        log.warning("removed %d session folder(s) left by a kiosk process that did not end cleanly", removed)
    return removed


class Session:
    """All data of one resident's visit. Create one per visit; call :meth:`wipe` when it ends."""

    def __init__(
        self,
        lang: str = "zh",
        *,
        clock: Callable[[], float] = time.monotonic,
        scratch_root: Path | None = None,
    ) -> None:
        self.id = uuid.uuid4().hex[:12]  # a log correlation id, not personal data
        self.started_at = clock()
        self.lang = lang
        self.service_id: str | None = None
        self.values: dict[str, Any] = {}
        self.identity: Any = None  # the card read or the identity entered (drivers.idcard.IdCard)
        self.guardian: Any = None  # an under-16 applicant's guardian's card (kiosk/steps/guardian.py)
        self.photo_jpeg: bytes | None = None
        self.artifacts: dict[str, Any] = {}  # step results: look-ups, payment, submitted request
        # the face check's live frame, its JPEG, the decoded card photo and the face templates
        # (kiosk/steps/face_check.py): in memory for this visit only, never written or logged
        self.face: dict[str, Any] = {}
        self._scratch_root = scratch_root  # None: the system's temporary folder
        self._temp_dir: Path | None = None
        self._wipe_hooks: list[Callable[[], None]] = []
        self.wiped = False

    @property
    def temp_dir(self) -> Path:
        """A private folder (mode 0700) for this session's files (photos, previews), deleted at wipe;
        under the kiosk's data folder, where the next start sweeps it if this process is killed."""
        if self._temp_dir is None:
            if self._scratch_root is not None:
                self._scratch_root.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._temp_dir = Path(tempfile.mkdtemp(prefix=SCRATCH_PREFIX, dir=self._scratch_root))
        return self._temp_dir

    def on_wipe(self, hook: Callable[[], None]) -> None:
        self._wipe_hooks.append(hook)

    def wipe(self) -> None:
        """Forget everything about the resident. Safe to call twice; never raises."""
        self.values.clear()
        self.artifacts.clear()
        self.face.clear()
        self.identity = None
        self.guardian = None
        self.photo_jpeg = None
        self.service_id = None
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None
        hooks, self._wipe_hooks = self._wipe_hooks, []
        for hook in hooks:
            try:
                hook()
            except Exception:  # a failing hook must not keep the rest of the wipe from running
                log.exception("session wipe hook failed")
        self.wiped = True
