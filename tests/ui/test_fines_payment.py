"""Traffic fines and the payment QR screen (screens/steps/lookups.py; issue 18 finding 6): the
selected mark is an icon that the icon font has, each row shows points and the decision number,
全选 chooses all and then none, and the payment screen lists what is paid, the total, a countdown
of the code's validity and generic phone/wallet icons."""

from __future__ import annotations

from typing import Any

import pytest

from screens import icons
from screens.harness.layout import GlyphTable
from screens.harness.tour_steps import Hold, flow_at

pytestmark = pytest.mark.ui


def _violations_step(kiosk: Any) -> Any:
    app = kiosk.app
    kiosk.wait_until(lambda: app.runtime.queue is not None, timeout_s=30, what="the request queue")
    service = app.catalogue["traffic-fine"]
    target = next(s for s in service.steps if s.kind == "violations")
    flow_at(app, service, target)
    app.show_route()
    step = app.screen("step").widget
    kiosk.wait_until(lambda: len(step.items) == 2, timeout_s=10, what="the two violations of 京A10000")
    kiosk.frames(3)
    return step


def test_rows_show_points_decision_and_a_mark_that_renders(kiosk: Any) -> None:
    step = _violations_step(kiosk)
    texts = kiosk.visible_texts()
    first = step.items[0]
    assert any(first["decision_no"] in t for t in texts)  # 决定书编号
    assert any((t.startswith("记 ") and t.endswith(" 分")) or t == "不记分" for t in texts)
    marks = [w for w in kiosk.walk() if isinstance(w, icons.Icon) and w.icon.startswith("checkbox")]
    assert [m.icon for m in marks] == ["checkbox-marked", "checkbox-marked"]  # all chosen at first
    glyphs = GlyphTable()
    assert all(glyphs.has(str(icons.font_path()), m.text) for m in marks)
    assert "已选 2 条，共 ￥" in " ".join(texts)
    kiosk.tap(step.ids.rows.children[-1])
    assert step.chosen == [step.items[1]["violation_id"]]
    assert sorted(m.icon for m in marks) == ["checkbox-blank-outline", "checkbox-marked"]
    assert any(t.startswith("已选 1 条") for t in kiosk.visible_texts())
    kiosk.tap("全选", exact=True)
    assert len(step.chosen) == 2 and step.all_chosen
    kiosk.tap("全不选", exact=True)
    assert step.chosen == [] and "请点选要缴纳的违法记录" in kiosk.visible_texts()
    kiosk.app.end_session("test")


def test_payment_lists_items_total_countdown_and_icons(kiosk: Any) -> None:
    app = kiosk.app
    step = _violations_step(kiosk)
    kiosk.tap(step.ids.rows.children[-1])  # pay the second only
    chosen = step.items[1]
    kiosk.tap("缴纳所选")
    payment = app.screen("step").widget
    kiosk.wait_until(lambda: payment.qr_texture is not None, timeout_s=10, what="the payment QR code")
    kiosk.frames(3)
    texts = kiosk.visible_texts()
    assert chosen["description_zh"] in texts and "缴费明细" in texts
    assert payment.bill == [(chosen["description_zh"], f"￥{chosen['amount_fen'] / 100:.2f}")]
    assert payment.valid_text.startswith("二维码 2 分 5") or payment.valid_text.startswith("二维码 3 分 00")
    app.runtime.clock.advance(61)
    kiosk.frames(2)
    payment._count_down()
    assert payment.valid_text.startswith("二维码 1 分") or payment.valid_text.startswith("二维码 2 分 00")
    shown = {w.icon for w in kiosk.walk() if isinstance(w, icons.Icon) and w.opacity}
    assert {"cellphone", "qrcode-scan", "wallet"} <= shown
    app.end_session("test")
    Hold().abandon()
