"""Staff accounts, tokens, sessions, the audit log and the review rules, on both stores (SQLite;
PostgreSQL when ``KIOSK_TEST_PG_URL`` is set): backend/staff.py, backend/staff_sessions.py,
backend/review.py, backend/staff_cli.py."""

from __future__ import annotations

import io
import json
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from backend import review, staff
from backend.cli import main
from backend.staff_sessions import close_session, csrf_ok, load_session, open_session
from backend.store import SqliteStore, Store, open_store
from contract.ids import uuid7

pytestmark = pytest.mark.integration

PASSWORD = "correct-horse-1"


@pytest.fixture
def store(store_url: str) -> Iterator[Store]:
    s = open_store(store_url)
    yield s
    s.close()


def _envelope(n: int) -> dict[str, object]:
    return {
        "envelope_version": 1,
        "request_id": str(uuid7()),
        "kiosk_id": "KIOSK-1",
        "sequence": n,
        "created_at": "2026-12-01T10:00:00Z",
        "request_type": "household.household_certificate",
        "request_version": 1,
        "test": False,
        "payload": {
            "applicant": {"id_number": "990000199001010009", "name": "李四", "identified_by": "card"}
        },
        "attachments": [],
    }


def _file(store: Store, n: int) -> str:
    env = _envelope(n)
    body = json.dumps(env).encode()
    assert store.ingest("KIOSK-1", f"nonce-{n}", int(time.time()), env, body).status == 201
    return str(env["request_id"])


def test_passwords_are_scrypt_hashes_with_their_parameters(store: Store) -> None:
    hashed = staff.hash_password(PASSWORD)
    kind, n, r, p, _salt, _digest = hashed.split("$")
    assert (kind, int(n), int(r), int(p)) == ("scrypt", 2**15, 8, 1)
    assert staff.verify_password(PASSWORD, hashed)
    assert not staff.verify_password(PASSWORD + "x", hashed)
    assert staff.hash_password(PASSWORD) != hashed  # salted
    assert not staff.verify_password(PASSWORD, "plain$text")


def test_accounts_roles_and_rules(store: Store) -> None:
    alice = staff.add_account(store, "alice", "reviewer", PASSWORD)
    assert alice.may("review") and alice.may("alerts") and not alice.may("audit")
    assert staff.add_account(store, "sam", "supervisor", PASSWORD).may("audit")
    assert staff.add_account(store, "root", "admin", PASSWORD).may("accounts")
    for user, role, pw, words in [
        ("alice", "reviewer", PASSWORD, "exists"),
        ("bob", "chief", PASSWORD, "role"),
        ("bob", "reviewer", "short", "10 characters"),
        ("Bob Smith", "reviewer", PASSWORD, "username"),
    ]:
        with pytest.raises(staff.StaffError, match=words):
            staff.add_account(store, user, role, pw)
    with store.transaction() as cur:
        (hashed,) = store._exec(
            cur, "SELECT password_hash FROM staff_accounts WHERE username='alice'"
        ).fetchone()
    assert PASSWORD not in hashed


def test_repeated_wrong_passwords_lock_the_account_for_a_growing_while(store: Store) -> None:
    staff.add_account(store, "alice", "reviewer", PASSWORD)
    now = 1_000_000.0
    for _ in range(staff.FREE_FAILURES - 1):
        assert staff.check_login(store, "alice", "wrong", now).reason == "bad_credentials"
    assert staff.check_login(store, "alice", PASSWORD, now).account is not None  # resets the count
    for _ in range(staff.FREE_FAILURES):
        staff.check_login(store, "alice", "wrong", now)
    locked = staff.check_login(store, "alice", PASSWORD, now + 1)  # even the right password waits
    assert locked.account is None and locked.reason == "locked"
    assert locked.retry_after_s == pytest.approx(staff.LOCK_BASE_S - 1)
    assert staff.check_login(store, "alice", "wrong", now + staff.LOCK_BASE_S + 1).reason == "bad_credentials"
    again = staff.check_login(store, "alice", PASSWORD, now + staff.LOCK_BASE_S + 2)
    assert again.reason == "locked" and again.retry_after_s > staff.LOCK_BASE_S  # doubled
    assert staff.check_login(store, "nobody", PASSWORD, now).reason == "bad_credentials"


def test_disabled_accounts_cannot_log_in_and_lose_tokens_and_sessions(store: Store) -> None:
    alice = staff.add_account(store, "alice", "reviewer", PASSWORD)
    token = staff.create_token(store, "alice", "desk")
    cookie, _ = open_session(store, alice)
    assert staff.account_for_token(store, f"Bearer {token}") == alice
    staff.set_disabled(store, "alice")
    assert staff.check_login(store, "alice", PASSWORD).reason == "disabled"
    assert staff.account_for_token(store, f"Bearer {token}") is None
    assert load_session(store, cookie) is None
    staff.set_disabled(store, "alice", False)
    assert staff.check_login(store, "alice", PASSWORD).account is not None
    assert staff.account_for_token(store, f"Bearer {token}") is None  # revoked for good


def test_tokens_are_per_person_hashed_and_revocable(store: Store) -> None:
    staff.add_account(store, "alice", "reviewer", PASSWORD)
    token = staff.create_token(store, "alice")
    _prefix, token_id, secret = token.split("_", 2)
    with store.transaction() as cur:
        rows = store._exec(cur, "SELECT * FROM staff_tokens").fetchall()
    assert secret not in repr(rows)
    assert staff.account_for_token(store, f"Bearer {token}").username == "alice"  # type: ignore[union-attr]
    assert staff.account_for_token(store, f"bearer {token}") is not None
    forged = f"kbt_{token_id}_{'A' * 43}"
    for header in (None, "", token, f"Basic {token}", f"Bearer {forged}", f"Bearer {token}x"):
        assert staff.account_for_token(store, header) is None
    assert staff.revoke_token(store, token_id) and not staff.revoke_token(store, token_id)
    assert staff.account_for_token(store, f"Bearer {token}") is None
    with pytest.raises(staff.StaffError):
        staff.create_token(store, "nobody")


def test_sessions_expire_when_idle_or_old_and_end_with_a_new_password(store: Store) -> None:
    alice = staff.add_account(store, "alice", "reviewer", PASSWORD)
    cookie, session = open_session(store, alice, now=1000.0)
    assert load_session(store, cookie, idle_s=60, now=1059.0) is not None  # restarts the idle clock
    assert load_session(store, cookie, idle_s=60, now=1118.0) is not None
    assert load_session(store, cookie, idle_s=60, now=1179.0) is None  # 61 s idle
    assert load_session(store, cookie, idle_s=60, now=1118.0) is None  # and its row is gone
    cookie, _ = open_session(store, alice, now=1000.0)
    assert load_session(store, cookie, idle_s=60, max_age_s=100, now=1050.0) is not None
    assert load_session(store, cookie, idle_s=60, max_age_s=100, now=1101.0) is None
    cookie, session = open_session(store, alice)
    assert csrf_ok(session, session.csrf) and not csrf_ok(session, "") and not csrf_ok(session, None)
    assert not csrf_ok(session, session.csrf[:-1] + "x")
    staff.set_password(store, "alice", "another-password")
    assert load_session(store, cookie) is None
    cookie, _ = open_session(store, alice)
    close_session(store, cookie)
    assert load_session(store, cookie) is None
    with store.transaction() as cur:
        keys = [row[0] for row in store._exec(cur, "SELECT session_hash FROM staff_sessions").fetchall()]
    assert cookie not in keys


def test_only_the_holder_finishes_and_a_rejection_needs_a_reason(store: Store) -> None:
    alice = review.Actor(staff.add_account(store, "alice", "reviewer", PASSWORD), "console", "127.0.0.1")
    bob = review.Actor(staff.add_account(store, "bob", "reviewer", PASSWORD), "api")
    sam = review.Actor(staff.add_account(store, "sam", "supervisor", PASSWORD), "console")
    first, second = _file(store, 1), _file(store, 2)
    job = review.take_next(store, alice)
    assert job is not None and job["request_id"] == first
    assert store.status(first)["status"] == "in_progress"  # type: ignore[index]
    with pytest.raises(review.ReviewError) as refused:
        review.finish(store, bob, first, "done")
    assert refused.value.code == "not_yours"
    with pytest.raises(review.ReviewError) as refused:
        review.finish(store, alice, first, "rejected", "   ")
    assert refused.value.code == "reason_required"
    review.finish(store, alice, first, "rejected", "照片  不符合要求")
    assert store.status(first)["reason"] == "照片 不符合要求"  # type: ignore[index]
    with pytest.raises(review.ReviewError) as refused:
        review.finish(store, alice, first, "done")
    assert refused.value.code == "not_open"
    assert review.take_next(store, bob)["request_id"] == second  # type: ignore[index]
    with pytest.raises(review.ReviewError) as refused:
        review.release(store, alice, second)
    assert refused.value.code == "not_yours"
    review.release(store, bob, second)  # back in the queue, at its place
    assert store.status(second)["status"] == "received"  # type: ignore[index]
    review.finish(store, sam, second, "done")  # a supervisor may finish one nobody took
    assert review.take_next(store, bob) is None
    rows = staff.audit_log(store)
    assert [(r["actor"], r["action"], r["target"]) for r in reversed(rows)] == [
        ("alice", "take", first),
        ("alice", "reject", first),
        ("bob", "take", second),
        ("bob", "release", second),
        ("sam", "complete", second),
    ]
    assert rows[-1]["via"] == "console" and rows[-1]["peer"] == "127.0.0.1"


def test_search_by_id_tail_and_the_audit_filter(store: Store) -> None:
    alice = review.Actor(staff.add_account(store, "alice", "reviewer", PASSWORD), "console")
    rid = _file(store, 1)
    assert [r["request_id"] for r in review.search(store, alice, rid)] == [rid]
    assert [r["request_id"] for r in review.search(store, alice, rid[-12:].upper())] == [rid]
    assert review.search(store, alice, "nothing") == []
    assert review.detail(store, alice, rid)["envelope"]["request_id"] == rid  # type: ignore[index]
    assert len(staff.audit_log(store, action="search")) == 3
    assert [r["action"] for r in staff.audit_log(store, target=rid)] == ["view", "search"]
    assert staff.audit_log(store, actor="bob") == []
    assert len(staff.audit_log(store, since_ts=time.time() + 60)) == 0
    assert len(staff.audit_log(store, until_ts=time.time() + 60)) == 4


def _cli(argv: list[str], stdin: str, monkeypatch: pytest.MonkeyPatch) -> int:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(argv)


def test_the_staff_commands_read_passwords_from_stdin_and_audit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    assert (
        _cli(["staff", "add", "alice", "--role", "reviewer", "--store", url], PASSWORD + "\n", monkeypatch)
        == 0
    )
    with pytest.raises(SystemExit):  # argparse: not a role
        _cli(["staff", "add", "bob", "--role", "boss", "--store", url], PASSWORD, monkeypatch)
    assert _cli(["staff", "add", "bob", "--role", "admin", "--store", url], "", monkeypatch) == 1
    assert _cli(["staff", "passwd", "alice", "--store", url], "new-password-22\n", monkeypatch) == 0
    out = tmp_path / "alice.token"
    assert _cli(["staff", "token", "alice", "--out", str(out), "--store", url], "", monkeypatch) == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
    assert _cli(["staff", "disable", "alice", "--store", url], "", monkeypatch) == 0
    assert _cli(["staff", "passwd", "nobody", "--store", url], "new-password-22\n", monkeypatch) == 1
    assert "no account nobody" in capsys.readouterr().err
    store = open_store(url)
    try:
        assert staff.check_login(store, "alice", "new-password-22").reason == "disabled"
        assert staff.account_for_token(store, f"Bearer {out.read_text().strip()}") is None
        actions = [r["action"] for r in staff.audit_log(store)]
        assert actions == ["account_disable", "token_add", "account_passwd", "account_add"]
        assert all(r["actor"].startswith("cli:") for r in staff.audit_log(store))
    finally:
        store.close()
    assert _cli(["audit", "--store", url, "--json", "--action", "account_add"], "", monkeypatch) == 0
    assert [r["target"] for r in json.loads(capsys.readouterr().out)["audit"]] == ["alice"]


class NumberedStore(SqliteStore):
    """A store with the acceptance-number look-up (branch ``number`` adds the real one)."""

    numbers: dict[str, str]

    def find_by_number(self, number: str) -> dict[str, object] | None:
        rid = self.numbers.get(number.replace(" ", ""))
        return self.status(rid) if rid else None


def test_search_by_acceptance_number_uses_the_stores_look_up(tmp_path: Path) -> None:
    store = NumberedStore(tmp_path / "n.db")
    try:
        alice = review.Actor(staff.add_account(store, "alice", "reviewer", PASSWORD), "console")
        rid = _file(store, 1)
        store.numbers = {"633504210057": rid}
        assert [r["request_id"] for r in review.search(store, alice, "6335 0421 0057")] == [rid]
        assert review.search(store, alice, "6335 0421 0058") == []
    finally:
        store.close()


def test_queue_work_from_the_shell_is_audited(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'b.db'}"
    store = open_store(url)
    rid = _file(store, 1)
    store.close()
    assert main(["jobs", "take", "--store", url, "--worker", "desk"]) == 0
    assert main(["jobs", "reject", rid, "--store", url, "--reason", "材料不全"]) == 0
    capsys.readouterr()
    store = open_store(url)
    try:
        rows = staff.audit_log(store, target=rid)
        assert [(r["action"], r["via"], r["detail"]) for r in rows] == [
            ("reject", "cli", "材料不全"),
            ("take", "cli", "worker desk"),
        ]
        assert rows[0]["actor"].startswith("cli:")
    finally:
        store.close()
