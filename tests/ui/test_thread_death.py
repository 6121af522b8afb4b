"""A thread that dies of an exception in the running app (kiosk/work.py install_excepthook, installed
by screens/app.py at start): logged for technicians, and the visit ends calmly on the error screen
instead of leaving the resident on a spinner until the idle timeout."""

from __future__ import annotations

import logging
import threading
from typing import Any

import pytest

pytestmark = pytest.mark.ui


def test_a_thread_that_dies_ends_the_visit_calmly(kiosk: Any, caplog: pytest.LogCaptureFixture) -> None:
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    session = kiosk.app.session
    assert kiosk.screen == "services" and session is not None
    session.values["phone"] = "13800138000"  # synthetic

    def answer_without_the_expected_key() -> None:
        raise KeyError("receipt")

    with caplog.at_level(logging.ERROR, logger="kiosk.work"):
        worker = threading.Thread(target=answer_without_the_expected_key, name="lookup-worker")
        worker.start()
        worker.join()
        kiosk.wait_until(lambda: kiosk.screen == "error", timeout_s=10, what="the calm error screen")
    assert session.wiped and session.values == {} and kiosk.app.session is None
    assert "thread lookup-worker died" in caplog.text
    kiosk.clock.advance(kiosk.app.runtime.config.session.attract_return_s + 1)
    kiosk.wait_until(lambda: kiosk.screen == "attract", what="the attract screen")
