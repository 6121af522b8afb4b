"""Which picture of the screenshot tour becomes which file in ``docs/screenshots/``.

``kiosk tour`` numbers its pictures in the order it takes them (``NN-name.png``); the README and
the docs link stable names. :data:`DOC_SHOTS` maps each stable name to the tour picture it shows
(a regular expression on the tour's name, without its number); ``scripts/screenshots`` runs the
tour and then :func:`copy_doc_shots`. Pictures the tour does not take (failures, 长辈模式 forms,
maintenance pages, the browser console) are written by the UI and integration tests that reach
those states (see ``scripts/screenshots``).

    python -m screens.harness.doc_shots TOUR_DIR docs/screenshots
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

DOC_SHOTS: dict[str, str] = {
    "01-attract.png": r"attract",
    "02-home.png": r"home",
    "09-step-form-phone-error.png": r"step-form-phone-error",
    "10-review.png": r"review",
    "12-idle-warning.png": r"idle-warning",
    "14-step-photo-review.png": r"step-photo-review",
    "15-home-english-large-text.png": r"home-english-large-text",
    "15-step-read-card.png": r"step-read-card",
    "17-services-device-down.png": r"services-device-down",
    "18-home-high-contrast.png": r"home-high-contrast",
    "status-scan.png": r"step-status-scan",
    "status-entry.png": r"step-status-entry",
    "status-result.png": r"step-status-result",
    "step-address-card.png": r"id-card-renewal-\d+-address",
    "step-address-province.png": r"id-card-renewal-\d+-address-province",
    "step-address-county.png": r"id-card-renewal-\d+-address-county",
    "step-address-street.png": r"id-card-renewal-\d+-address-street",
    "step-address-village.png": r"id-card-renewal-\d+-address-village",
    "step-address-house-number.png": r"id-card-renewal-\d+-address-house-number",
    "step-photo-live.png": r"step-photo-live",
    "step-plate.png": r"step-plate",
    "step-vehicle.png": r"[a-z-]+-\d+-vehicle",
    "step-verify-busy.png": r"[a-z-]+-\d+-vehicle-busy",
    "step-violations.png": r"traffic-fine-\d+-violations",
    "step-payment-qr.png": r"traffic-fine-\d+-payment",
    "step-submit.png": r"traffic-fine-\d+-submit",
    "step-print-progress.png": r"traffic-fine-\d+-print",
    "step-print-paper-out.png": r"[a-z-]+-\d+-print-paper-out",
    "step-face-check.png": r"temp-id-certificate-\d+-face",
    "step-face-failed.png": r"temp-id-certificate-\d+-face-failed",
    "degraded-services-card-reader-down.png": r"services-vehicle-card-reader-down",
    "degraded-traffic-fine-by-plate.png": r"traffic-fine-by-plate-only",
    "maintenance-pin.png": r"maintenance-pin",
    "maintenance-devices.png": r"maintenance-devices",
    "error.png": r"error",
    "a11y-sound-popover.png": r"sound-panel",
    "a11y-help-notice.png": r"help-notice",
}


def tour_names(folder: Path) -> dict[str, Path]:
    """The tour's pictures by name, without their number (``07-home.png`` -> ``home``)."""
    return {re.sub(r"^\d+-", "", p.stem): p for p in sorted(folder.glob("*.png"))}


def copy_doc_shots(tour: Path, docs: Path) -> list[str]:
    """Copy each mapped tour picture to its stable name; the names the tour did not take."""
    shots = tour_names(tour)
    missing = []
    for doc, pattern in DOC_SHOTS.items():
        found = [path for name, path in shots.items() if re.fullmatch(pattern, name)]
        if not found:
            missing.append(doc)
            continue
        shutil.copyfile(found[0], docs / doc)
    return missing


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python -m screens.harness.doc_shots TOUR_DIR DOCS_DIR", file=sys.stderr)
        return 2
    missing = copy_doc_shots(Path(argv[0]), Path(argv[1]))
    for doc in missing:
        print(f"not in the tour: {doc} ({DOC_SHOTS[doc]})", file=sys.stderr)
    if missing:
        print("the tour took: " + " ".join(sorted(tour_names(Path(argv[0])))), file=sys.stderr)
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
