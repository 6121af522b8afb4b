"""Maintenance lockout that a prankster cannot stretch: the wait stops at a cap, ``kiosk-tech
maintenance unlock`` ends it (audited, with who ran it), a lockout raises a ``maintenance_lockout``
alert row through the outbox, and the state file is written so that a power cut cannot tear it
(and a torn or tampered one does not crash the pad)."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from backend.alerts import parse_alert
from contract.signing import SigningKey, new_secret
from kiosk.config.model import KioskConfig, load_config
from kiosk.main import compose
from kiosk.maintenance.gate import STATE_FILE, AuditLog, Lockout, MaintenanceGate, gate_for, hash_pin
from kiosk.queue.alerts import MAINTENANCE_LOCKOUT, alert_document
from kiosk.queue.delivery import DeliveryWorker, Outcome
from kiosk.queue.outbox import Outbox
from kiosk.queue.rows import PendingRequest
from kiosk.queue.runtime import QueueServices
from kiosk.tech import main as tech_main
from kiosk.visit.idle import FakeClock

PIN = "246810"
WRONG = "000000"
NO_DEVICES = "".join(
    f'[devices.{role}]\ndriver = "none"\n' for role in ("card_reader", "camera", "printer", "a4_printer")
)


@pytest.fixture(scope="module")
def pin_hash() -> str:
    return hash_pin(PIN)


@pytest.fixture
def site(tmp_path: Path, pin_hash: str) -> Path:
    """A site file with a PIN, a lock after two wrong PINs and a data folder in ``tmp_path``."""
    path = tmp_path / "kiosk.toml"
    path.write_text(
        f'[kiosk]\nid = "KIOSK-T1"\ndata_dir = "data"\n'
        f'[maintenance]\npin_hash = "{pin_hash}"\nlockout_after = 2\nlockout_base_s = 30\n' + NO_DEVICES,
        encoding="utf-8",
    )
    return path


@pytest.fixture
def config(site: Path) -> KioskConfig:
    return load_config(site, environ={})


def _gate(tmp_path: Path, pin_hash: str, clock: FakeClock, **options: Any) -> MaintenanceGate:
    audit = AuditLog(tmp_path / "audit.jsonl", clock)
    return MaintenanceGate(pin_hash, tmp_path / STATE_FILE, audit, clock=clock, **options)


def test_the_wait_stops_growing_at_the_cap(tmp_path: Path, pin_hash: str) -> None:
    clock = FakeClock(1_000_000)
    gate = _gate(tmp_path, pin_hash, clock, lockout_after=3, base_delay_s=30, lockout_max_s=600)
    waits = []
    for _ in range(12):  # a prankster who waits out every lock and tries again
        attempt = gate.try_pin(WRONG)
        waits.append(attempt.locked_for_s)
        clock.advance(attempt.locked_for_s + 1)
    assert waits == [0, 0, 30, 60, 120, 240, 480, 600, 600, 600, 600, 600]
    assert gate.delay_after(5_000) == 600  # no overflow however long it goes on
    clock.advance(601)
    assert gate.try_pin(PIN).granted


def test_the_cap_comes_from_the_config_and_defaults_to_an_hour(tmp_path: Path, config: KioskConfig) -> None:
    assert load_config(None, environ={}, validate_devices=False).maintenance.lockout_max_s == 3600
    gate = gate_for(config)
    assert gate.lockout_max_s == 3600 and gate.lockout_after == 2
    assert gate.delay_after(2 + 20) == 3600  # 30 s doubled 20 times would be a year


def test_a_lock_written_before_the_cap_is_shortened_to_it(tmp_path: Path, pin_hash: str) -> None:
    clock = FakeClock(1_000_000)
    (tmp_path / STATE_FILE).write_text(
        json.dumps({"failures": 20, "locked_until": clock() + 9 * 86400}), encoding="utf-8"
    )  # nine days, as the uncapped doubling left it
    gate = _gate(tmp_path, pin_hash, clock, lockout_max_s=3600)
    refused = gate.try_pin(PIN)
    assert refused.reason == "locked" and refused.locked_for_s == 3600
    clock.advance(3601)
    assert gate.try_pin(PIN).granted


def test_the_unlock_command_clears_the_lock_and_writes_an_audit_line(
    config: KioskConfig, site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    app_gate = gate_for(config)  # the running app's gate, in memory
    assert [app_gate.try_pin(WRONG).locked_for_s for _ in range(2)] == [0, 30]
    assert app_gate.try_pin(PIN).reason == "locked"
    monkeypatch.setenv("SUDO_USER", "tech-wang")

    assert tech_main(["maintenance", "unlock", "--config", str(site)]) == 0

    assert "unlocked" in capsys.readouterr().out
    assert app_gate.try_pin(PIN).granted  # the app's gate sees the other process's unlock at once
    entries = AuditLog(config.data_dir / "audit.jsonl").tail()
    unlock = [e for e in entries if e["action"] == "maintenance.unlock"]
    assert len(unlock) == 1
    assert (unlock[0]["by"], unlock[0]["via"], unlock[0]["failures"], unlock[0]["outcome"]) == (
        "tech-wang",
        "kiosk-tech",
        2,
        "ok",
    )
    assert 0 < unlock[0]["locked_for_s"] <= 30
    assert all(PIN not in json.dumps(e) for e in entries)


def test_unlock_when_not_locked_says_so(
    site: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("SUDO_USER", raising=False)
    monkeypatch.setenv("USER", "tech-li")
    assert tech_main(["maintenance", "unlock", "--config", str(site)]) == 0
    assert "was not locked" in capsys.readouterr().out
    entry = AuditLog(load_config(site, environ={}).data_dir / "audit.jsonl").tail()[-1]
    assert (entry["action"], entry["by"], entry["failures"]) == ("maintenance.unlock", "tech-li", 0)


class _NeverSent:
    """The delivery thread is not started: what the lockout commits stays pending for the test."""

    def send(self, item: PendingRequest) -> Outcome:
        raise AssertionError("nothing is delivered in this test")


@pytest.fixture
def queue(config: KioskConfig) -> Iterator[QueueServices]:
    outbox = Outbox(config.data_dir / "outbox.db", config.kiosk.id)
    services = QueueServices(
        config, outbox, DeliveryWorker(outbox, _NeverSent()), SigningKey("KIOSK-T1", new_secret()), "-"
    )
    yield services
    outbox.close()


def test_a_lockout_commits_an_alert_row_without_personal_data(
    config: KioskConfig, queue: QueueServices
) -> None:
    runtime = compose(config)  # the composition root wires the gate to the queue
    try:
        runtime.queue = queue
        assert not runtime.gate.try_pin(WRONG).locked_for_s  # a first wrong PIN: no alert yet
        assert queue.outbox.head() is None
        assert runtime.gate.try_pin(WRONG).locked_for_s == 30  # the lock starts: one alert row
        head = queue.outbox.head()
        assert head is not None and head.kind == "alert"
        record = queue.outbox.record(head.request_id)
        assert record is not None and record["request_type"] == "alert.maintenance_lockout"
        body = json.loads(head.body)
        assert (body["kind"], body["kiosk_id"], body["screen"], body["service"], body["step"]) == (
            MAINTENANCE_LOCKOUT,
            "KIOSK-T1",
            "maintenance_pin",
            "",
            "",
        )
        assert PIN not in head.body.decode() and WRONG not in head.body.decode()
        assert parse_alert(head.body, "KIOSK-T1") == body  # the backend accepts the new kind
        assert runtime.gate.try_pin(PIN).reason == "locked"  # refusals during the lock raise nothing
        assert queue.outbox.status().alerts_pending == 1
    finally:
        runtime.queue = None
        runtime.close()


def test_a_lockout_before_the_queue_is_up_still_locks(config: KioskConfig) -> None:
    runtime = compose(config)
    try:
        assert [runtime.gate.try_pin(WRONG).locked_for_s for _ in range(2)] == [0, 30]
    finally:
        runtime.close()


def test_a_failing_alert_does_not_undo_the_lock(tmp_path: Path, pin_hash: str) -> None:
    clock = FakeClock(1_000_000)
    seen: list[Lockout] = []

    def broken(lockout: Lockout) -> None:
        seen.append(lockout)
        raise OSError("disk full")

    gate = _gate(tmp_path, pin_hash, clock, lockout_after=1, base_delay_s=30)
    gate.on_lockout = broken
    assert gate.try_pin(WRONG).locked_for_s == 30
    assert seen == [Lockout(1, 30)]
    assert _gate(tmp_path, pin_hash, clock).locked_for() == 30  # on disk


def test_unknown_alert_kinds_are_refused_on_both_sides() -> None:
    with pytest.raises(ValueError, match="unknown alert kind"):
        alert_document("KIOSK-T1", "fire", 0.0)
    body = dict(alert_document("KIOSK-T1", MAINTENANCE_LOCKOUT, 0.0), kind="fire")
    with pytest.raises(ValueError, match="kind"):
        parse_alert(json.dumps(body).encode(), "KIOSK-T1")


TORN = [
    b"",
    b'{"failures": 4, "lock',
    b"\x00" * 64,  # a power cut after the size was written, before the data
    b"\xff\xfe\x00garbage",
    b"[1, 2]",
    b'{"failures": "many", "locked_until": 0}',
    b'{"failures": NaN, "locked_until": 0}',
    b'{"failures": 1e400, "locked_until": 0}',
    b'{"failures": 3, "locked_until": Infinity}',
]


@pytest.mark.parametrize("content", TORN, ids=range(len(TORN)))
def test_a_torn_state_file_does_not_crash_the_gate(tmp_path: Path, pin_hash: str, content: bytes) -> None:
    clock = FakeClock(1_000_000)
    (tmp_path / STATE_FILE).write_bytes(content)
    gate = _gate(tmp_path, pin_hash, clock, lockout_after=5)
    assert gate.locked_for() == 0
    wrong = gate.try_pin(WRONG)
    assert (wrong.granted, wrong.reason, wrong.failures, wrong.locked_for_s) == (False, "wrong_pin", 1, 0)
    assert gate.try_pin(PIN).granted


def test_a_huge_count_in_the_state_file_locks_for_the_cap_not_an_overflow(
    tmp_path: Path, pin_hash: str
) -> None:
    clock = FakeClock(1_000_000)
    (tmp_path / STATE_FILE).write_text('{"failures": 5000, "locked_until": 0}', encoding="utf-8")
    attempt = _gate(tmp_path, pin_hash, clock, lockout_max_s=3600).try_pin(WRONG)
    assert (attempt.reason, attempt.locked_for_s) == ("wrong_pin", 3600)


def test_the_state_is_fsynced_renamed_and_its_folder_fsynced(
    tmp_path: Path, pin_hash: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real_fsync = os.fsync

    def recording_fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real_fsync(fd)

    monkeypatch.setattr("kiosk.maintenance.gate.os.fsync", recording_fsync)
    gate = _gate(tmp_path, pin_hash, FakeClock(1_000_000), lockout_after=1)
    gate.try_pin(WRONG)
    state = tmp_path.resolve() / STATE_FILE
    tmp = str(state) + ".tmp"
    folder = str(tmp_path.resolve())
    assert tmp in synced and folder in synced  # the data, then the rename
    assert synced.index(tmp) < synced.index(folder)
    assert not Path(tmp).exists()
    assert json.loads(state.read_text(encoding="utf-8"))["failures"] == 1
    assert state.stat().st_mode & 0o777 == 0o600


@pytest.mark.skipif(os.geteuid() != 0, reason="only root can give files to another user")
def test_unlock_run_as_root_gives_the_files_back_to_the_data_folders_owner(
    config: KioskConfig, site: Path
) -> None:
    kiosk_uid = 54321  # the `kiosk` user that owns the data folder and runs the app
    config.data_dir.mkdir(parents=True)
    os.chown(config.data_dir, kiosk_uid, kiosk_uid)
    assert tech_main(["maintenance", "unlock", "--config", str(site)]) == 0
    for name in (STATE_FILE, "audit.jsonl"):
        assert (config.data_dir / name).stat().st_uid == kiosk_uid, name
