"""Request status look-up without Kivy: what a receipt's QR and number parse to, how the backend's
answer reads, and the scanner's thread decoding real QR images from a camera."""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from contract.ids import acceptance_number, uuid7
from drivers.camera.base import CameraStatus, Frame, FrameSlot
from kiosk.errors import BackendRejected, BackendUnavailable
from kiosk.steps.status import (
    ManualEntry,
    StatusView,
    canonical,
    is_request_id,
    look_up,
    parse_qr,
    view_from_answer,
)
from kiosk.steps.status_scan import HINT_NOT_FOUND, HINT_NOT_RECEIPT, HINT_SHOW, QrScanner, receipt_frame

RID = "0192f3a4-9b2c-7d1e-8f00-0a1b2c3d4e5f"
NUMBER = acceptance_number(42, dt.date(2026, 11, 28), 57)
BASE = "https://kiosk.example.invalid/status/"


# -- what the receipt carries ----------------------------------------------------------------------


def test_receipt_qr_link_and_bare_number_parse_to_the_request_id() -> None:
    assert parse_qr(BASE + RID) == RID
    assert parse_qr(BASE + RID + "/") == RID
    assert parse_qr(f"https://other.example/kiosk/status/{RID.upper()}?lang=en") == RID
    assert parse_qr(RID.upper()) == RID
    assert parse_qr("  " + RID.replace("-", "") + "\n") == RID


@pytest.mark.parametrize(
    "text",
    [
        "http://kiosk.example.invalid/status/" + RID,  # not https: not what receipts print
        "https://kiosk.example.invalid/pay/" + RID,  # another page
        "https://kiosk.example.invalid/status/0192f3a4-9b2c-4d1e-8f00-0a1b2c3d4e5f",  # a UUIDv4
        "https://kiosk.example.invalid/status/0192f3a4-9b2c-7d1e-cf00-0a1b2c3d4e5f",  # wrong variant
        "wxp://f2f0payment-order-123",  # a payment QR code
        "KQ1.eyJyIjoiMDE5MiJ9.c2ln",  # the certificate's signed QR
        "",
        RID[:-1],
    ],
)
def test_other_codes_are_not_receipts(text: str) -> None:
    assert parse_qr(text) is None


def test_ids_the_kiosk_makes_are_request_ids() -> None:
    for _ in range(50):
        made = str(uuid7())
        assert is_request_id(made) and parse_qr(BASE + made) == made
    assert not is_request_id(RID.replace("-", ""))  # canonical form has dashes
    assert canonical("0192F3A49B2C7D1E8F000A1B2C3D4E5F") == RID


def test_manual_entry_takes_twelve_digits_grouped_in_fours_and_checks_the_check_digit() -> None:
    entry = ManualEntry()
    assert entry.display() == "____ ____ ____"
    for key in NUMBER[:6]:
        assert entry.press(key)
    assert not entry.press("A") and not entry.press("京") and not entry.press("12")
    assert entry.display() == f"{NUMBER[:4]} {NUMBER[4:6]}__ ____"
    assert entry.problem() == "status.entry.incomplete" and entry.number is None
    for key in NUMBER[6:]:
        entry.press(key)
    assert entry.complete and not entry.press("0")  # 12 digits: full
    assert entry.problem() == "" and entry.number == NUMBER
    entry.backspace()
    assert entry.display().endswith("_") and not entry.complete
    entry.press(str((int(NUMBER[-1]) + 1) % 10))  # a slip on the last digit
    assert entry.problem() == "status.entry.check_failed" and entry.number is None
    entry.clear()
    assert entry.digits == ""


def test_the_screen_shows_the_grouped_number_never_the_request_id() -> None:
    view = StatusView("received", RID, number=NUMBER)
    assert view.shown_number == f"{NUMBER[:4]} {NUMBER[4:8]} {NUMBER[8:]}"
    assert StatusView("received", RID).shown_number == ""  # an old request: no number, and no UUID


# -- what the backend says -------------------------------------------------------------------------

ANSWER = {
    "request_id": RID,
    "request_type": "household.household_certificate",
    "status": "received",
    "reason": "",
    "received_at": "2026-11-28T08:00:00Z",
    "updated_at": "2026-11-28T08:00:00Z",
    "acceptance_number": NUMBER,
}


@pytest.mark.parametrize("status", ["received", "in_progress", "done"])
def test_backend_statuses_map_to_plain_states(status: str) -> None:
    view = view_from_answer(RID, ANSWER | {"status": status, "reason": "ignored unless rejected"})
    assert view.state == status and view.reason == "" and view.detail == ""
    assert view.request_type == "household.household_certificate"
    assert len(view.received_at) == 16 and view.received_at[:4] == "2026"


def test_rejection_carries_the_officers_reason() -> None:
    view = view_from_answer(RID, ANSWER | {"status": "rejected", "reason": "照片不符合要求"})
    assert (view.state, view.reason) == ("rejected", "照片不符合要求")


def test_an_unexpected_backend_status_still_says_received_and_tells_technicians() -> None:
    view = view_from_answer(RID, ANSWER | {"status": "archived", "received_at": "garbage"})
    assert view.state == "received" and "archived" in view.detail and view.received_at == ""


class FakeClient:
    def __init__(self, answer: Any = None, error: Exception | None = None) -> None:
        self.answer, self.error, self.asked = answer, error, []

    def request_status(self, request_id: str) -> dict[str, Any] | None:
        self.asked.append(request_id)
        if self.error is not None:
            raise self.error
        return self.answer  # type: ignore[no-any-return]

    def request_by_number(self, number: str) -> dict[str, Any] | None:
        return self.request_status(number)

    def requests_by_holder(self, id_number: str) -> list[dict[str, Any]]:
        self.asked.append(id_number)
        if self.error is not None:
            raise self.error
        return self.answer  # type: ignore[no-any-return]


def test_look_up_by_number_and_by_holder() -> None:
    from kiosk.steps.status import look_up_holder, look_up_number

    client = FakeClient(ANSWER)
    one = look_up_number(client, NUMBER)
    assert (one.state, one.number, one.request_type) == ("received", NUMBER, ANSWER["request_type"])
    assert client.asked == [NUMBER]
    assert look_up_number(FakeClient(None), NUMBER).state == "unknown"
    down = look_up_number(FakeClient(error=BackendUnavailable("down")), NUMBER)
    assert (down.state, down.number) == ("offline", NUMBER)
    listed = look_up_holder(
        FakeClient([ANSWER | {"status": "done"}, {"status": "odd"}]), "110101199003070015"
    )
    assert listed.state == "holder_list" and [i.state for i in listed.items] == ["done", "received"]
    assert listed.items[0].shown_number.replace(" ", "") == NUMBER and listed.items[1].number == ""
    assert "110101199003070015" not in repr(listed)
    assert look_up_holder(FakeClient([]), "110101199003070015").state == "holder_none"
    assert look_up_holder(FakeClient(error=BackendRejected("401")), "110101199003070015").state == "offline"


def test_look_up_turns_failures_into_values() -> None:
    down = look_up(FakeClient(error=BackendUnavailable("backend answered HTTP 500 on /v1/requests/x")), RID)
    assert down.state == "offline" and "500" in down.detail
    refused = look_up(FakeClient(error=BackendRejected("backend refused: HTTP 401 bad_signature")), RID)
    assert refused.state == "offline" and "401" in refused.detail
    found = look_up(FakeClient(ANSWER), RID)
    assert found == StatusView(
        "received", RID, ANSWER["request_type"], found.received_at, found.updated_at, number=NUMBER
    )


def test_unknown_to_the_backend_but_waiting_in_this_kiosks_outbox() -> None:
    records = {RID: {"status": "pending", "request_type": "vehicle.traffic_fine"}}
    queued = look_up(FakeClient(None), RID, held_here=records.get)
    assert (queued.state, queued.request_type) == ("queued_here", "vehicle.traffic_fine")
    records[RID]["status"] = "dead"  # refused for good: the counter must help, not "on its way"
    assert look_up(FakeClient(None), RID, held_here=records.get).state == "unknown"
    assert look_up(FakeClient(None), RID).state == "unknown"


# -- the scanner thread ----------------------------------------------------------------------------


class FakeCamera:
    """Frames pushed by the test; the scanner waits on them like on a real camera."""

    simulated = True

    def __init__(self) -> None:
        self.slot = FrameSlot()
        self.state = CameraStatus.STREAMING

    def show(self, image: Any) -> None:
        self.slot.put(image)

    def status(self) -> CameraStatus:
        return self.state

    def wait_frame(self, after_seq: int, timeout: float) -> Frame | None:
        return self.slot.wait_newer(after_seq, timeout)


class UiThread:
    """Collects what the scanner posts and runs it here, as Kivy's clock would on the UI thread."""

    def __init__(self) -> None:
        self.posted_from: list[str] = []
        self._queue: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def post(self, fn: Callable[[], None]) -> None:
        with self._lock:
            self.posted_from.append(threading.current_thread().name)
            self._queue.append(fn)

    def run_until(self, condition: Callable[[], bool], timeout_s: float = 15.0) -> None:
        deadline = time.monotonic() + timeout_s
        while not condition():
            assert time.monotonic() < deadline, "timed out"
            with self._lock:
                batch, self._queue = self._queue, []
            for fn in batch:
                fn()
            time.sleep(0.01)


def _scanner(camera: FakeCamera, ui: UiThread, **options: Any) -> tuple[QrScanner, dict[str, Any]]:
    seen: dict[str, Any] = {"hints": [], "frames": 0, "found": []}

    def frame(_f: Frame) -> None:
        seen["frames"] += 1

    scanner = QrScanner(
        camera,  # type: ignore[arg-type]
        ui.post,
        on_frame=frame,
        on_hint=seen["hints"].append,
        on_found=seen["found"].append,
        **options,
    )
    return scanner, seen


def test_scanner_decodes_a_held_up_receipt_on_its_own_thread() -> None:
    camera, ui = FakeCamera(), UiThread()
    scanner, seen = _scanner(camera, ui)
    scanner.start()
    try:
        blank = np.full((480, 640, 3), 200, np.uint8)
        for _ in range(3):
            camera.show(blank)
            time.sleep(0.03)
        made = str(uuid7())
        camera.show(receipt_frame(BASE + made))
        ui.run_until(lambda: bool(seen["found"]), timeout_s=20)
    finally:
        scanner.stop()
    assert seen["found"] == [made] and scanner.found == made
    assert seen["hints"][0] == HINT_SHOW and seen["frames"] >= 1
    assert set(ui.posted_from) == {"qr-scan"}  # decoding never ran on the UI thread
    assert not scanner.running and scanner.decode_ms and min(scanner.decode_ms) > 0  # timed per frame


def test_scanner_hints_at_a_foreign_code_and_at_no_code() -> None:
    camera, ui = FakeCamera(), UiThread()
    scanner, seen = _scanner(camera, ui, not_found_after_s=0.3)
    scanner.start()
    try:
        payment = receipt_frame("wxp://f2f0payment-order-123")
        ui.run_until(lambda: (camera.show(payment), HINT_NOT_RECEIPT in seen["hints"])[1])
        blank = np.full((480, 640, 3), 200, np.uint8)
        ui.run_until(lambda: (camera.show(blank), HINT_NOT_FOUND in seen["hints"])[1], timeout_s=8)
    finally:
        scanner.stop()
    assert seen["found"] == [] and scanner.found is None


def test_scanner_says_when_the_camera_gives_no_frames() -> None:
    camera, ui = FakeCamera(), UiThread()
    camera.state = CameraStatus.NO_CAMERA
    scanner, seen = _scanner(camera, ui)
    scanner.start()
    try:
        ui.run_until(lambda: "status.scan.camera_problem" in seen["hints"], timeout_s=3)
    finally:
        scanner.stop()
    assert not scanner.running


def test_simulated_camera_holds_up_a_receipt_and_puts_it_down() -> None:
    import cv2

    from drivers.camera.simulator import SimulatedCamera

    plain = np.full((480, 640, 3), 180, np.uint8)
    camera = SimulatedCamera(frames=[plain], fps=30)
    camera.start()
    detector = cv2.QRCodeDetector()

    def decoded() -> str:
        frame = camera.wait_frame(camera.latest().seq if camera.latest() else 0, 2.0)
        assert frame is not None
        return str(detector.detectAndDecode(frame.image)[0])

    try:
        assert decoded() == ""
        camera.hold_up(np.zeros((240, 320, 3), np.uint8))  # another size is fitted to the frame
        assert camera.wait_frame(camera.latest().seq, 2.0).image.shape == (480, 640, 3)  # type: ignore[union-attr]
        camera.hold_up(receipt_frame(BASE + RID))
        deadline = time.monotonic() + 3
        while (text := decoded()) == "" and time.monotonic() < deadline:
            pass
        assert parse_qr(text) == RID
        camera.hold_up(None)
        decoded()  # one frame in flight may still show the receipt
        assert decoded() == ""
    finally:
        camera.close()


def test_the_receipt_prints_the_acceptance_number_the_keypad_takes() -> None:
    from kiosk.config.model import load_config
    from kiosk.documents import samples
    from kiosk.documents.render import to_escpos

    config = load_config(None, environ={}, validate_devices=False)
    job = to_escpos(samples.sample_document("receipt", config))
    grouped = " ".join(samples.SAMPLE_NUMBER[i : i + 4] for i in (0, 4, 8))
    assert grouped.encode("gb18030") in job and "受理号".encode("gb18030") in job
    assert samples.SAMPLE_REQUEST_ID.encode() not in job.split(b"\x1d(k")[0]  # only inside the QR code
    entry = ManualEntry()
    for key in grouped.replace(" ", ""):
        entry.press(key)
    assert entry.number == samples.SAMPLE_NUMBER


def _synthetic_ids(count: int, seed: int) -> list[str]:
    """Reproducible UUIDv7-shaped ids (version 7, RFC variant) from a seeded generator."""
    import uuid

    rng = np.random.default_rng(seed)
    ids = []
    for _ in range(count):
        value = int.from_bytes(rng.bytes(16), "big")
        value = (value & ~(0xF << 76)) | (0x7 << 76)  # version 7
        value = (value & ~(0b11 << 62)) | (0b10 << 62)  # RFC 4122 variant
        ids.append(str(uuid.UUID(int=value)))
    return ids


@pytest.mark.parametrize("angle", [6.0, -6.0, 12.0, 0.0])
def test_held_up_receipts_are_read_whatever_their_number(angle: float) -> None:
    """Each OpenCV detector alone misses a few per cent of receipts (the code's content decides);
    the scanner's pair reads them all at the angles a hand holds them."""
    from kiosk.steps.status_scan import decode, make_detectors

    detectors = make_detectors()
    missed = [
        rid
        for rid in _synthetic_ids(60, seed=7)
        if decode(detectors, receipt_frame(BASE + rid, angle=angle)) != BASE + rid
    ]
    assert missed == []
