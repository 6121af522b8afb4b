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


class Session:
    """All data of one resident's visit. Create one per visit; call :meth:`wipe` when it ends."""

    def __init__(self, lang: str = "zh", *, clock: Callable[[], float] = time.monotonic) -> None:
        self.id = uuid.uuid4().hex[:12]  # a log correlation id, not personal data
        self.started_at = clock()
        self.lang = lang
        self.service_id: str | None = None
        self.values: dict[str, Any] = {}
        self.identity: Any = None  # the card read or the identity entered (drivers.idcard.IdCard)
        self.photo_jpeg: bytes | None = None
        self.artifacts: dict[str, Any] = {}  # step results: look-ups, payment, submitted request
        self._temp_dir: Path | None = None
        self._wipe_hooks: list[Callable[[], None]] = []
        self.wiped = False

    @property
    def temp_dir(self) -> Path:
        """A private folder for this session's files (photos, previews), deleted at wipe."""
        if self._temp_dir is None:
            self._temp_dir = Path(tempfile.mkdtemp(prefix="kiosk-session-"))
        return self._temp_dir

    def on_wipe(self, hook: Callable[[], None]) -> None:
        self._wipe_hooks.append(hook)

    def wipe(self) -> None:
        """Forget everything about the resident. Safe to call twice; never raises."""
        self.values.clear()
        self.artifacts.clear()
        self.identity = None
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
