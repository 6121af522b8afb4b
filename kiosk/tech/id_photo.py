"""``kiosk-tech id-photo INPUT OUTPUT [--spec NAME] [--json]``: make a compliant ID photo from a file.

Runs the same checks as the live photo step (with framing instead of live centring), then crops,
scales and encodes the JPEG within the spec's size range. A photo that cannot comply writes no
output file and exits 1 with the reasons; ``--json`` prints every check with its measured value.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from kiosk.photo.specs import SPEC_NAMES


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cmd = sub.add_parser("id-photo", help="make a compliant ID photo from an image file")
    cmd.add_argument("input", metavar="INPUT", help="image file (JPEG, PNG, BMP...)")
    cmd.add_argument("output", metavar="OUTPUT", help="where to write the JPEG (only if it complies)")
    cmd.add_argument("--spec", choices=SPEC_NAMES, default="resident-id", help="photo specification")
    cmd.add_argument("--json", action="store_true", help="print the checks and measured values as JSON")
    cmd.set_defaults(func=run_id_photo)


def _write_atomically(path: Path, data: bytes) -> None:
    """Write via a temporary file and rename, so OUTPUT is either complete or absent."""
    fd, tmp = tempfile.mkstemp(prefix=".id-photo-", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def run_id_photo(args: argparse.Namespace) -> int:
    import cv2
    import numpy as np

    from kiosk.config.messages import Messages
    from kiosk.photo.checks import assess
    from kiosk.photo.compose import PhotoError, compose
    from kiosk.photo.detect import FaceDetector
    from kiosk.photo.specs import get_spec

    spec = get_spec(args.spec)
    source, output = Path(args.input), Path(args.output)
    try:
        raw = np.fromfile(source, dtype=np.uint8)  # fromfile+imdecode also reads non-ASCII paths
    except OSError as exc:
        print(f"error: cannot read {source}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    image = cv2.imdecode(raw, cv2.IMREAD_COLOR) if raw.size else None
    if image is None:
        print(f"error: {source} is not a readable image", file=sys.stderr)
        return 1
    if not output.parent.is_dir():
        print(f"error: output folder {output.parent} does not exist", file=sys.stderr)
        return 1

    assessment = assess(image, FaceDetector(), spec, live=False)
    report: dict[str, Any] = {
        "input": str(source),
        "spec": spec.name,
        "ok": False,
        "checks": [c.as_dict() for c in assessment.checks],
        "output": None,
    }
    messages = Messages.load()
    reasons = [f"{c.name}: {messages.get(c.message, 'en')}" for c in assessment.failures]
    if assessment.passed and assessment.face is not None:
        try:
            photo = compose(image, assessment.face, spec)
        except PhotoError as exc:
            reasons.append(f"encode: {exc}")
        else:
            _write_atomically(output, photo.jpeg)
            report.update(
                ok=True,
                output=str(output),
                width=photo.width,
                height=photo.height,
                jpeg_bytes=len(photo.jpeg),
                jpeg_quality=photo.quality,
            )
    if not report["ok"]:
        report["reasons"] = reasons
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
    if not report["ok"]:
        print(f"error: the photo does not comply ({'; '.join(reasons)}); no output written", file=sys.stderr)
        return 1
    if not args.json:
        print(f"{output}: {spec.name} {spec.width}x{spec.height}, {len(photo.jpeg) / 1024:.1f} KiB")
    return 0
