"""Is the ``kiosk`` install extra here? One line naming the fix instead of a traceback.

``pip install police-kiosk`` alone brings only the wire contract (what ``kiosk-backend`` needs);
the terminal's packages (Kivy, OpenCV, pyserial, pydantic, ...) come with the ``kiosk`` extra.
The ``kiosk`` and ``kiosk-tech`` commands check for them before importing anything that needs
them, so an install without the extra exits 2 with the command to run. Standard library only.
"""

from __future__ import annotations

import importlib.util
import sys

INSTALL_HINT = "pip install 'police-kiosk[kiosk]'"

KIOSK_EXTRA_MODULES: tuple[str, ...] = (
    "kivy",
    "serial",  # pyserial
    "cv2",  # opencv-python-headless
    "qrcode",
    "requests",
    "pydantic",
    "PIL",  # pillow
    "tomli_w",
    "fontTools",  # fonttools
    "tomlkit",
    "cryptography",
    "fpdf",  # fpdf2
    "dlib",  # dlib-bin
    "face_recognition_models",
    "fonticon_mdi7",  # fonticon-materialdesignicons7 (the icon font)
)
"""Import names of the ``kiosk`` extra's distributions (pyproject.toml), checked without importing.

``fastjsonschema`` is not among them: the contract needs it, so every install has it."""


def missing_kiosk_modules() -> list[str]:
    """The import names of the ``kiosk`` extra that cannot be found on ``sys.path``."""
    missing = []
    for name in KIOSK_EXTRA_MODULES:
        try:
            found = importlib.util.find_spec(name) is not None
        except (ImportError, ValueError):  # a broken or blocked entry in sys.modules
            found = False
        if not found:
            missing.append(name)
    return missing


def require_kiosk_extra(prog: str) -> None:
    """Return if the ``kiosk`` extra is installed; otherwise print one line and exit 2."""
    missing = missing_kiosk_modules()
    if missing:
        print(
            f"{prog}: the terminal's packages are not installed (no {', '.join(missing)}); "
            f"run: {INSTALL_HINT}",
            file=sys.stderr,
        )
        raise SystemExit(2)
