"""The maintenance pages in the real app under Xvfb, entered by the corner gesture and the PIN:
device dashboard, card-read test, camera live view and snapshot, print test with preview, queue
view with retries; each with a fault injected into the simulated device while its page is open."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.ui

# KIOSK_DOCS_SCREENSHOTS=1 refreshes the pictures in docs/; otherwise they go to a temporary folder
# (still rendered and written, so a page that fails to draw fails the test)
SHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if os.environ.get("KIOSK_DOCS_SCREENSHOTS")
    else Path(tempfile.gettempdir()) / "kiosk-maintenance-shots"
)


def _page(kiosk: Any) -> Any:
    screen = kiosk.app.screen("maintenance")
    return kiosk.wait_until(lambda: screen.current_page, what="the page")


def _audit(kiosk: Any, action: str) -> list[dict[str, Any]]:
    return [e for e in kiosk.app.runtime.gate.audit.tail(50) if e["action"] == action]


def _shot(kiosk: Any, name: str) -> None:
    kiosk.frames(3)
    kiosk.screenshot(SHOTS / name)


def test_dashboard_is_live_counts_reads_and_survives_an_unplugged_reader(maint: Any) -> None:
    kiosk = maint
    runtime = kiosk.app.runtime
    page = _page(kiosk)
    kiosk.wait_until(lambda: "reads" in page.text and page.refreshed, what="the dashboard rows")
    text = page.text
    for role in ("card_reader", "camera", "printer", "a4_printer"):
        assert role in text
    assert "driver simulated" in text and "kiosk-idcard-sim" in text  # the reader's real pty link
    assert "frames 0" not in text.split("camera")[1].split("printer")[0]  # frames are counted live
    first = page.refreshed
    kiosk.wait_until(lambda: page.refreshed != first, timeout_s=5, what="the next refresh")
    cards = page._cards_by_role  # one card per device, side by side in landscape
    roles = ["card_reader", "camera", "printer", "a4_printer", "scanner", "fingerprint"]  # optional roles too
    assert list(cards) == roles and page.ids.cards.cols == 2
    tr = kiosk.app.tr
    titles = {role: card.title for role, card in cards.items()}
    assert all(titles[role] == tr(f"maint.card.role.{role}") for role in roles), titles
    simulated = [card for role, card in cards.items() if role != "fingerprint"]  # the UI kiosk's site file
    assert all(card.state == "ok" for card in simulated), {r: c.state for r, c in cards.items()}
    assert all(card.state_word == "正常" and "驱动：simulated" in card.body for card in simulated)
    assert cards["fingerprint"].state != "ok"  # no collector configured ("none"): not shown as working
    from kivy.uix.label import Label

    shown = " ".join(w.text for w in kiosk.walk() if isinstance(w, Label) and w.opacity and w.text)
    assert "/tmp/" not in shown and "card_reader" not in shown  # Chinese first, no temporary paths
    _shot(kiosk, "maintenance-devices.png")

    simulator = runtime.devices["card_reader"].simulator
    simulator.unplug()
    try:
        kiosk.wait_until(
            lambda: page.text.split("\n")[0].split() == ["card_reader", "down", "disconnected"],
            timeout_s=10,
            what="the reader shown as gone",
        )
        reader_block = page.text.split("camera")[0]
        assert "last error" in reader_block and "errors 0" not in reader_block  # counted, with its cause
        reader = cards["card_reader"]
        assert reader.state == "down" and reader.state_word == "故障" and "最近错误" in reader.body
        assert reader.cause  # the cause in one sentence, without opening the details
        assert kiosk.screen == "maintenance"
    finally:
        simulator.replug()
    kiosk.wait_until(
        lambda: page.text.split("\n")[0].split()[:2] == ["card_reader", "ok"],
        timeout_s=15,
        what="the reader back after replug",
    )


def test_card_read_test_shows_the_masked_result_and_a_failure_with_its_cause(maint: Any) -> None:
    kiosk = maint
    simulator = kiosk.app.runtime.devices["card_reader"].simulator
    kiosk.tap("读卡测试")
    page = _page(kiosk)
    assert any("请将身份证放在读卡器上" in t for t in kiosk.visible_texts())
    simulator.place("resident")
    try:
        kiosk.wait_until(lambda: "ms" in page.result, timeout_s=10, what="the card test result")
        result = page.result
        assert "9901**********031X" in result and "张**" in result
        assert "99010119800315031X" not in result and "张三丰" not in result
        assert "居民身份证" in result and "00 00 90" in result  # SW1 SW2 SW3 as the reader sent them
        assert kiosk.screen == "maintenance" and kiosk.app.session is None  # no visit was started
        _shot(kiosk, "maintenance-card-test.png")
        entry = _audit(kiosk, "maintenance.card_test")[-1]
        assert entry["outcome"] == "ok" and entry["card_type"] == "resident"
        assert "99010119800315031X" not in kiosk.app.runtime.gate.audit.path.read_text()

        simulator.inject("remove_mid_read")  # the card slides off during the read: SW3 41
        kiosk.tap("再读一次")
        kiosk.wait_until(lambda: "SW3 41" in page.result, timeout_s=10, what="the failure cause")
        assert "读卡失败" in page.result
        assert _audit(kiosk, "maintenance.card_test")[-1]["outcome"] == "failed"
    finally:
        simulator.clear_faults()
        simulator.remove()


def test_camera_live_view_snapshot_only_on_the_button_and_a_camera_that_goes(maint: Any) -> None:
    from drivers.camera.simulator import Fault

    kiosk = maint
    runtime = kiosk.app.runtime
    folder = runtime.config.data_dir / "snapshots"
    before = set(folder.glob("*.jpg")) if folder.exists() else set()
    kiosk.tap("摄像头")
    page = _page(kiosk)
    kiosk.wait_until(lambda: page.streaming and "帧/秒" in page.info, timeout_s=10, what="the preview")
    assert "640×480" in page.info and "亮度" in page.info
    assert page.texture is not None and tuple(page.texture.size) == (640, 480)
    kiosk.wait_until(lambda: not page.info.startswith("0.0"), timeout_s=5, what="a measured frame rate")
    assert (set(folder.glob("*.jpg")) if folder.exists() else set()) == before  # nothing saved by itself
    _shot(kiosk, "maintenance-camera.png")

    kiosk.tap("保存截图")
    kiosk.wait_until(lambda: "已保存" in page.saved, timeout_s=10, what="the snapshot")
    new = set(folder.glob("*.jpg")) - before
    assert len(new) == 1 and next(iter(new)).stat().st_size > 10_000
    assert _audit(kiosk, "maintenance.camera_snapshot")[-1]["file"] == next(iter(new)).name

    camera = runtime.devices["camera"]
    camera.inject(Fault.GONE)  # unplugged while the page is open
    try:
        kiosk.wait_until(lambda: "无画面" in page.info, timeout_s=10, what="the cause on screen")
        assert "reconnecting" in page.info  # a streaming camera that vanishes is being reconnected
        assert not page.streaming
        kiosk.tap("设备状态")
        assert kiosk.screen == "maintenance"
    finally:
        camera.inject(None)
    kiosk.wait_until(lambda: camera.status().value == "streaming", timeout_s=10, what="the camera back")


def test_print_test_shows_the_preview_and_the_status_with_its_cause(maint: Any) -> None:
    kiosk = maint
    printer = kiosk.app.runtime.devices["printer"]
    kiosk.tap("打印测试")
    page = _page(kiosk)
    kiosk.tap("小票测试页")
    kiosk.wait_until(lambda: "已打印" in page.outcome, timeout_s=15, what="the test print")
    assert "正常 ready" in page.outcome and page.preview is not None
    assert page.preview.height > page.preview.width  # a receipt strip
    _shot(kiosk, "maintenance-print.png")
    assert _audit(kiosk, "maintenance.print_test")[-1]["outcome"] == "ok"

    printer.inject("paper_out")
    try:
        kiosk.tap("小票测试页")
        kiosk.wait_until(lambda: "未能打印" in page.outcome, timeout_s=15, what="the refusal")
        assert "缺纸 paper out" in page.outcome
        assert _audit(kiosk, "maintenance.print_test")[-1]["outcome"] == "paper_out"
    finally:
        printer.clear()

    kiosk.tap("A4 测试页")
    kiosk.wait_until(lambda: "a4_printer 已打印" in page.outcome, timeout_s=30, what="the A4 test print")
    assert page.preview.width > 1000


def _dead_letter(queue: Any, note: str, status: int, answer: str) -> str:
    """A request the backend refused for good (as delivery records a 4xx), made directly in the outbox."""
    submitted = queue.outbox.submit("system.test", 1, {"fields": {"note": note}}, test=True)
    queue.outbox._write(
        "UPDATE requests SET status = 'dead', answer_status = ?, answer = ?, last_error = ?"
        " WHERE request_id = ?",
        (status, answer, f"HTTP {status}", submitted.request_id),
    )
    return str(submitted.request_id)


def test_queue_view_lists_dead_letters_with_the_answer_and_retries_them(maint: Any) -> None:
    kiosk = maint
    kiosk.wait_until(lambda: kiosk.app.runtime.queue is not None, timeout_s=30, what="the queue")
    queue = kiosk.app.runtime.queue
    one = _dead_letter(queue, "dead one", 422, '{"error": "payload.fields.note: too long"}')
    two = _dead_letter(queue, "dead two", 403, '{"error": "unknown key id"}')
    kiosk.tap("发送队列")
    page = _page(kiosk)
    kiosk.wait_until(lambda: len(page.ids.dead_list.children) >= 2, timeout_s=10, what="the dead letters")
    texts = "\n".join(kiosk.visible_texts())
    assert "HTTP 422" in texts and "payload.fields.note: too long" in texts and one in texts
    assert "HTTP 403" in texts and "待发送" in page.summary
    _shot(kiosk, "maintenance-queue.png")

    row = next(r for r in page.ids.dead_list.children if getattr(r, "request_id", "") == one)
    kiosk.tap(next(w for w in row.children if getattr(w, "text", "") == "重试"))
    kiosk.wait_until(
        lambda: (queue.outbox.record(one) or {}).get("status") == "acknowledged",
        timeout_s=20,
        what="delivery",
    )
    assert queue.outbox.record(two)["status"] == "dead"
    entry = _audit(kiosk, "maintenance.queue_retry")[-1]
    assert entry["request_id"] == one and entry["count"] == 1

    kiosk.tap("全部重试")
    kiosk.wait_until(
        lambda: (queue.outbox.record(two) or {}).get("status") == "acknowledged",
        timeout_s=20,
        what="delivery",
    )
    assert _audit(kiosk, "maintenance.queue_retry")[-1]["all"] is True
    kiosk.wait_until(lambda: "没有被拒绝的请求" in "\n".join(kiosk.visible_texts()), what="an empty list")


def test_settings_slot_and_leaving_closes_every_page(maint: Any) -> None:
    kiosk = maint
    kiosk.tap("设置 Settings")
    assert kiosk.screen == "maintenance"
    kiosk.tap("摄像头")
    page = _page(kiosk)
    kiosk.wait_until(lambda: page.streaming, timeout_s=10, what="the preview")
    kiosk.tap("退出维护")
    assert kiosk.screen == "attract" and not page.is_open and page.texture is None


def test_log_and_audit_views_read_only_the_end_of_large_files_off_the_ui_thread(
    maint: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading
    import time

    import screens.maintenance.main as maintenance_screen
    from kiosk.maintenance.textfiles import tail_lines

    kiosk = maint
    screen = kiosk.app.screen("maintenance")
    log = kiosk.app.runtime.config.log_dir / "kiosk.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("a", encoding="utf-8") as fh:  # ~40 MB of earlier days, then today's last line
        fh.write(("2026-11-28 03:00:00 INFO kiosk.queue.delivery delivered request ****0001\n") * 600_000)
        fh.write("2026-11-29 02:00:00 WARNING synthetic last line of the log\n")
    gate, reads = threading.Event(), []

    def slow_tail(path: Path, count: int, **kw: Any) -> list[str]:
        reads.append(threading.current_thread().name)
        gate.wait(10)  # a slow SD card
        return tail_lines(path, count, **kw)

    monkeypatch.setattr(maintenance_screen, "tail_lines", slow_tail)
    kiosk.tap(kiosk.app.tr("maint.logs"))
    kiosk.wait_until(lambda: reads, what="the log read")
    started, frames = time.monotonic(), 0
    while time.monotonic() - started < 2.5:  # the 1 s refresh ticks twice while the read waits
        kiosk.frames(1)
        frames += 1
    assert frames >= 20, f"the UI drew only {frames} frames in 2.5 s while the log was being read"
    assert "synthetic last line" not in screen.text
    assert len(reads) == 1 and reads[0] == "maint-text"  # off the UI thread, one read at a time
    gate.set()
    kiosk.wait_until(lambda: "synthetic last line" in screen.text, what="the log's last line")
    assert len(screen.text.splitlines()) == maintenance_screen.LOG_LINES

    kiosk.tap(kiosk.app.tr("maint.audit"))
    kiosk.wait_until(
        lambda: "maintenance.view" in screen.text and "tab=audit" in screen.text, what="the audit"
    )


def test_restart_sits_at_the_top_and_asks_first(maint: Any) -> None:
    kiosk = maint
    app = kiosk.app
    screen = app.screen("maintenance")
    restarts: list[int] = []
    app.restart = lambda: restarts.append(1)  # the real one replaces the process
    try:
        button = kiosk.find(app.tr("maint.restart"), exact=True)
        _x, y = button.to_window(*button.center)
        assert y > kiosk.app.root_window.height * 0.7  # up by the title, not where 返回 sits
        kiosk.tap(button)
        assert restarts == [] and screen.restart_armed
        assert app.tr("maint.restart_ask") in kiosk.visible_texts()
        kiosk.tap(app.tr("maint.restart_cancel"), exact=True)
        assert not screen.restart_armed
        kiosk.tap(app.tr("maint.restart"), exact=True)
        kiosk.tap(app.tr("maint.restart_confirm"), exact=True)
        assert restarts == [1]
    finally:
        del app.restart
