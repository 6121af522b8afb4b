"""``kiosk-backend staff ...`` and ``kiosk-backend audit``: accounts, tokens and the audit log from a
shell on the backend host (whoever has that shell and the store is trusted; every change is
audited as ``cli:<os user>``).

    kiosk-backend staff add USER --role reviewer|supervisor|admin --store URL
    kiosk-backend staff passwd USER --store URL
    kiosk-backend staff disable USER [--enable] --store URL
    kiosk-backend staff list --store URL [--json]
    kiosk-backend staff token USER [--label L] [--out FILE] --store URL
    kiosk-backend staff tokens [USER] --store URL
    kiosk-backend staff revoke TOKEN_ID --store URL
    kiosk-backend audit --store URL [--actor A] [--action X] [--target T] [--limit N] [--json]

Passwords are asked twice at a terminal, or read as one line from standard input (a script:
``printf '%s\\n' "$PW" | kiosk-backend staff add ...``); never from the command line, where
``ps`` shows them. A token is printed once (or written to ``--out`` with mode 0600).
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

from backend import staff
from backend.store import Store, open_store


class StaffCliError(Exception):
    """Printed as one line by the caller."""


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return str(os.getuid())


def cli_audit(store: Store, action: str, target: str = "", detail: str = "") -> None:
    """An audit row for a change made from this shell (``kiosk-backend jobs``, ``alerts --close``)."""
    staff.audit(store, f"cli:{_os_user()}", "cli", action, target, detail)


def read_password(stdin: Any = None) -> str:
    stdin = stdin or sys.stdin
    if stdin.isatty():
        first = getpass.getpass("new password: ")
        if getpass.getpass("again: ") != first:
            raise StaffCliError("the two passwords differ")
        return first
    line = stdin.readline()
    if not line:
        raise StaffCliError("no password on standard input")
    return str(line.rstrip("\r\n"))


def cmd_staff(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    actor = f"cli:{_os_user()}"
    try:
        action = args.staff_action
        if action == "add":
            account = staff.add_account(store, args.user, args.role, read_password())
            staff.audit(store, actor, "cli", "account_add", account.username, f"role {account.role}")
            print(f"account {account.username} ({account.role}) added")
        elif action == "passwd":
            staff.set_password(store, args.user, read_password())
            staff.audit(store, actor, "cli", "account_passwd", args.user)
            print(f"password of {args.user} changed; their console sessions are closed")
        elif action == "disable":
            staff.set_disabled(store, args.user, not args.enable)
            verb = "enabled" if args.enable else "disabled"
            staff.audit(store, actor, "cli", f"account_{verb[:-1]}", args.user)
            print(
                f"account {args.user} {verb}" + ("" if args.enable else "; sessions closed, tokens revoked")
            )
        elif action == "list":
            accounts = staff.list_accounts(store)
            if args.json:
                print(json.dumps({"accounts": accounts}))
            for item in [] if args.json else accounts:
                state = "disabled" if item["disabled"] else "active"
                print(f"{item['username']:<20} {item['role']:<10} {state:<8} tokens {item['tokens']}")
        elif action == "token":
            token = staff.create_token(store, args.user, args.label)
            staff.audit(store, actor, "cli", "token_add", args.user, token.split("_")[1])
            if args.out:
                _write_private(Path(args.out), token + "\n")
                print(f"token for {args.user} written to {args.out}")
            else:
                print(token)
        elif action == "tokens":
            for item in staff.list_tokens(store, args.user or ""):
                used = time.strftime("%Y-%m-%d %H:%M", time.localtime(item["last_used_ts"]))
                print(
                    f"{item['token_id']}  {item['username']:<20} {item['label'] or '-':<16}"
                    f" {'revoked' if item['revoked'] else 'active':<8}"
                    f" last used {used if item['last_used_ts'] else 'never'}"
                )
        elif action == "revoke":
            if not staff.revoke_token(store, args.token_id):
                raise StaffCliError(f"token {args.token_id} is unknown or revoked already")
            staff.audit(store, actor, "cli", "token_revoke", args.token_id)
            print(f"token {args.token_id} revoked")
    except staff.StaffError as exc:
        raise StaffCliError(str(exc)) from exc
    finally:
        store.close()
    return 0


def _write_private(path: Path, text: str) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as out:
        out.write(text)
    os.chmod(path, 0o600)


def cmd_audit(args: argparse.Namespace) -> int:
    store = open_store(args.store)
    try:
        rows = staff.audit_log(
            store, actor=args.actor, action=args.audit_action, target=args.target, limit=args.limit
        )
    finally:
        store.close()
    if args.json:
        print(json.dumps({"audit": rows}, ensure_ascii=False))
        return 0
    for row in rows:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(row["ts"]))
        print(
            f"{when}  {row['actor']:<20} {row['via']:<7} {row['action']:<16} {row['target']} {row['detail']}"
        )
    return 0


def add_staff_commands(sub: Any) -> None:
    """Register ``staff`` and ``audit`` on the ``kiosk-backend`` parser's subparsers."""
    parser = sub.add_parser("staff", help="staff accounts and API tokens")
    actions = parser.add_subparsers(dest="staff_action", required=True)

    def action(name: str, help_text: str, user: str = "required") -> argparse.ArgumentParser:
        p: argparse.ArgumentParser = actions.add_parser(name, help=help_text)
        p.add_argument("--store", required=True, help="sqlite:///PATH or postgresql://...")
        if user == "required":
            p.add_argument("user")
        elif user == "optional":
            p.add_argument("user", nargs="?", default="")
        p.set_defaults(func=cmd_staff)
        return p

    action("add", "add an account (password asked, or one line on stdin)").add_argument(
        "--role", required=True, choices=staff.ROLES
    )
    action("passwd", "set a new password (ends the person's console sessions)")
    action("disable", "disable an account (ends sessions, revokes tokens)").add_argument(
        "--enable", action="store_true", help="enable it again instead"
    )
    action("list", "every account", user="none").add_argument("--json", action="store_true")
    token = action("token", "issue an API token for the staff JSON API (shown once)")
    token.add_argument("--label", default="", help="what it is for, e.g. the client's host")
    token.add_argument("--out", default="", metavar="FILE", help="write it to FILE (mode 0600) instead")
    action("tokens", "list tokens (never their secrets)", user="optional")
    action("revoke", "revoke one token", user="none").add_argument("token_id")

    audit = sub.add_parser("audit", help="the staff audit log, newest first")
    audit.add_argument("--store", required=True)
    audit.add_argument("--actor", default="")
    audit.add_argument("--action", dest="audit_action", default="")
    audit.add_argument("--target", default="", help="target starts with this")
    audit.add_argument("--limit", type=int, default=100)
    audit.add_argument("--json", action="store_true")
    audit.set_defaults(func=cmd_audit)
