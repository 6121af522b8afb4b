"""Traffic violations processed, then paid (screens/steps/lookups.py; issues 18 and 19), against
the local backend's demo register (backend/fines.py: 张三丰's car has a decided fine now late, two
camera records and one over the kiosk's limit): the licence's points, a selected mark that renders,
points and decision numbers on the rows, 全选, the main action in the action bar's main slot
(confirm the camera records, then pay), the late fee on its own line, and 出示付款码 with the
simulated scanner."""

from __future__ import annotations

from typing import Any

import pytest

from screens import icons
from screens.harness.layout import GlyphTable
from screens.harness.tour_steps import Hold, flow_at
from tests.ui.faults import reset_demo_fines

pytestmark = pytest.mark.ui


def _violations_step(kiosk: Any) -> Any:
    app = kiosk.app
    kiosk.wait_until(lambda: app.runtime.queue is not None, timeout_s=30, what="the request queue")
    reset_demo_fines(kiosk)  # an earlier test may have paid them
    service = app.catalogue["traffic-fine"]
    target = next(s for s in service.steps if s.kind == "violations")
    flow_at(app, service, target)  # by ID card: the simulated resident card, 张三丰
    app.show_route()
    step = app.screen("step").widget
    kiosk.wait_until(lambda: len(step.items) == 4, timeout_s=15, what="the four records of 张三丰's car")
    kiosk.frames(3)
    return step


def _main(kiosk: Any) -> Any:
    return kiosk.app.screen("step")


def test_rows_show_licence_points_decisions_camera_records_and_marks_that_render(kiosk: Any) -> None:
    step = _violations_step(kiosk)
    texts = kiosk.visible_texts()
    joined = " ".join(texts)
    assert "剩余 9 分" in joined and "C1" in joined  # the licence: points left this cycle
    decided = next(v for v in step.items if v["decision_no"])
    assert any(decided["decision_no"] in t for t in texts)  # 决定书编号
    assert "电子监控记录，待确认" in joined  # the rows below the fold say the rest:
    details = " ".join(step.row_detail(v) for v in step.items)
    assert "罚款较高" in details and "另加滞纳金 ￥150.00" in details and "下面还有" in joined
    assert any((t.startswith("记 ") and t.endswith(" 分")) or t == "不记分" for t in texts)
    marks = [
        w for w in kiosk.walk() if isinstance(w, icons.Icon) and w.icon.startswith(("checkbox", "minus"))
    ]
    assert sorted(m.icon for m in marks) == ["checkbox-marked"] * 3 + ["minus-circle-outline"]
    glyphs = GlyphTable()
    assert all(glyphs.has(str(icons.font_path()), m.text) for m in marks)
    assert "已选 3 条，共 ￥" in joined
    over = next(r for r in step.ids.rows.children if r.item["why_not"] == "over_limit")
    kiosk.tap(over)  # over the limit: shown, never chosen
    assert len(step.chosen) == 3
    kiosk.tap("全不选", exact=True)
    assert step.chosen == [] and "请点选要缴纳的违法记录" in kiosk.visible_texts()
    kiosk.tap("全选", exact=True)
    assert len(step.chosen) == 3 and step.all_chosen
    screen = _main(kiosk)
    assert screen.main_text == "下一步：确认违法" and screen.next_visible  # the action bar's main slot
    kiosk.app.end_session("test")


def test_confirm_then_pay_with_the_late_fee_apart_and_a_payment_code(kiosk: Any) -> None:
    app = kiosk.app
    step = _violations_step(kiosk)
    kiosk.tap(_main(kiosk).main_text)  # 下一步：确认违法: the confirm sheet with the points
    kiosk.wait_until(lambda: step.engine.state.confirming, what="the confirm sheet")
    assert "共记 7 分，剩余 2 分" in step.message
    kiosk.tap("确认违法")
    kiosk.wait_until(lambda: step.main_key == "lookup.pay_chosen", timeout_s=15, what="the decisions")
    assert all(v["decision_no"] for v in step.items if not v["why_not"])
    assert "剩余 2 分" in step.licence_text
    kiosk.tap("缴纳所选")
    payment = app.screen("step").widget
    kiosk.wait_until(
        lambda: getattr(payment, "qr_texture", None) is not None, timeout_s=15, what="the QR code"
    )
    kiosk.frames(3)
    assert (
        "滞纳金（加处罚款）",
        "￥150.00",
    ) in payment.bill  # the late fee on its own line, capped at the fine
    shown = {w.icon for w in kiosk.walk() if isinstance(w, icons.Icon) and w.opacity}
    assert {"cellphone", "qrcode-scan", "wallet"} <= shown
    assert _main(kiosk).main_text == "出示付款码"
    kiosk.tap("出示付款码")
    assert payment.code_mode and "付款码" in payment.code_text and _main(kiosk).main_text == "扫码支付"
    kiosk.tap("演示：出示付款码")
    kiosk.wait_until(lambda: "payment" in app.session.artifacts, timeout_s=15, what="the code to pay")
    paid = app.session.artifacts["payment"]
    assert paid["method"] == "code" and len(paid["fiscal_receipt_no"]) == 18
    app.end_session("test")
    Hold().abandon()
