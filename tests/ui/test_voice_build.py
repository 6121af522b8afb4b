"""The kiosk makes its own voice prompts after start-up (an upgrade or an edited message needs no
manual `kiosk-tech voice build`), on a worker thread."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

pytestmark = pytest.mark.ui


@pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="espeak-ng not installed (scripts/bootstrap installs it)")
def test_missing_prompts_are_synthesised_after_start(kiosk: Any) -> None:
    library = kiosk.app.assist.library
    assert library.folder.parent == kiosk.app.runtime.config.data_dir  # the UI session's own data dir
    kiosk.wait_until(
        lambda: library.audio_for("voice.screen.home", "zh") is not None,
        timeout_s=90,
        what="the home prompt's audio file",
    )
    path = library.audio_for("voice.step.consent", "en")
    assert path is not None and path.read_bytes()[:4] == b"RIFF"
