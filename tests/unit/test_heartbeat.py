"""The heartbeat's health document: states and counts the backend can store, nothing personal."""

from __future__ import annotations

import time
from types import SimpleNamespace

from drivers.base import DeviceHealth, Health
from kiosk.queue.heartbeat import health_document, printable


def test_a_driver_detail_with_control_bytes_is_storable_text() -> None:
    health = {
        "card_reader": DeviceHealth(Health.DOWN, "garbled_frame", "reply \x00\x07 then\nnoise"),
        "receipt_printer": DeviceHealth(Health.OK, "ok", "x" * 1000),
    }
    runtime = SimpleNamespace(
        config=SimpleNamespace(
            devices=dict.fromkeys(health, object()), kiosk=SimpleNamespace(mode="production")
        ),
        device_health=health.get,
        queue=None,
    )
    doc = health_document(runtime, time.monotonic())
    reader = doc["devices"]["card_reader"]
    assert reader == {
        "state": "down",
        "code": "garbled_frame",
        "detail": "reply \ufffd\ufffd then\ufffdnoise",
    }
    assert len(doc["devices"]["receipt_printer"]["detail"]) == 300
    assert printable("纸将尽 paper near end") == "纸将尽 paper near end"  # text stays as it was
