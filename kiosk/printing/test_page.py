"""The printer test: read the printer's status, print the test page through the print service
residents use, and say how it went. One Kivy-free routine for the maintenance page's print test
(screens/maintenance/print.py) and ``kiosk-tech print-test`` (kiosk/tech/print_cmd.py), which only
word the result each in their own way.

A printer that says it cannot print (paper out, cover open, offline; an A4 queue that is not
usable) gets nothing: the report carries the cause. A receipt printer that cannot answer status
(``file:``, one-way USB) still gets the page: that is the test. Blocking: call from a worker thread.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from drivers.base import Health
from drivers.printer.status import PrinterStatus
from kiosk.documents.model import Document
from kiosk.documents.templates import test_page
from kiosk.printing.a4_printer import A4_CODES, print_a4_document
from kiosk.printing.receipt_printer import PrintOutcome, count_outcome, failed_outcome, print_document

# The cause line shown when a printer refuses (zh first: technicians on site read both).
CAUSES = {
    "paper_out": "缺纸 paper out",
    "cover_open": "纸仓盖打开 cover open",
    "offline": "打印机离线 offline",
    "cutter_error": "切刀故障 cutter error",
    "error": "打印机故障 printer error",
    "disconnected": "连接中断 disconnected",
    "unknown": "无状态应答 no status answer",
    "paper_near_end": "纸将尽 paper near end",
    "ready": "正常 ready",
    "no_queue": "无此打印队列 no such CUPS queue",
}

JOB_TITLE = "kiosk print test"  # the CUPS job's name


def cause(code: str) -> str:
    """The technician's words for a status or outcome code (the code itself when unknown)."""
    return CAUSES.get(code, code)


@dataclass(frozen=True)
class PrintTestReport:
    """How a print test went. ``status_code``/``status_detail``: what the printer said before
    (its own code: ``no_queue`` from CUPS); ``document``: the test page, sent or not (the
    maintenance page previews it); ``sent``: whether the page went to the printer at all."""

    status_code: str
    status_detail: str
    document: Document
    outcome: PrintOutcome
    sent: bool

    @property
    def ok(self) -> bool:
        return self.outcome.ok

    @property
    def status_text(self) -> str:
        return cause(self.status_code)

    @property
    def cause(self) -> str:
        """Why it was not printed: the outcome's cause, with the device's detail when it gave one."""
        detail = self.outcome.detail if not self.outcome.ok else ""
        return cause(self.outcome.code) + (f": {detail}" if detail else "")

    @property
    def after_text(self) -> str:
        """The printer's status after the job (the outcome code when none was read)."""
        after = self.outcome.after
        return cause(after.code if after is not None else self.outcome.code)


def print_test_page(
    printer: Any, kiosk_id: str, status_base_url: str, *, a4: bool = False
) -> PrintTestReport:
    """Status first, then (unless the printer refused) the test page; ``a4`` for the A4 printer
    (a CUPS queue or its simulator), else a receipt printer. A failed send becomes an outcome."""
    if a4:
        health = printer.health()
        answered = health.state != Health.UNKNOWN
        before = PrinterStatus(code=A4_CODES.get(health.code, health.code), answered=answered)
        document = replace(test_page(kiosk_id, cause(health.code), status_base_url), kind="a4")
        if not health.usable:
            return _refused(printer, health.code, health.detail, document, before)
        outcome = print_a4_document(printer, document, JOB_TITLE)
        return PrintTestReport(health.code, health.detail, document, outcome, outcome.after is not None)
    status: PrinterStatus = printer.status()
    document = test_page(kiosk_id, cause(status.code), status_base_url)
    if status.blocking:
        return _refused(printer, status.code, "", document, status)
    outcome = print_document(printer, document, print_when_status_unknown=True)
    return PrintTestReport(status.code, "", document, outcome, outcome.after is not None)


def _refused(
    printer: Any, code: str, detail: str, document: Document, before: PrinterStatus
) -> PrintTestReport:
    """Nothing sent: the printer said it cannot print."""
    outcome = failed_outcome(before.code, before, detail=detail)
    count_outcome(printer, outcome)  # the dashboard counts a refused test like a refused receipt
    return PrintTestReport(code, detail, document, outcome, sent=False)
