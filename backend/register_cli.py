"""``kiosk-backend register ...`` and ``kiosk-backend keys ...``, and the identity options of ``serve``.

    kiosk-backend register add --store URL --id-number N --name NAME [--nation X] [--address A]
                               --photo FILE [--replace]
    kiosk-backend register list --store URL [--json]        ID numbers masked, no photos
    kiosk-backend register remove N --store URL
    kiosk-backend register audit --store URL [--limit N] [--json]   the latest verification attempts
    kiosk-backend keys generate --dir DIR      the first certificate signing key (file mode 0600)
    kiosk-backend keys rotate --dir DIR        a new current key; older keys stay to verify old papers
    kiosk-backend keys list --dir DIR
    kiosk-backend keys export-public --dir DIR [--out FILE]   every public key with its key id

Exit codes: 0 done, 1 refused (with one line on stderr: an unusable photo, a number enrolled
already, an unknown number, a missing key), 2 bad usage.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from backend.certificates import CERTIFICATE_DAYS, CertificateIssuer, KeyRing, KeyRingError
from backend.cli import CliError
from backend.identity import IdentityVerifier, RateLimit, audit_rows
from backend.register import Register, RegisterError, mask_number, matcher_factory
from backend.store import Store, open_store


def add_serve_options(serve: argparse.ArgumentParser) -> None:
    """The identity options of ``serve``."""
    group = serve.add_argument_group("identity verification and certificates")
    group.add_argument(
        "--cert-keys",
        default="",
        metavar="DIR",
        help="certificate signing keys (kiosk-backend keys generate)",
    )
    group.add_argument(
        "--cert-keys-create",
        action="store_true",
        help="make the first certificate key if --cert-keys DIR has none (the demo kiosk's local backend)",
    )
    group.add_argument("--certificate-days", type=int, default=CERTIFICATE_DAYS, metavar="N")
    group.add_argument(
        "--verify-max-failures",
        type=int,
        default=5,
        metavar="N",
        help="failed verifications allowed per ID number and per kiosk in the window (default 5)",
    )
    group.add_argument("--verify-window-s", type=float, default=3600, metavar="S", help="default 3600")
    group.add_argument(
        "--face-matcher", default="", metavar="MODULE:CLASS", help="a site's matcher (default: dlib)"
    )
    group.add_argument(
        "--enrol",
        default="",
        metavar="FILE.json",
        help="enrol these residents (if absent) before the first verification (the demo kiosk's)",
    )


def identity_from_args(args: argparse.Namespace, store: Store) -> IdentityVerifier:
    if args.verify_max_failures < 1 or args.verify_window_s <= 0:
        raise CliError("--verify-max-failures must be at least 1 and --verify-window-s positive")
    issuer = None
    if args.cert_keys:
        try:
            ring = KeyRing(Path(args.cert_keys))
            if args.cert_keys_create and not ring.current_id(missing_ok=True):
                ring.generate()
            issuer = CertificateIssuer(ring, days=args.certificate_days)
        except KeyRingError as exc:
            raise CliError(str(exc)) from exc
    return IdentityVerifier(
        store,
        Register(store, matcher_factory(args.face_matcher)),
        limit=RateLimit(args.verify_max_failures, args.verify_window_s),
        issuer=issuer,
        enrol_file=Path(args.enrol) if args.enrol else None,
    )


def cmd_register(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        register = Register(store, matcher_factory(args.face_matcher))
        if args.action == "add":
            return _add(args, register)
        if args.action == "list":
            residents = register.list()
            if args.json:
                print(json.dumps({"residents": residents}, ensure_ascii=False))
            elif not residents:
                print("the register is empty")
            for r in [] if args.json else residents:
                where = f"{r['nation'] or '-'}  {r['address'] or '-'}"
                print(f"{r['id_number']}  {r['name']}  {where}  {r['enrolled_at']}")
            return 0
        if args.action == "remove":
            if not args.id_number:
                raise CliError("register remove needs the ID number")
            if not register.remove(args.id_number):
                raise CliError(f"{mask_number(args.id_number)} is not in the register")
            print(f"removed {mask_number(args.id_number)}")
            return 0
        rows = audit_rows(store, args.limit)
        if args.json:
            print(json.dumps({"attempts": rows}, ensure_ascii=False))
        for row in [] if args.json else rows:
            sim = "" if row["similarity"] is None else f" similarity {row['similarity']:.3f}"
            what = f"{row['id_masked']}  {row['purpose'] or '-'}  {row['outcome']}{sim}"
            print(f"{row['at']}  {row['kiosk_id']}  {what}")
        return 0
    finally:
        store.close()


def _add(args: argparse.Namespace, register: Register) -> int:
    if args.id_positional and not args.id_number:
        args.id_number = args.id_positional
    missing = [
        o
        for o, v in (("--id-number", args.id_number), ("--name", args.name), ("--photo", args.photo))
        if not v
    ]
    if missing:
        raise CliError(f"register add needs {', '.join(missing)}")
    try:
        photo = Path(args.photo).read_bytes()
    except OSError as exc:
        raise CliError(f"cannot read the photo {args.photo}: {exc.strerror or exc}") from exc
    try:
        resident = register.add(
            args.id_number, args.name, photo, nation=args.nation, address=args.address, replace=args.replace
        )
    except RegisterError as exc:
        raise CliError(str(exc)) from exc
    print(f"enrolled {mask_number(resident.id_number)} {resident.name}")
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    ring = KeyRing(Path(args.dir))
    try:
        if args.action in ("generate", "rotate"):
            key_id = ring.generate(rotate=args.action == "rotate")
            print(f"certificate key {key_id} is current ({ring.folder / f'cert-{key_id}.pem'}, mode 0600)")
            print(
                "export the public keys for the checkers: kiosk-backend keys export-public --dir " + args.dir
            )
            return 0
        if args.action == "list":
            infos = ring.infos()
            if not infos:
                raise CliError(f"no certificate key in {ring.folder}")
            for info in infos:
                print(f"{info.key_id}  {'current' if info.current else 'retired'}")
            return 0
        text = ring.export_public()
    except KeyRingError as exc:
        raise CliError(str(exc)) from exc
    if args.out:
        try:
            Path(args.out).write_text(text, encoding="ascii")
        except OSError as exc:
            raise CliError(f"cannot write {args.out}: {exc.strerror or exc}") from exc
        print(f"wrote {args.out}")
    else:
        sys.stdout.write(text)
    return 0


def add_identity_commands(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    reg = sub.add_parser("register", help="the population register stand-in: enrol synthetic residents")
    reg.add_argument("action", choices=["add", "list", "remove", "audit"])
    reg.add_argument("id_positional", nargs="?", default="", metavar="ID_NUMBER", help="for remove")
    reg.add_argument("--store", required=True)
    reg.add_argument("--id-number", default="")
    reg.add_argument("--name", default="")
    reg.add_argument("--nation", default="")
    reg.add_argument("--address", default="")
    reg.add_argument("--photo", default="", metavar="FILE", help="JPEG (or PNG) with exactly one face")
    reg.add_argument("--replace", action="store_true", help="add: replace an enrolled resident")
    reg.add_argument("--face-matcher", default="", metavar="MODULE:CLASS")
    reg.add_argument("--json", action="store_true")
    reg.add_argument("--limit", type=int, default=50, help="audit: how many attempts")
    reg.set_defaults(func=_register_entry)
    keys = sub.add_parser("keys", help="certificate signing keys (Ed25519): generate, rotate, export-public")
    keys.add_argument("action", choices=["generate", "rotate", "list", "export-public"])
    keys.add_argument("--dir", required=True, metavar="DIR", help="the key folder (serve --cert-keys DIR)")
    keys.add_argument("--out", default="", metavar="FILE", help="export-public: write here, not to stdout")
    keys.set_defaults(func=cmd_keys)


def _register_entry(args: argparse.Namespace) -> int:
    if args.action == "remove":
        args.id_number = args.id_positional or args.id_number
    return cmd_register(args)
