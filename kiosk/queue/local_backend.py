"""Start the reference backend as a subprocess on 127.0.0.1, for a kiosk with no backend configured.

The kiosk never imports ``backend/``: it runs ``python -m backend serve`` with an embedded SQLite
store in the data dir and the kiosk's own key trusted, the demo residents to enrol
(:mod:`kiosk.queue.demo_register`) and a certificate key folder (made on first start, exported as
``cert-keys/public.pem`` for ``kiosk-tech verify-qr``), waits until ``/healthz`` answers, and stops
it with SIGTERM (then SIGKILL after a grace period). Port 0 lets the OS pick a free port, which
the server prints on its first line.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from pathlib import Path

import requests

from kiosk.errors import BackendUnavailable

_REPO_ROOT = Path(__file__).resolve().parent.parent.parent


class LocalBackend:
    """A running reference backend; use as a context manager or call start()/stop()."""

    def __init__(
        self,
        data_dir: Path,
        trust_keys: Mapping[str, Path],
        *,
        port: int = 0,
        start_timeout_s: float = 20.0,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.data_dir = Path(data_dir)
        self.trust_keys = dict(trust_keys)  # "KEY_ID" or "KEY_ID:KIOSK_ID" -> key file
        self.port = port
        self.start_timeout_s = start_timeout_s
        self.extra_args = extra_args
        self.url = ""
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def store_url(self) -> str:
        return f"sqlite:///{self.data_dir / 'backend.db'}"

    @property
    def cert_keys_dir(self) -> Path:
        """The local backend's certificate signing keys (private, 0600: the backend's, not the kiosk's)."""
        return self.data_dir / "cert-keys"

    def command(self) -> list[str]:
        from kiosk.queue.demo_register import write_demo_register
        from kiosk.queue.demo_vehicles import write_demo_vehicles

        cmd = [sys.executable, "-m", "backend", "serve", "--store", self.store_url]
        cmd += [
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--simulate",
            "--demo-fines",
            *self.extra_args,
        ]
        cmd += ["--cert-keys", str(self.cert_keys_dir), "--cert-keys-create"]
        residents = write_demo_register(self.data_dir / "demo-register")
        if residents is not None:
            cmd += ["--enrol", str(residents)]
        cmd += ["--enrol-vehicles", str(write_demo_vehicles(self.data_dir / "demo-register"))]
        cmd += ["--parent-pid", str(os.getpid())]  # it stops if the kiosk is killed
        for key_id, path in self.trust_keys.items():
            cmd += ["--trust-key", f"{key_id}={path}"]
        return cmd

    def start(self) -> str:
        """Start and wait until it answers; return its base URL. Raises BackendUnavailable."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(_REPO_ROOT), env.get("PYTHONPATH", "")) if p)
        log_file = (self.data_dir / "backend.log").open("ab")
        try:
            self._proc = subprocess.Popen(self.command(), stdout=subprocess.PIPE, stderr=log_file, env=env)
        except OSError as exc:
            raise BackendUnavailable(f"cannot start the local backend: {exc}") from exc
        finally:
            log_file.close()
        deadline = time.monotonic() + self.start_timeout_s
        line = self._first_line(deadline)
        if not line.startswith("listening on "):
            self.stop()
            raise BackendUnavailable(
                f"local backend did not start (see {self.data_dir / 'backend.log'}): {line or 'no output'}"
            )
        self.url = line.removeprefix("listening on ").strip()
        while time.monotonic() < deadline:
            try:
                if requests.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return self.url
            except requests.RequestException:
                pass
            time.sleep(0.05)
        self.stop()
        raise BackendUnavailable("local backend started but does not answer /healthz")

    def _first_line(self, deadline: float) -> str:
        assert self._proc is not None and self._proc.stdout is not None
        out = self._proc.stdout
        buf = b""
        while time.monotonic() < deadline and not buf.endswith(b"\n"):
            ready, _, _ = select.select([out], [], [], 0.1)
            if ready:
                chunk = os.read(out.fileno(), 256)
                if not chunk:
                    break
                buf += chunk
            elif self._proc.poll() is not None:
                break
        return buf.decode("utf-8", "replace").strip()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL if it has not exited within ``grace_s``."""
        proc, self._proc = self._proc, None
        if proc is None:
            return
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(grace_s)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        if proc.stdout:
            proc.stdout.close()

    def __enter__(self) -> LocalBackend:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
