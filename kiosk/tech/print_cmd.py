"""``kiosk-tech`` printing commands.

    print-test --printer URI       status first, then a test page (tcp:, serial:, usb:, file:, cups:)
    preview DOCUMENT --out F.png   receipt | payment-receipt | certificate | test-page (synthetic data)
    verify-qr TEXT_OR_IMAGE [--key FILE]   a certificate's backend-signed QR (kiosk/tech/verify_qr.py)

Exit codes: 0 done / valid, 1 printer refused or QR invalid, 2 bad usage, config or input.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kiosk.config.model import KioskConfig, load_config

DOCUMENTS = ("receipt", "payment-receipt", "certificate", "test-page")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    test = sub.add_parser("print-test", help="check a printer's status and print a test page")
    test.add_argument(
        "--printer", required=True, metavar="URI", help="tcp:HOST:PORT | serial:DEV[?baud=N] | ..."
    )
    test.add_argument("--profile", default="default", help="printer profile (default, 58mm, gbk, raster-qr)")
    test.add_argument("--timeout", type=float, default=0.5, help="status answer timeout in seconds")
    test.set_defaults(func=run_print_test)
    preview = sub.add_parser("preview", help="render a document with synthetic data to PNG")
    preview.add_argument("document", choices=DOCUMENTS)
    preview.add_argument("--out", required=True, metavar="FILE.png")
    preview.set_defaults(func=run_preview)
    from kiosk.tech import verify_qr

    verify = verify_qr.register(sub)
    for parser in (test, preview, verify):
        parser.add_argument(
            "--config", metavar="FILE", help="site file (default: $KIOSK_CONFIG or /etc/kiosk)"
        )


def _config(args: argparse.Namespace) -> KioskConfig:
    return load_config(args.config, validate_devices=False)


def run_print_test(args: argparse.Namespace) -> int:
    """Open the printer by URI and run the shared print test (kiosk/printing/test_page.py)."""
    from kiosk.printing.receipt_printer import profile_named
    from kiosk.printing.test_page import print_test_page

    config = _config(args)
    uri: str = args.printer
    try:
        profile = profile_named(args.profile)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if uri.startswith("cups:"):
        from drivers.printer.cups import CupsA4Printer

        cups = CupsA4Printer(uri.removeprefix("cups:"))
        report = print_test_page(cups, config.kiosk.id, config.kiosk.status_base_url, a4=True)
        if not report.sent:
            print(f"{report.status_text}: {report.status_detail}", file=sys.stderr)
            return 1
        if not report.ok:
            print(report.cause, file=sys.stderr)
            return 1
        print(report.outcome.detail)  # CUPS's job line
        return 0
    from drivers.printer.printer import EscPosPrinter
    from drivers.printer.transports import open_transport

    try:
        transport = open_transport(uri)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    printer = EscPosPrinter(transport, profile, status_timeout=args.timeout)
    try:
        report = print_test_page(printer, config.kiosk.id, config.kiosk.status_base_url)
    finally:
        printer.close()
    outcome = report.outcome
    if outcome.ok:
        print(f"printed test page on {uri} (status {outcome.after.code if outcome.after else '?'})")
        return 0
    if outcome.code == "unknown":
        print(f"sent test page to {uri}; printer did not answer status (check the paper by eye)")
        return 0
    print(report.cause, file=sys.stderr)
    return 1


def run_preview(args: argparse.Namespace) -> int:
    from kiosk.documents import samples
    from kiosk.documents.render import to_png

    config = _config(args)
    document = samples.sample_document(args.document, config)
    out = Path(args.out)
    try:
        to_png(document).save(out, format="PNG")
    except OSError as exc:
        print(f"error: cannot write {out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"wrote {out}")
    return 0
