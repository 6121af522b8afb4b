"""Printing benchmark: receipt -> ESC/POS bytes (native and raster QR), previews, wire time.

    .venv/bin/python bench/printing.py [--n 2000] [--previews 10] [--documents 3]

Target (issue #5): receipt to ESC/POS bytes <= 1 ms. Wire time is bytes x 10 bits / 115200 baud
(8N1), what a serial printer at the default speed needs just to receive the job.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

from drivers.printer.escpos import PrinterProfile
from kiosk.config.model import load_config
from kiosk.documents import samples
from kiosk.documents.render import to_escpos, to_pdf, to_png


def per_call_ms(fn: Callable[[], object], n: int) -> float:
    fn()  # warm caches (font lookup, qrcode import)
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for _ in range(n):
            fn()
        best = min(best, (time.perf_counter() - start) / n * 1000)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=2000, help="ESC/POS renderings per round (raster: a tenth)")
    parser.add_argument("--previews", type=int, default=10, help="receipt PNG previews per round")
    parser.add_argument("--documents", type=int, default=3, help="A4 certificate renderings per round")
    args = parser.parse_args()
    config = load_config(None, environ={}, validate_devices=False)
    receipt = samples.sample_document("receipt", config)
    certificate = samples.sample_document("certificate", config)
    raster = PrinterProfile(native_qr=False)
    native_bytes = to_escpos(receipt)
    raster_bytes = to_escpos(receipt, raster)
    print(f"receipt -> ESC/POS, native QR : {per_call_ms(lambda: to_escpos(receipt), args.n):.3f} ms")
    print(
        f"receipt -> ESC/POS, raster QR : {per_call_ms(lambda: to_escpos(receipt, raster), max(1, args.n // 10)):.3f} ms"
    )
    for label, job in (("native QR", native_bytes), ("raster QR", raster_bytes)):
        wire = len(job) * 10 / 115200 * 1000
        print(f"job size {label:9s}: {len(job):6d} bytes, wire time at 115200 baud {wire:.1f} ms")
    print(f"receipt PNG preview           : {per_call_ms(lambda: to_png(receipt), args.previews):.1f} ms")
    print(
        f"certificate A4 PNG            : {per_call_ms(lambda: to_png(certificate), args.documents):.1f} ms"
    )
    print(
        f"certificate A4 PDF            : {per_call_ms(lambda: to_pdf(certificate), args.documents):.1f} ms"
    )


if __name__ == "__main__":
    main()
