"""systemd notifications reach a real datagram socket."""

from __future__ import annotations

import socket
from pathlib import Path

from kiosk.maintenance.watchdog import SystemdNotifier


def test_ready_and_watchdog_pings_are_sent(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as server:
        server.bind(path)
        server.settimeout(2)
        notifier = SystemdNotifier({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "20000000"})
        assert notifier.enabled and notifier.ping_interval_s == 10
        assert notifier.ready()
        assert server.recv(256).startswith(b"READY=1")
        assert notifier.ping()
        assert server.recv(256) == b"WATCHDOG=1"


def test_without_systemd_nothing_is_sent() -> None:
    notifier = SystemdNotifier({})
    assert not notifier.enabled and not notifier.ping() and notifier.ping_interval_s == 0


def test_a_vanished_socket_is_logged_not_raised(tmp_path: Path) -> None:
    assert not SystemdNotifier({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")}).ready()
