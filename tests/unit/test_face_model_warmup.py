"""The face model loads after start-up's other background work, not beside it (issue #22): dlib
holds the GIL while it reads each model file, so loading it while the devices open and the queue
starts made the card reader's opening take seconds and stalled the UI's frames."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytest.importorskip("dlib")

ROOT = Path(__file__).resolve().parents[2]


def test_face_model_waits_for_the_devices_and_the_queue() -> None:
    code = textwrap.dedent("""
        import sys, threading, time
        from kiosk.main import warm_face_models_in_background

        opening = threading.Event()
        devices = threading.Thread(target=opening.wait, name="device-open")
        devices.start()
        warm = warm_face_models_in_background(after=(devices,), pause_s=0)
        time.sleep(0.5)
        print("while the devices open:", warm.is_alive(), "dlib" in sys.modules)
        opening.set()
        warm.join(60)
        print("after:", warm.is_alive(), "dlib" in sys.modules)
    """)
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "while the devices open: True False" in result.stdout  # nothing of dlib loaded yet
    assert "after: False True" in result.stdout
