"""Print test with preview: the test page of ``kiosk-tech print-test`` (the shared routine in
kiosk/printing/test_page.py) printed on the receipt printer (or the A4 printer, when one is
configured) through the print service residents use, its rendered preview on screen, and the
printer's status after the job with the cause of a refusal."""

from __future__ import annotations

import io
from dataclasses import dataclass
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
    from kiosk.printing.test_page import print_test_page

    printer = runtime.devices.get(role)
    if printer is None:
        health = runtime.device_health(role)
        cause = f"{health.code}: {health.detail}" if health else "not configured"
        return PrintTestResult(role, b"", False, "missing", f"{role}: {cause}")
    kiosk = runtime.config.kiosk
    report = print_test_page(printer, kiosk.id, kiosk.status_base_url, a4=role == "a4_printer")
    buffer = io.BytesIO()
    to_png(report.document).save(buffer, format="PNG")
    text = report.after_text if report.ok else report.cause
    return PrintTestResult(role, buffer.getvalue(), report.ok, report.outcome.code, text)


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
