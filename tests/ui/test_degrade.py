"""Degrade instead of disable, under Xvfb: with the ID-card reader unplugged, traffic-fine is still
offered, by decision number and by plate; the card option shows why it is missing."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.ui.faults import reset_demo_fines

pytestmark = pytest.mark.ui


@pytest.fixture
def reader_unplugged(kiosk: Any) -> Iterator[Any]:
    """The simulated reader's serial line closed, as a yanked USB cable; plugged back afterwards."""
    runtime = kiosk.app.runtime
    kiosk.wait_until(lambda: "card_reader" in runtime.devices, timeout_s=30, what="the simulated reader")
    simulator = runtime.devices["card_reader"].simulator
    simulator.remove()
    simulator.unplug()
    try:
        kiosk.wait_until(
            lambda: not runtime.device_health("card_reader").usable,
            timeout_s=15,
            what="the reader to be down",
        )
        yield simulator
    finally:
        simulator.replug()
        kiosk.wait_until(
            lambda: runtime.device_health("card_reader").usable, timeout_s=30, what="the reader to be back"
        )


def test_traffic_fine_by_decision_number_or_plate_while_the_reader_is_unplugged(
    kiosk: Any, reader_unplugged: Any
) -> None:
    kiosk.wait_until(lambda: kiosk.app.runtime.queue is not None, timeout_s=30, what="the request queue")
    reset_demo_fines(kiosk)
    kiosk.tap_at(300, 300)
    kiosk.tap("车驾管业务")
    fine = kiosk.find("交通违法处理缴款", exact=True)
    assert fine.available and "部分办理方式暂不可用" in fine.note
    assert not kiosk.find("补领机动车号牌", exact=True).available  # needs the card on every branch
    kiosk.tap(fine)
    assert kiosk.screen == "step" and kiosk.app.flow.step.id == "how"
    card_option = kiosk.find("刷身份证处理违法")
    assert card_option.disabled and "读卡器暂不可用" in card_option.text  # the reason, on screen
    kiosk.tap_at(*card_option.center)  # touching it does nothing
    kiosk.frames(2)
    assert kiosk.app.flow.step.id == "how"
    assert not kiosk.find("输入决定书编号缴款").disabled  # a decided fine is paid without the card
    kiosk.tap("只查车牌号")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    for key in "京A12345":
        kiosk.tap(key, exact=True)
    kiosk.tap("下一步")
    violations = kiosk.app.screen("step").widget
    kiosk.wait_until(lambda: len(getattr(violations, "items", ())) == 4, timeout_s=10, what="the records")
    assert {v["why_not"] for v in violations.items} == {"needs_card"}  # shown, paid after identifying
    kiosk.app.end_session("test")


def test_lost_card_replacement_is_offered_while_the_reader_is_unplugged(
    kiosk: Any, reader_unplugged: Any
) -> None:
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    tile = kiosk.find("身份证换领/补领", exact=True)
    assert tile.available and not kiosk.find("户籍证明", exact=True).available
    kiosk.tap(tile)
    kiosk.tap("我已阅读并同意")
    renewal = kiosk.find("换领（证件在手）")
    assert renewal.disabled and "读卡器暂不可用" in renewal.text
    kiosk.tap("补领（证件丢失）")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    kiosk.tap("证件丢失")
    kiosk.tap(kiosk.app.tr("app.next"))  # confirm the choice
    assert kiosk.app.flow.step.id == "identity"  # the number + photo branch, no card needed
