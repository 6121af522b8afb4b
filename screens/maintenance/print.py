"""Print test with preview: the test page of ``kiosk-tech print-test`` printed on the receipt
printer (or the A4 printer, when one is configured) through the print service residents use, its
rendered preview on screen, and the printer's status after the job with the cause of a refusal."""

from __future__ import annotations

import io
from dataclasses import dataclass, replace
from typing import Any

from kivy.core.image import Image as CoreImage
from kivy.properties import BooleanProperty, ObjectProperty, StringProperty

from screens.maintenance.page import MaintenancePage


@dataclass(frozen=True)
class PrintTestResult:
    role: str
    png: bytes  # the rendered preview of the page that was sent
    ok: bool
    code: str
    text: str  # the status after the job, with the cause, for the technician


def run_print_test(runtime: Any, role: str) -> PrintTestResult:
    """Print the test page on ``role``'s printer (blocking: worker thread) and say how it went."""
    from kiosk.documents.render import to_png
    from kiosk.documents.templates import test_page
    from kiosk.printing.a4_printer import print_a4_document
    from kiosk.printing.receipt_printer import print_document
    from kiosk.tech.print_cmd import CAUSES

    printer = runtime.devices.get(role)
    config = runtime.config
    if printer is None:
        health = runtime.device_health(role)
        cause = f"{health.code}: {health.detail}" if health else "not configured"
        return PrintTestResult(role, b"", False, "missing", f"{role}: {cause}")
    if role == "a4_printer":
        health = printer.health()
        status_text = CAUSES.get(health.code, health.code)
    else:
        status_text = CAUSES.get(printer.status().code, "?")
    document = test_page(config.kiosk.id, status_text, config.kiosk.status_base_url)
    if role == "a4_printer":
        document = replace(document, kind="a4")
        outcome = print_a4_document(printer, document)
    else:
        outcome = print_document(printer, document, print_when_status_unknown=True)
    buffer = io.BytesIO()
    to_png(document).save(buffer, format="PNG")
    after = outcome.after.code if outcome.after is not None else outcome.code
    text = f"{CAUSES.get(after, after)}"
    if not outcome.ok:
        text = f"{CAUSES.get(outcome.code, outcome.code)}" + (f": {outcome.detail}" if outcome.detail else "")
    return PrintTestResult(role, buffer.getvalue(), outcome.ok, outcome.code, text)


class PrintTestPage(MaintenancePage):
    outcome = StringProperty("")
    preview = ObjectProperty(None, allownone=True)
    has_a4 = BooleanProperty(False)

    def open(self) -> None:
        super().open()
        self.has_a4 = "a4_printer" in self.runtime.devices or "a4_printer" in self.runtime.failures

    def close(self) -> None:
        super().close()

    def print_test(self, role: str) -> None:
        if self.busy:
            return
        self.outcome = self.app.tr("maint.print.printing")

        def work() -> PrintTestResult:
            try:
                result = run_print_test(self.runtime, role)
            except Exception as exc:
                cause = f"{type(exc).__name__}: {exc}"
                self.audit("maintenance.print_test", "error", role=role, detail=cause)
                raise
            self.audit("maintenance.print_test", "ok" if result.ok else result.code, role=role)
            return result

        self.in_background(work, self._show, self._failed, "print-test")

    def _show(self, result: PrintTestResult) -> None:
        if result.png:
            self.preview = CoreImage(io.BytesIO(result.png), ext="png").texture
        key = "maint.print.ok" if result.ok else "maint.print.failed"
        self.outcome = self.app.tr(key, role=result.role, status=result.text)

    def _failed(self, exc: BaseException) -> None:
        self.outcome = self.app.tr("maint.print.failed", role="-", status=f"{type(exc).__name__}: {exc}")


PAGE_CLASS = PrintTestPage
