"""Paying with the phone's payment code (出示付款码) read by the scanner, the fiscal e-receipt
number kept for the receipt, and paid fines settled (kiosk/steps/payment.py), with the simulated
scanner typing into the real keyboard-wedge driver."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.scanner.simulator import Fault, SimulatedScanner
from kiosk.steps.payment import CODE, QR, WAITING, PaymentEngine
from kiosk.visit.session import Session
from tests.unit.engine_fakes import FakeClock, FakeProvider, InlineRunner

PAY_CODE = "134567890123456789"


@pytest.fixture
def scanner() -> Iterator[SimulatedScanner]:
    s = SimulatedScanner()
    yield s
    s.close()


def engine_with(scanner: SimulatedScanner | None, decisions: list[str] | None = None) -> tuple[
    PaymentEngine, FakeProvider, Session
]:  # fmt: skip
    provider, clock = FakeProvider(), FakeClock()
    session = Session("zh", clock=clock)
    if decisions is not None:
        session.artifacts["violations"] = {
            "violation_ids": ["V1"],
            "amount_fen": 20000,
            "decision_nos": decisions,
        }
    runner = InlineRunner(hold=True)
    engine = PaymentEngine(session, fee_fen=5000, purpose="vehicle.traffic_fine", clients=provider.new_client,
                           tasks=runner, clock=clock, scanner=scanner, scan_read_s=0.05)  # fmt: skip
    RUNNERS[id(engine)] = runner
    engine.start()
    run(engine, "backend-payment")  # the order and its QR
    run(engine, "payment-poll")  # not paid on the phone yet
    return engine, provider, session


RUNNERS: dict[int, InlineRunner] = {}


def run(engine: PaymentEngine, name: str) -> None:
    RUNNERS[id(engine)].finish(name)


def pending(engine: PaymentEngine) -> list[str]:
    return [job.name for job in RUNNERS[id(engine)].pending]


def test_without_a_scanner_only_the_qr_is_offered() -> None:
    engine, _provider, _session = engine_with(None)
    assert not engine.state.can_show_code
    engine.show_code()
    assert engine.state.pay_by == QR


def test_a_shown_payment_code_pays_the_same_order_and_keeps_the_fiscal_receipt(
    scanner: SimulatedScanner,
) -> None:
    engine, provider, session = engine_with(scanner, decisions=["9900002026000001"])
    assert engine.state.phase == WAITING and engine.state.can_show_code
    engine.show_code()
    assert engine.state.pay_by == CODE and engine.state.code_key == "pay.code_hint"
    scanner.present(PAY_CODE)
    run(engine, "scanner")
    assert engine.state.code_key == "pay.code_reading"
    run(engine, "payment-code")
    assert engine.state.phase == "done" and provider.created == ["pay-1"] and provider.charged == ["pay-1"]
    assert session.artifacts["payment"] == {
        "payment_id": "pay-1",
        "amount_fen": 20000,
        "fiscal_receipt_no": "FR-pay-1",
        "method": "code",
    }
    run(engine, "payment-settle")
    assert ("settle", "9900002026000001") in provider.calls


def test_a_declined_code_is_said_calmly_and_the_next_code_pays(scanner: SimulatedScanner) -> None:
    engine, provider, _session = engine_with(scanner)
    engine.show_code()
    scanner.present("134567890123450000")  # the fake wallet declines codes ending 0000
    run(engine, "scanner")
    run(engine, "payment-code")
    assert engine.state.phase == WAITING and engine.state.code_key == "pay.code_declined"
    assert provider.charged == []
    scanner.present(PAY_CODE)
    run(engine, "scanner")
    run(engine, "payment-code")
    assert engine.state.phase == "done"


def test_a_garbled_code_asks_again_and_an_unplugged_scanner_falls_back_to_the_qr(
    scanner: SimulatedScanner,
) -> None:
    engine, provider, _session = engine_with(scanner)
    engine.show_code()
    scanner.inject(Fault.GARBLED)
    scanner.present(PAY_CODE)
    run(engine, "scanner")
    assert engine.state.code_key == "pay.code_unreadable" and engine.state.pay_by == CODE
    scanner.inject(Fault.UNPLUGGED)
    run(engine, "scanner")
    assert engine.state.pay_by == QR and not engine.state.can_show_code
    assert engine.state.code_key == "pay.scanner_down" and engine.state.phase == WAITING  # the QR still pays
    assert provider.charged == []


def test_nobody_showing_a_code_reads_on_and_back_to_the_qr_stops(scanner: SimulatedScanner) -> None:
    engine, _provider, _session = engine_with(scanner)
    engine.show_code()
    run(engine, "scanner")  # a read timed out: another read is started
    assert "scanner" in pending(engine)
    engine.show_qr()
    run(engine, "scanner")
    assert engine.state.pay_by == QR and "scanner" not in pending(engine)
