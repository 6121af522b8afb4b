"""Fakes the step-engine tests share: a runner that does the background work on the spot (or
holds it until the test lets it finish), a clock the test moves, and a payment provider."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kiosk.errors import BackendUnavailable


@dataclass
class _Job:
    name: str
    work: Callable[[], Any]
    on_done: Callable[[Any], None]
    on_error: Callable[[Exception], None] | None
    generation: int


class InlineRunner:
    """:class:`kiosk.work.Tasks` without threads: ``work`` runs at once and its outcome is delivered
    at once, or, with ``hold``, when the test calls :meth:`finish`. ``cancel`` drops outcomes of the
    work started before it, as ``Tasks.cancel`` does."""

    def __init__(self, *, hold: bool = False) -> None:
        self.hold = hold
        self.started: list[str] = []
        self.pending: list[_Job] = []
        self._generation = 0

    def run(
        self,
        work: Callable[[], Any],
        on_done: Callable[[Any], None],
        on_error: Callable[[Exception], None] | None = None,
        *,
        name: str,
    ) -> object:
        self.started.append(name)
        job = _Job(name, work, on_done, on_error, self._generation)
        if self.hold:
            self.pending.append(job)
        else:
            self._deliver(job)
        return job

    def cancel(self) -> None:
        self._generation += 1

    def finish(self, name: str | None = None) -> None:
        """Let the oldest held job (named ``name``, if given) run and report."""
        job = next(j for j in self.pending if name is None or j.name == name)
        self.pending.remove(job)
        self._deliver(job)

    def finish_all(self) -> None:
        while self.pending:
            self.finish()

    def _deliver(self, job: _Job) -> None:
        try:
            result = job.work()
        except Exception as exc:
            if job.generation != self._generation:
                return
            if job.on_error is None:
                raise
            job.on_error(exc)
            return
        if job.generation == self._generation:
            job.on_done(result)


class FakeClock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class FakeProvider:
    """The backend's payment provider: orders and their states, the calls made, failures to inject
    (``fail[call] = n``: the next n such calls raise ``BackendUnavailable``)."""

    def __init__(self) -> None:
        self.orders: dict[str, str] = {}  # payment_id -> pending | paid | cancelled
        self.amounts: dict[str, int] = {}
        self.calls: list[tuple[str, str]] = []
        self.fail: dict[str, int] = {}
        self.answer_overrides: dict[str, dict[str, Any]] = {}  # call -> the answer to give
        self.opened = 0
        self.closed = 0

    def new_client(self) -> FakePaymentClient:
        self.opened += 1
        return FakePaymentClient(self)

    def pay(self, payment_id: str) -> None:
        """The resident's phone pays the order."""
        assert self.orders[payment_id] == "pending"
        self.orders[payment_id] = "paid"

    @property
    def created(self) -> list[str]:
        return list(self.orders)

    @property
    def charged(self) -> list[str]:
        return [p for p, state in self.orders.items() if state == "paid"]

    def _call(self, call: str, arg: str) -> None:
        self.calls.append((call, arg))
        if self.fail.get(call, 0) > 0:
            self.fail[call] -= 1
            raise BackendUnavailable(f"backend timed out on {call}")


class FakePaymentClient:
    def __init__(self, provider: FakeProvider) -> None:
        self.provider = provider

    def close(self) -> None:
        self.provider.closed += 1

    def create_payment(self, amount_fen: int, purpose: str, reference: str = "") -> dict[str, Any]:
        p = self.provider
        p._call("create", purpose)
        if "create" in p.answer_overrides:
            return p.answer_overrides["create"]
        payment_id = f"pay-{len(p.orders) + 1}"
        p.orders[payment_id] = "pending"
        p.amounts[payment_id] = amount_fen
        return {"payment_id": payment_id, "qr_text": f"wxp://f2f0{payment_id}", "status": "pending"}

    def payment_status(self, payment_id: str) -> dict[str, Any]:
        self.provider._call("status", payment_id)
        return self._order(payment_id)

    def _order(self, payment_id: str) -> dict[str, Any]:
        status = self.provider.orders[payment_id]
        out = {"payment_id": payment_id, "status": status}
        return {**out, "fiscal_receipt_no": f"FR-{payment_id}"} if status == "paid" else out

    def pay_with_code(self, payment_id: str, code: str) -> dict[str, Any]:
        p = self.provider
        p._call("code", code)
        if code.endswith("0000"):
            return {**self._order(payment_id), "error": "declined"}
        if p.orders[payment_id] == "pending":
            p.orders[payment_id] = "paid"
        return self._order(payment_id)

    def settle_fines(self, decision_nos: list[str], payment_id: str) -> dict[str, Any]:
        self.provider._call("settle", ",".join(decision_nos))
        return {"ok": True} if self.provider.orders[payment_id] == "paid" else {"error": "not_paid"}

    def cancel_payment(self, payment_id: str) -> dict[str, Any]:
        p = self.provider
        p._call("cancel", payment_id)
        if p.orders[payment_id] == "pending":
            p.orders[payment_id] = "cancelled"
        return {"payment_id": payment_id, "status": p.orders[payment_id]}
