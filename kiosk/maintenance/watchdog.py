"""systemd notification: READY once the first frame is drawn, then a watchdog ping from the UI
thread's clock. If the UI thread freezes, the pings stop and systemd restarts the kiosk (the unit's
``WatchdogSec``). Plain datagrams on ``$NOTIFY_SOCKET``; does nothing when not run by systemd."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Mapping

log = logging.getLogger(__name__)


class SystemdNotifier:
    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.address = env.get("NOTIFY_SOCKET", "")
        usec = env.get("WATCHDOG_USEC", "")
        self.watchdog_s = int(usec) / 1_000_000 if usec.isdigit() else 0.0
        if self.address.startswith("@"):  # abstract namespace socket
            self.address = "\0" + self.address[1:]

    @property
    def enabled(self) -> bool:
        return bool(self.address)

    @property
    def ping_interval_s(self) -> float:
        """Half the watchdog period, as systemd recommends; 0 when no watchdog is set."""
        return self.watchdog_s / 2

    def notify(self, message: str) -> bool:
        if not self.address:
            return False
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
                sock.connect(self.address)
                sock.sendall(message.encode())
            return True
        except OSError as exc:
            log.warning("systemd notification %r failed: %s", message, exc)
            return False

    def ready(self) -> bool:
        return self.notify("READY=1\nSTATUS=serving residents")

    def ping(self) -> bool:
        return self.notify("WATCHDOG=1")
