"""Main failure paths of the services, each in a real session of the real app (Xvfb), driven by the
pilot against simulated devices and the local simulated backend; plus regression tests of two UI
bugs (status panes outliving their step; a card left on the reader read for the next visitor).

Each asserts what the resident sees (Chinese, calm, a way forward), what was (not) stored in the
outbox and the backend, and that the kiosk is back on the attract screen with the session wiped.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pytest

from tests.ui.faults import (
    queue,
    return_to_attract,
    type_keys,
    wait_devices,
)

pytestmark = pytest.mark.ui

SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _shot(kiosk: Any, name: str) -> None:
    kiosk.screenshot(SHOTS / f"fail-{name}.png")


# -- known bug: the status look-up's panes outlived the step ------------------------------------------


def _status_visit(kiosk: Any) -> None:
    """Look a request up by its typed number, finish, back to the attract screen."""
    submitted = queue(kiosk).outbox.submit("system.test", 1, {"fields": {"note": "panes"}}, test=True)
    kiosk.frames(5)
    kiosk.tap_at(300, 300)
    kiosk.tap("办理进度查询")
    step = kiosk.app.screen("step").widget
    kiosk.wait_until(lambda: step.mode in ("scan", "type"), what="the look-up step")
    if step.mode == "scan":
        kiosk.tap("输入受理编号")
    kiosk.tap("输入完整编号")
    type_keys(kiosk, submitted.request_id.replace("-", "").upper())
    kiosk.tap("下一步")
    kiosk.wait_until(lambda: step.mode == "result", timeout_s=20, what="the status")
    kiosk.tap("完成")
    return_to_attract(kiosk)


def test_status_panes_do_not_outlive_the_step(kiosk: Any) -> None:
    wait_devices(kiosk, "camera")
    _status_visit(kiosk)  # the first visit also builds the screens the kiosk keeps
    observers = len(kiosk.app.get_property_observers("lang"))
    _status_visit(kiosk)
    # nothing of the finished step still listens to the language (before the fix: 71 more rules
    # per visit, run against collected widgets once the cycle collector had freed them)
    assert len(kiosk.app.get_property_observers("lang")) == observers
    gc.collect()
    kiosk.frames(5)
    kiosk.tap_at(300, 300)
    assert kiosk.screen == "home", kiosk.screen
    for _ in range(4):
        kiosk.tap("English" if kiosk.app.lang == "zh" else "中文", exact=True)
    assert kiosk.errors == [], kiosk.errors
    assert "请选择业务类别" in kiosk.visible_texts()
    kiosk.app.cancel()
