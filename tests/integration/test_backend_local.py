"""The kiosk side end to end: ``config init``, the queue services with the local reference backend
started as a subprocess, and the ``kiosk-tech queue`` / ``kiosk-backend`` command lines."""

from __future__ import annotations

import argparse
import json
import os
import queue
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from kiosk.config.model import load_config
from kiosk.queue.outbox import Outbox
from kiosk.queue.runtime import start_queue
from kiosk.tech import main as tech_main
from kiosk.tech.config_init import add_init_command
from tests.conftest import wait_until

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]
APPLICANT = {"id_number": "990000199001010009", "name": "王五", "identified_by": "card"}


def _init(folder: Path, *extra: str) -> Path:
    parser = argparse.ArgumentParser()
    add_init_command(parser.add_subparsers())
    args = parser.parse_args(["init", "--dir", str(folder), *extra])
    assert args.func(args) == 0
    return folder / "kiosk.toml"


def test_config_init_writes_a_complete_config_with_fresh_keys(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = _init(tmp_path / "t1", "--backend", "https://backend.example.org")
    assert capsys.readouterr().out.strip() == str(site.resolve())
    _init(tmp_path / "t2")
    one = load_config(site, validate_devices=False, environ={})
    two = load_config(tmp_path / "t2" / "kiosk.toml", validate_devices=False, environ={})
    assert one.kiosk.id != two.kiosk.id and one.backend.key_id == one.kiosk.id
    assert one.backend.url == "https://backend.example.org" and two.backend.url == ""
    assert one.data_dir == tmp_path / "t1" / "data"
    core = ("card_reader", "camera", "printer", "a4_printer")
    assert all(one.devices[role].driver == "simulated" for role in core)
    assert all(d.driver in ("simulated", "none") for d in one.devices.values())  # optional roles: none
    key1 = (tmp_path / "t1" / one.backend.secret_file).read_text()
    key2 = (tmp_path / "t2" / two.backend.secret_file).read_text()
    assert key1 != key2 and len(bytes.fromhex(key1.strip())) == 32
    assert (tmp_path / "t1" / one.backend.secret_file).stat().st_mode & 0o077 == 0
    assert len(bytes.fromhex((tmp_path / "t1" / one.backend.signing_key_file).read_text().strip())) == 32
    with pytest.raises(Exception, match="exists already"):
        _init(tmp_path / "t1")


def test_queue_services_start_the_local_backend_and_deliver(tmp_path: Path) -> None:
    site = _init(tmp_path / "k")
    config = load_config(site, validate_devices=False, environ={})
    posted: queue.Queue[Callable[[], None]] = queue.Queue()
    services = start_queue(config, post=posted.put, on_status=lambda s: None)
    try:
        assert services.local_backend is not None and services.local_backend.running()
        submitted = services.submit(
            "household.household_certificate",
            1,
            {
                "applicant": APPLICANT,
                "fields": {"purpose": "employment", "copies": 1, "phone": "13800000000"},
            },
        )
        wait_until(lambda: services.status().acknowledged == 1, timeout_s=15, what="the request acknowledged")
        client = services.new_client()
        try:
            remote = client.request_status(submitted.request_id)
            assert remote is not None and remote["status"] == "received"
        finally:
            client.close()
        assert not services.stuck(services.status())
        pid = services.local_backend.pid
    finally:
        services.close()
    assert pid is not None
    wait_until(
        lambda: not Path(f"/proc/{pid}").exists() or "zombie" in Path(f"/proc/{pid}/status").read_text(),
        timeout_s=15,
        what="the local backend process gone",
    )


def test_tech_queue_commands(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    site = str(_init(tmp_path / "k"))
    capsys.readouterr()
    assert tech_main(["queue", "enqueue-test", "--count", "3", "--config", site]) == 0
    assert tech_main(["queue", "status", "--json", "--config", site]) == 0
    out = capsys.readouterr().out.strip().splitlines()[-1]
    status = json.loads(out)
    assert (status["pending"], status["acknowledged"], status["dead"]) == (3, 0, 0)
    assert status["oldest_pending_age_s"] >= 0
    assert tech_main(["queue", "deliver", "--config", site]) == 0  # starts and stops a local backend
    assert "pending 0, acknowledged 3" in capsys.readouterr().out
    assert tech_main(["queue", "retry-dead", "--config", site]) == 0
    assert "0 dead-lettered" in capsys.readouterr().out
    assert tech_main(["queue", "prune", "--config", site]) == 0  # 90 days by default: all are new
    assert "deleted 0 acknowledged" in capsys.readouterr().out
    assert tech_main(["queue", "prune", "--days", "0", "--config", site]) == 0
    assert "deleted 2 acknowledged" in capsys.readouterr().out  # the newest row keeps the numbering
    assert tech_main(["queue", "enqueue-test", "--count", "1", "--config", site]) == 0
    with Outbox(tmp_path / "k" / "data" / "outbox.db", "K") as box:
        latest = box.latest_id()
        assert latest is not None and (box.record(latest) or {}).get("seq") == 4
    env = dict(os.environ, PYTHONPATH=str(REPO))
    stats = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend",
            "stats",
            "--json",
            "--store",
            f"sqlite:///{tmp_path / 'k' / 'data' / 'backend' / 'backend.db'}",
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
        check=True,
    )
    assert json.loads(stats.stdout)["requests"] == 3


def test_a_damaged_outbox_is_one_line_on_stderr_and_kept(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    site = str(_init(tmp_path / "k"))
    outbox = tmp_path / "k" / "data" / "outbox.db"
    outbox.write_bytes(b"garbage" * 1000)
    assert tech_main(["queue", "status", "--config", site]) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: outbox") and "damaged" in err and len(err.splitlines()) == 1
    assert outbox.read_bytes() == b"garbage" * 1000


def test_backend_cli_errors_are_one_line(tmp_path: Path) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    bad = subprocess.run(
        [sys.executable, "-m", "backend", "stats", "--store", "mysql://x"],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert bad.returncode == 1 and bad.stderr.strip().startswith("error: unknown store URL")
    trust = subprocess.run(
        [
            sys.executable,
            "-m",
            "backend",
            "serve",
            "--store",
            f"sqlite:///{tmp_path}/b.db",
            "--trust",
            str(tmp_path),
        ],
        capture_output=True,
        text=True,
        env=env,
        cwd=REPO,
    )
    assert trust.returncode == 1 and "no kiosk.toml" in trust.stderr and "Traceback" not in trust.stderr


PARENT = """
import pathlib, sys, time
from kiosk.queue.local_backend import LocalBackend
backend = LocalBackend(pathlib.Path(sys.argv[1]), {})
backend.start()
print(backend.pid, backend.url, flush=True)
time.sleep(120)
"""


def test_the_local_backend_does_not_outlive_a_killed_kiosk(tmp_path: Path) -> None:
    """A kiosk killed by SIGKILL (power button, OOM) cannot stop its local backend; the backend
    notices it was orphaned and stops by itself, so restarts do not pile up servers."""
    import signal

    with subprocess.Popen(
        [sys.executable, "-c", PARENT, str(tmp_path / "backend")], cwd=REPO, stdout=subprocess.PIPE, text=True
    ) as parent:
        try:
            assert parent.stdout is not None
            child_pid, url = parent.stdout.readline().split()
            assert url.startswith("http://127.0.0.1:")
            os.kill(int(child_pid), 0)  # running
        finally:
            parent.send_signal(signal.SIGKILL)
            parent.wait(10)

    def gone() -> bool:
        try:
            os.kill(int(child_pid), 0)
        except ProcessLookupError:
            return True
        with open(f"/proc/{child_pid}/stat", encoding="ascii") as stat:  # a zombie waiting for init
            return stat.read().split(") ", 1)[1].startswith("Z")

    wait_until(gone, timeout_s=10, what="the orphaned backend gone")
    assert "parent process" in (tmp_path / "backend" / "backend.log").read_text(encoding="utf-8")
