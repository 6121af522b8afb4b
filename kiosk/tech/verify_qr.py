"""``kiosk-tech verify-qr``: check a temporary identity certificate's QR with the backend's public key.

    kiosk-tech verify-qr TEXT_OR_IMAGE [--key PUBLIC_KEYS_FILE] [--name NAME] [--id-number N] [--json]

``TEXT_OR_IMAGE`` is the QR's text (``KC1.…``) or an image file of the QR (a photo or scan; decoded
with OpenCV's QR detector). ``--key`` is the file ``kiosk-backend keys export-public`` writes (every
public key with its key id; no private key is ever needed); without it, a demo kiosk (no
``backend.url``) uses its local backend's ``DATA_DIR/backend/cert-keys/public.pem``. The claims are
shown so the person checking compares them with the paper; ``--name`` / ``--id-number`` compare
them with what the paper says and fail on a difference (a genuine QR stuck on another's paper).

Exit codes: 0 genuine and valid (and the paper's name/number match when given); 1 not genuine or not
valid (malformed, unknown_key, bad_signature, expired, wrong_holder: the reason is printed);
2 unusable input (no QR in the image, unreadable image, no or bad key file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path

from contract.certificates import CertificateCheck, parse_public_keys, verify_certificate

LABELS = (
    ("name", "姓名 Name"),
    ("id_number", "公民身份号码 ID number"),
    ("valid_until", "有效期至 Valid until"),
    ("request_id", "编号 Number"),
    ("kiosk_id", "终端 Kiosk"),
    ("issued_at", "签发 Issued (UTC)"),
    ("photo_sha256", "照片 SHA-256"),
    ("key_id", "密钥 Key id"),
)
_REASON_TEXT = {
    "malformed": "not a certificate QR (or damaged)",
    "unknown_key": "signed with a key that is not in the key file",
    "bad_signature": "the signature does not match: the content was changed or forged",
    "expired": "genuine, but its validity has ended",
    "wrong_holder": "genuine, but issued to someone other than the name/number given",
}


class InputError(Exception):
    """The QR or the key file cannot be used (exit 2)."""


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> argparse.ArgumentParser:
    verify = sub.add_parser("verify-qr", help="check a certificate's QR (text or image) with the public key")
    verify.add_argument("qr", metavar="TEXT_OR_IMAGE", help="the QR's text, or an image file of the QR")
    verify.add_argument(
        "--key", metavar="FILE", help="public keys (kiosk-backend keys export-public); default: the demo's"
    )
    verify.add_argument("--name", default=None, help="the name printed on the paper (compared)")
    verify.add_argument("--id-number", default=None, help="the ID number printed on the paper (compared)")
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(func=run)
    return verify


def qr_text_of(arg: str) -> str:
    """The argument itself, or the text of the QR in the image file it names."""
    path = Path(arg)
    if arg.startswith("KC1.") or not path.is_file():
        return arg
    import cv2

    image = cv2.imread(str(path))
    if image is None:
        raise InputError(f"{path}: not an image that can be read")
    # the classic detector misses a few percent of dense symbols the ArUco-based one reads, and
    # the other way round on some photos: try both, at a few scales (large scans, small crops)
    detectors = (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco())
    for scale in (1.0, 0.5, 2.0):
        img = image if scale == 1.0 else cv2.resize(image, None, fx=scale, fy=scale)
        for detector in detectors:
            text, _points, _ = detector.detectAndDecode(img)
            if text:
                return str(text)
    raise InputError(f"{path}: no readable QR code in the image")


def _keys_file(args: argparse.Namespace) -> Path:
    if args.key:
        return Path(args.key)
    from kiosk.config.model import load_config

    config = load_config(getattr(args, "config", None), validate_devices=False)
    if config.backend.url:
        raise InputError("give --key FILE (the public keys from kiosk-backend keys export-public)")
    return config.data_dir / "backend" / "cert-keys" / "public.pem"


def check(args: argparse.Namespace) -> CertificateCheck:
    path = _keys_file(args)
    try:
        keys = parse_public_keys(path.read_text(encoding="ascii"))
    except OSError as exc:
        raise InputError(f"cannot read the key file {path}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        raise InputError(f"{path}: {exc}") from exc
    holder = {k: v for k, v in (("name", args.name), ("id_number", args.id_number)) if v is not None}
    return verify_certificate(qr_text_of(args.qr), keys, today=dt.date.today(), holder=holder)


def run(args: argparse.Namespace) -> int:
    try:
        result = check(args)
    except InputError as exc:
        if args.json:
            print(json.dumps({"error": str(exc)}, ensure_ascii=False))
        else:
            print(f"error: {exc}", file=sys.stderr)
        return 2
    genuine = result.claims is not None and result.reason not in ("bad_signature", "unknown_key")
    claims = result.claims.as_dict() if result.claims is not None and genuine else None
    if args.json:
        print(
            json.dumps({"valid": result.valid, "reason": result.reason, "claims": claims}, ensure_ascii=False)
        )
        return 0 if result.valid else 1
    if claims is not None:
        for key, label in LABELS:
            value = claims[key]
            if key == "issued_at":
                value = dt.datetime.fromtimestamp(int(value), dt.UTC).strftime("%Y-%m-%d %H:%M")
            print(f"{label}: {value}")
    if result.valid:
        print("valid: genuine, signed by the backend; compare the claims above with the paper")
        return 0
    key_note = f" ({result.claims.key_id})" if result.reason == "unknown_key" and result.claims else ""
    print(f"invalid: {result.reason}: {_REASON_TEXT.get(result.reason, '')}{key_note}", file=sys.stderr)
    return 1
