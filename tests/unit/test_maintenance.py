"""Maintenance PIN, lockout and audit; editing a site file safely."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from kiosk.config.sitefile import update_site_file
from kiosk.errors import ConfigError
from kiosk.maintenance.gate import AuditLog, MaintenanceGate, hash_pin, verify_pin
from kiosk.visit.idle import FakeClock

PIN = "246810"


@pytest.fixture(scope="module")
def pin_hash() -> str:
    return hash_pin(PIN)


def test_pin_hash_round_trip_and_rejections(pin_hash: str) -> None:
    assert pin_hash.startswith("scrypt$16384$8$1$") and PIN not in pin_hash
    assert verify_pin(PIN, pin_hash)
    assert not verify_pin("246811", pin_hash)
    assert not verify_pin(PIN, "md5$abc")
    assert not verify_pin(PIN, "scrypt$x$8$1$AA==$AA==")
    with pytest.raises(ValueError):
        hash_pin("1234")  # too short


def test_lockout_grows_and_survives_restart(tmp_path: Path, pin_hash: str) -> None:
    clock = FakeClock(1_000_000)
    audit = AuditLog(tmp_path / "audit.jsonl", clock)

    def gate() -> MaintenanceGate:
        return MaintenanceGate(
            pin_hash, tmp_path / "gate.json", audit, lockout_after=3, base_delay_s=30, clock=clock
        )

    g = gate()
    assert [g.try_pin("000000").locked_for_s for _ in range(3)] == [0, 0, 30]
    locked = g.try_pin(PIN)
    assert not locked.granted and locked.reason == "locked"  # even the right PIN waits
    clock.advance(31)
    assert gate().try_pin("111111").locked_for_s == 60  # a new instance (restart) remembers: doubles
    clock.advance(61)
    assert gate().try_pin(PIN).granted
    assert gate().failures == 0
    events = audit.tail()
    assert [e["outcome"] for e in events] == ["refused"] * 5 + ["granted"]
    assert all(PIN not in str(e) for e in events)


def test_no_pin_configured_means_closed(tmp_path: Path) -> None:
    g = MaintenanceGate("", tmp_path / "g.json", AuditLog(tmp_path / "a.jsonl"))
    assert g.try_pin("") == g.try_pin("123456")
    assert g.try_pin("123456").reason == "no_pin_configured"


def test_site_file_update_keeps_comments_and_refuses_invalid(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    original = '# our village room\n[kiosk]\nid = "KIOSK-T1"  # the label on the cabinet\n'
    for role in ("card_reader", "camera", "printer", "a4_printer"):
        original += f'[devices.{role}]\ndriver = "none"\n'
    site.write_text(original, encoding="utf-8")
    config = update_site_file(site, {"session.idle_timeout_s": 120})
    assert config.session.idle_timeout_s == 120
    text = site.read_text(encoding="utf-8")
    assert "# our village room" in text and "# the label on the cabinet" in text
    with pytest.raises(ConfigError) as info:
        update_site_file(site, {"session.idle_timeout_s": "soon"})
    assert "session.idle_timeout_s" in str(info.value)
    assert site.read_text(encoding="utf-8") == text  # untouched
    assert not list(tmp_path.glob(".*candidate"))


def test_record_later_never_waits_for_a_slow_disk_and_keeps_the_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    disk = threading.Event()  # an SD card that has not finished its fsync yet
    real_fsync = os.fsync

    def slow_fsync(fd: int) -> None:
        disk.wait(10)
        real_fsync(fd)

    monkeypatch.setattr("kiosk.maintenance.gate.os.fsync", slow_fsync)
    audit = AuditLog(tmp_path / "audit.jsonl")
    t0 = time.monotonic()
    audit.record_later("maintenance.view", tab="devices")
    audit.record_later("maintenance.view", tab="queue")
    assert time.monotonic() - t0 < 0.5  # the UI thread went on
    assert not audit.flush(timeout_s=0.05)  # still queued behind the slow disk
    disk.set()
    audit.record("maintenance.leave")  # a direct entry waits for those queued before it
    assert [(e["action"], e.get("tab")) for e in audit.tail()] == [
        ("maintenance.view", "devices"),
        ("maintenance.view", "queue"),
        ("maintenance.leave", None),
    ]


def test_record_later_on_a_failing_disk_is_logged_not_raised(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "audit.jsonl").mkdir()  # the path cannot be opened as a file
    audit = AuditLog(tmp_path / "audit.jsonl")
    audit.record_later("maintenance.view", tab="logs")
    assert audit.flush()
    assert any("entry not written" in r.getMessage() and "logs" in r.getMessage() for r in caplog.records)
