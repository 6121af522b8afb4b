"""kiosk/maintenance/textfiles.py and the audit log's tail: the end of a large file at a fixed cost."""

from __future__ import annotations

import json
from pathlib import Path
from unittest import mock

from kiosk.maintenance.gate import AuditLog
from kiosk.maintenance.textfiles import tail_lines


def test_tail_of_a_large_file_reads_only_its_end(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.log"
    path.write_bytes(b"".join(b"line %07d\n" % i for i in range(2_000_000)))  # 26 MB
    real_open = Path.open
    read_sizes: list[int] = []

    def counting_open(self: Path, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        fh = real_open(self, *args, **kwargs)  # type: ignore[arg-type]
        original = fh.read
        fh.read = lambda n=-1: (read_sizes.append(n), original(n))[1]  # type: ignore[method-assign]
        return fh

    with mock.patch.object(Path, "open", counting_open):
        lines = tail_lines(path, 3, max_bytes=64 * 1024)
    assert lines == ["line 1999997", "line 1999998", "line 1999999"]
    assert read_sizes == [64 * 1024]


def test_a_line_cut_by_the_window_is_dropped_and_bad_bytes_replaced(tmp_path: Path) -> None:
    path = tmp_path / "kiosk.log"
    path.write_bytes(b"A" * 100 + b"\nsecond \xff line\nthird\n")
    assert tail_lines(path, 10, max_bytes=30) == ["second \ufffd line", "third"]
    assert tail_lines(path, 10) == ["A" * 100, "second \ufffd line", "third"]
    assert tail_lines(path, 1) == ["third"] and tail_lines(path, 0) == []
    assert tail_lines(tmp_path / "missing.log", 5) == []
    (tmp_path / "one").write_bytes(b"B" * 500)  # no newline inside the window: nothing whole to show
    assert tail_lines(tmp_path / "one", 5, max_bytes=100) == []


def test_audit_tail_skips_a_line_torn_by_a_power_cut(tmp_path: Path) -> None:
    audit = AuditLog(tmp_path / "audit.jsonl", clock=lambda: 1000.0)
    audit.record("maintenance.view", tab="logs")
    audit.record("maintenance.leave")
    with (tmp_path / "audit.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('["not an entry"]\n{"at": 1001, "action": "maintenance.re')  # torn mid-write
    entries = audit.tail(10)
    assert [e["action"] for e in entries] == ["maintenance.view", "maintenance.leave"]
    assert audit.tail(1) == []  # the last line is the torn one: no entry, no exception
    audit.record("maintenance.view", tab="audit")  # appended after the torn bytes, on a line of its own
    assert json.loads((tmp_path / "audit.jsonl").read_text().splitlines()[-1])["tab"] == "audit"
    assert [e["action"] for e in audit.tail(10)] == [
        "maintenance.view",
        "maintenance.leave",
        "maintenance.view",
    ]
