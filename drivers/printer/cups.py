"""A4 printing: hand a PDF to a CUPS queue with ``lp`` (the CUPS client tools)."""

from __future__ import annotations

import shutil
import subprocess

from drivers.base import DeviceHealth, Health
from drivers.errors import DeviceError, DeviceNotFound, DeviceTimeout


class CupsA4Printer:
    """Submits PDFs to ``queue``; health from ``lpstat -p QUEUE``."""

    simulated = False

    def __init__(self, queue: str, *, timeout: float = 30.0) -> None:
        if shutil.which("lp") is None:
            raise DeviceError(
                "the `lp` command is missing (apt-get install cups-client)", device="a4_printer"
            )
        self.queue = queue
        self.timeout = timeout

    def print_pdf(self, pdf: bytes, title: str = "kiosk") -> str:
        """Submit one job; returns CUPS's job line (``request id is Q-12 (1 file(s))``)."""
        try:
            done = subprocess.run(
                ["lp", "-d", self.queue, "-t", title, "-o", "media=A4", "-"],
                input=pdf,
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except subprocess.TimeoutExpired as exc:
            raise DeviceTimeout("lp did not return", device="a4_printer", port=self.queue) from exc
        if done.returncode != 0:
            message = done.stderr.decode(errors="replace").strip() or f"lp exited {done.returncode}"
            raise DeviceNotFound(message, device="a4_printer", port=self.queue)
        return done.stdout.decode(errors="replace").strip()

    def health(self) -> DeviceHealth:
        try:
            out = subprocess.run(
                ["lpstat", "-p", self.queue], capture_output=True, text=True, timeout=5, check=False
            )
        except (OSError, subprocess.TimeoutExpired):
            return DeviceHealth(Health.UNKNOWN, "unknown", "lpstat failed")
        if out.returncode != 0:
            return DeviceHealth(Health.DOWN, "no_queue", _one_line(out.stderr))
        if "disabled" in out.stdout:  # lpstat puts the reason on an indented second line
            return DeviceHealth(Health.DOWN, "offline", _one_line(out.stdout))
        return DeviceHealth(Health.OK, "ready", _one_line(out.stdout))

    def close(self) -> None:
        return None


def _one_line(text: str) -> str:
    """lpstat's possibly multi-line answer as one line (technicians read it in one-line causes)."""
    return " ".join(text.split())
