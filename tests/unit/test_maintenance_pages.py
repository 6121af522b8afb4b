"""Core logic behind the maintenance pages: device counters, the dashboard rows, the card-read
test's masked lines (timing and status word from the real driver on the wire-level simulator),
dead letters and retrying one of them, print jobs counted with their cause."""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from drivers.base import DeviceHealth, Health
from drivers.idcard.base import CardType, IdCard
from drivers.printer.simulator import SimulatedEscPosPrinter
from kiosk.devices.counters import DeviceCounters, counters_for
from kiosk.documents import templates
from kiosk.maintenance.diagnostics import QueueView, card_test_lines, dead_letter_text, port_of, queue_lines
from kiosk.printing.receipt_printer import print_document
from kiosk.queue.outbox import Outbox
from kiosk.services.idnumber import Refusal
from kiosk.steps.card_worker import CardEvent, CardRead, ReadFailed
from tests.conftest import wait_until

CARD = IdCard(
    card_type=CardType.RESIDENT,
    name="王小明",
    id_number="990000199001010017",
    birth_date=dt.date(1990, 1, 1),
    valid_from=dt.date(2020, 1, 1),
    valid_to=dt.date(2040, 1, 1),
)


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Outbox]:
    box = Outbox(tmp_path / "outbox.db", "KIOSK-T1")
    yield box
    box.close()


def test_counters_count_errors_keep_the_last_cause_and_belong_to_one_device() -> None:
    counters = DeviceCounters()
    counters.count("reads")
    counters.count("reads", 2)
    counters.error("paper_out")
    counters.error("cover_open: lid up")
    snap = counters.snapshot()
    assert (snap.reads, snap.errors, snap.last_error) == (3, 2, "cover_open: lid up")
    assert snap.last_error_at is not None
    with pytest.raises(KeyError):
        counters.count("jams")

    class Thing:
        pass

    a, b = Thing(), Thing()
    counters_for(a).count("prints")
    assert counters_for(a).snapshot().prints == 1 and counters_for(b).snapshot().prints == 0


def test_counting_never_breaks_on_a_device_that_cannot_be_weakly_referenced() -> None:
    class Slotted:
        __slots__ = ("x",)

    counters_for(Slotted()).count("prints")  # no TypeError: printing goes on
    assert counters_for(Slotted()).snapshot().prints == 0


def test_counters_are_safe_from_several_threads() -> None:
    counters = DeviceCounters()
    threads = [
        threading.Thread(target=lambda: [counters.count("frames") for _ in range(1000)]) for _ in range(4)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.snapshot().frames == 4000


def test_card_test_lines_mask_the_identity_and_show_timing_status_and_refusals() -> None:
    lines = "\n".join(card_test_lines(CardRead(CARD, (), 412.4, "00 00 90")))
    assert "王**" in lines and "9900**********0017" in lines
    assert "王小明" not in lines and "990000199001010017" not in lines
    assert "412 ms" in lines and "00 00 90" in lines and "居民身份证" in lines and "可用" in lines
    refused = "\n".join(card_test_lines(CardRead(CARD, (Refusal("expired", "idcard.refused.expired"),))))
    assert "expired" in refused and "可用" not in refused
    failed = card_test_lines(ReadFailed("read_failed", "idcard.error.read_failed", "card moved (SW3 41)"))
    assert "read_failed" in failed[0] and "SW3 41" in failed[1]


def test_dead_letters_list_the_backends_answer_and_one_can_be_retried(outbox: Outbox) -> None:
    ids = [
        outbox.submit("system.test", 1, {"fields": {"note": f"n{i}"}}, test=True).request_id for i in range(3)
    ]
    outbox.dead_letter(ids[0], 422, '{"error": "payload.fields.note:  too long"}')
    outbox.dead_letter(ids[2], 403, "x" * 500)
    dead = outbox.dead_letters()
    assert [d.request_id for d in dead] == [ids[0], ids[2]]
    assert (dead[0].http_status, dead[0].request_type, dead[0].attempts) == (422, "system.test", 1)
    text = dead_letter_text(dead[0])
    assert "HTTP 422" in text and "payload.fields.note: too long" in text and ids[0] in text
    assert len(dead_letter_text(dead[1]).split("\n")[1]) < 200  # long answers cut to an excerpt

    assert outbox.retry_dead(ids[0]) == 1
    assert outbox.retry_dead(ids[0]) == 0  # no longer dead
    assert outbox.retry_dead("no-such-id") == 0
    assert outbox.record(ids[0])["status"] == "pending" and outbox.record(ids[2])["status"] == "dead"
    view = QueueView(outbox.status(), outbox.dead_letters())
    summary = "\n".join(queue_lines(view))
    assert "pending 2" in summary and "dead 1" in summary
    assert outbox.retry_dead() == 1 and outbox.dead_letters() == []


def test_print_jobs_and_refusals_are_counted_with_their_cause(tmp_path: Path) -> None:
    printer = SimulatedEscPosPrinter(tmp_path)
    doc = templates.test_page("KIOSK-T1", "ready", "https://kiosk.example.invalid/status/")
    assert print_document(printer, doc).ok
    printer.inject("paper_out")
    assert print_document(printer, doc).code == "paper_out"
    snap = counters_for(printer).snapshot()
    assert (snap.prints, snap.errors) == (1, 1) and snap.last_error.startswith("paper_out")


def test_port_of_prefers_the_port_really_opened_then_the_configured_one() -> None:
    class Reader:
        port = "/dev/serial/by-id/usb-reader"

    class Wrapper:
        reader = Reader()

    assert port_of({"usb_vid_pid": "1a86:7523"}, Wrapper()) == "/dev/serial/by-id/usb-reader"
    assert port_of({"uri": "tcp:10.0.0.5:9100"}, object()) == "tcp:10.0.0.5:9100"
    assert port_of({"device": 0}, None) == "0"
    assert port_of({}, None) == ""


def test_the_worker_times_a_real_read_and_reports_the_status_word() -> None:
    from kiosk.devices.card_reader import SimulatedOptions, open_simulated

    device = open_simulated(SimulatedOptions(card="resident"))
    events: list[CardEvent] = []
    got = threading.Event()

    def post(fn: object) -> None:
        fn()  # type: ignore[operator]

    try:
        worker = device.start_worker(post)
        worker.subscribe(lambda e: (events.append(e), got.set() if isinstance(e, CardRead) else None))
        worker.request_read()
        assert got.wait(10)
        read = next(e for e in events if isinstance(e, CardRead))
        assert read.read_ms > 0 and read.status_word.endswith(" 90")
        assert counters_for(device.reader).snapshot().reads == 1
        device.simulator.unplug()  # type: ignore[union-attr]
        wait_until(lambda: counters_for(device.reader).snapshot().errors, 5, "the unplug counted as an error")
        snap = counters_for(device.reader).snapshot()
        assert snap.errors >= 1 and snap.last_error
    finally:
        device.close()


def test_a_device_that_failed_to_open_shows_its_cause_on_the_dashboard(tmp_path: Path) -> None:
    from kiosk.config.fonts import FontChoice
    from kiosk.config.messages import Messages
    from kiosk.config.model import load_config
    from kiosk.maintenance.diagnostics import device_rows
    from kiosk.runtime import Runtime
    from kiosk.services.catalogue import Catalogue

    site = tmp_path / "site.toml"
    site.write_text(
        '[kiosk]\ndata_dir = "data"\n[devices.printer]\ndriver = "escpos"\nuri = "tcp:127.0.0.1:9"\n'
        '[devices.card_reader]\ndriver = "none"\n[devices.camera]\ndriver = "none"\n'
        '[devices.a4_printer]\ndriver = "none"\n',
        encoding="utf-8",
    )
    config = load_config(site, environ={})
    runtime = Runtime(config, Catalogue(()), Messages({}), FontChoice(Path("x"), "test", "test"))
    runtime.failures["printer"] = DeviceHealth(Health.DOWN, "open_failed", "connection refused")
    rows = {r.role: r for r in device_rows(runtime)}
    printer = rows["printer"]
    assert printer.health.code == "open_failed" and printer.port == "tcp:127.0.0.1:9"
    assert printer.counters.errors == 1 and "connection refused" in printer.counters.last_error
    text = "\n".join(printer.lines())
    assert "last error" in text and "escpos" in text
    assert rows["camera"].health.code == "not_installed"
