"""The simulated camera's demo face is composed once into the data folder and read from there
later, and a running kiosk never imports scikit-image for it (issue #22: importing ``skimage.data``
cost half a second of start-up and pulled SciPy into memory)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip(
    "skimage", reason="the demo face's source is scikit-image's bundled astronaut (test extra)"
)

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_demo_face_is_composed_once_into_the_data_folder(tmp_path: Path) -> None:
    import cv2

    from drivers.camera.samples import cached_portrait, portrait

    first = cached_portrait(tmp_path, 320, 240)
    written = tmp_path / "demo-face-320x240.png"
    assert written.is_file()
    assert np.array_equal(cv2.imread(str(written)), portrait(320, 240))  # lossless: the same pixels
    assert np.array_equal(first, portrait(320, 240))
    assert [p.name for p in tmp_path.iterdir()] == [written.name]  # no temporary file left behind


def test_later_starts_read_the_file_without_scikit_image(tmp_path: Path) -> None:
    from drivers.camera.samples import cached_portrait

    cached_portrait(tmp_path, 320, 240)
    cached_portrait(tmp_path, 320, 240, eyes_closed=True)
    out = _run(f"""
        import sys
        sys.modules["skimage"] = None  # as on a terminal without scikit-image
        from drivers.camera.simulator import SimulatedCamera
        cam = SimulatedCamera(width=320, height=240, cache_dir=__import__("pathlib").Path({str(tmp_path)!r}))
        cam.blink()
        print(cam.source.frame_shape)
    """)
    assert "(240, 320, 3)" in out


def test_opening_the_demo_camera_does_not_import_scikit_image(tmp_path: Path) -> None:
    out = _run(f"""
        import sys
        from pathlib import Path
        from drivers.camera.simulator import SimulatedCamera
        from drivers.idcard.sim_photos import photo_bmp
        cam = SimulatedCamera(cache_dir=Path({str(tmp_path)!r}))
        cam.blink()
        photo_bmp("demo"), photo_bmp("lfw:3")
        print("skimage imported:", any(m == "skimage" or m.startswith("skimage.") for m in sys.modules))
    """)
    assert "skimage imported: False" in out
    assert (tmp_path / "demo-face-640x480.png").is_file()
    assert (tmp_path / "demo-face-640x480-closed.png").is_file()
