"""The kiosk makes its own voice prompts after start-up (an upgrade or an edited message needs no
manual `kiosk-tech voice build`), on a worker thread."""

from __future__ import annotations

import shutil
from typing import Any

import pytest

pytestmark = pytest.mark.ui


@pytest.mark.skipif(
    shutil.which("espeak-ng") is None, reason="espeak-ng not installed (scripts/bootstrap installs it)"
)
def test_missing_prompts_are_synthesised_in_the_background(kiosk: Any) -> None:
    assist = kiosk.app.assist
    library = assist.library
    assert library.folder.parent == kiosk.app.runtime.config.data_dir  # the UI session's own data dir
    if assist.build_thread is not None:
        assist.build_thread.join(120)  # the build the kiosk started after its first frame
    shutil.rmtree(library.folder, ignore_errors=True)  # as after an upgrade to a new data dir
    library.reload()
    assert library.audio_for("voice.screen.home", "zh") is None
    thread = assist.build_in_background()
    assert thread is not None and thread.name == "voice-build"
    thread.join(120)
    kiosk.wait_until(
        lambda: library.audio_for("voice.screen.home", "zh") is not None, what="the reloaded prompt library"
    )
    path = library.audio_for("voice.step.consent", "en")
    assert path is not None and path.read_bytes()[:4] == b"RIFF"
