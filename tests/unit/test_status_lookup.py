"""Request status look-up without Kivy: what a receipt's QR and number parse to, how the backend's
answer reads, and the scanner's thread decoding real QR images from a camera."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from contract.ids import uuid7
from drivers.camera.base import CameraStatus, Frame, FrameSlot
from kiosk.errors import BackendRejected, BackendUnavailable
from kiosk.steps.status import (
    ManualEntry,
    StatusView,
    canonical,
    is_request_id,
    look_up,
    mask_request_id,
    parse_qr,
    view_from_answer,
)
from kiosk.steps.status_scan import HINT_NOT_FOUND, HINT_NOT_RECEIPT, HINT_SHOW, QrScanner, receipt_frame

RID = "0192f3a4-9b2c-7d1e-8f00-0a1b2c3d4e5f"
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


def test_manual_entry_asks_for_the_last_group_first() -> None:
    entry = ManualEntry()
    assert entry.display() == "____ ____ ____" and not entry.full
    for key in "0A1B2C3D4E":
        entry.press(key)
    assert entry.display() == "0A1B 2C3D 4E__" and entry.problem() == "status.entry.tail_incomplete"
    for key in "5F0":
        entry.press(key)
    assert entry.complete and entry.tail == "0a1b2c3d4e5f" and entry.request_id is None
    assert entry.problem() == ""
    entry.set_full(True)  # switching keeps what was typed
    assert entry.display().startswith("0A1B2C3D-4E5F-") and entry.tail is None and not entry.complete
    assert RID.endswith("0a1b2c3d4e5f")


def test_manual_entry_groups_like_the_receipt_and_checks_the_uuid7_markers() -> None:
    entry = ManualEntry(full=True)
    assert entry.display() == "________-____-____-____-____________"
    for key in "0192F3A49B2C7":
        assert entry.press(key)
    assert not entry.press("G") and not entry.press("京") and not entry.press("12")
    assert entry.display() == "0192F3A4-9B2C-7___-____-____________"
    assert entry.problem() == "status.entry.incomplete" and entry.request_id is None
    for key in "d1e8f000a1b2c3d4e5f":
        entry.press(key)
    assert entry.complete and not entry.press("0")  # 32 digits: full
    assert entry.problem() == "" and entry.request_id == RID
    entry.backspace()
    assert entry.display().endswith("4E5_") and not entry.complete
    entry.clear()
    for key in RID.replace("-", "").replace("7d1e", "4d1e"):  # a slip on the version digit
        entry.press(key)
    assert entry.problem() == "status.entry.not_a_number" and entry.request_id is None


def test_the_screen_shows_only_a_masked_number() -> None:
    assert mask_request_id(RID) == "0192F3A4-…-4E5F"
    assert RID.replace("-", "")[8:-4].upper() not in mask_request_id(RID)
    assert mask_request_id("0a1b2c3d4e5f") == "…-4E5F"  # only the last group is known
    assert mask_request_id("nonsense") == "…"


# -- what the backend says -------------------------------------------------------------------------

ANSWER = {
    "request_id": RID,
    "request_type": "household.household_certificate",
    "status": "received",
    "reason": "",
    "received_at": "2026-11-28T08:00:00Z",
    "updated_at": "2026-11-28T08:00:00Z",
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

    def requests_by_tail(self, tail: str) -> list[dict[str, Any]]:
        self.asked.append(tail)
        if self.error is not None:
            raise self.error
        return self.answer  # type: ignore[no-any-return]


def test_look_up_by_the_last_group() -> None:
    from kiosk.steps.status import look_up_tail

    one = look_up_tail(FakeClient([ANSWER]), "0a1b2c3d4e5f")
    assert (one.state, one.request_id, one.masked_number) == ("received", RID, "0192F3A4-…-4E5F")
    other = ANSWER | {"request_id": "0193aaaa-9b2c-7d1e-8f00-0a1b2c3d4e5f"}
    two = look_up_tail(FakeClient([ANSWER, other]), "0a1b2c3d4e5f")
    assert two.state == "ambiguous" and two.masked_number == "…-4E5F"
    assert look_up_tail(FakeClient([]), "0a1b2c3d4e5f").state == "unknown"
    assert look_up_tail(FakeClient(error=BackendUnavailable("down")), "0a1b2c3d4e5f").state == "offline"


def test_look_up_turns_failures_into_values() -> None:
    down = look_up(FakeClient(error=BackendUnavailable("backend answered HTTP 500 on /v1/requests/x")), RID)
    assert down.state == "offline" and "500" in down.detail
    refused = look_up(FakeClient(error=BackendRejected("backend refused: HTTP 401 bad_signature")), RID)
    assert refused.state == "offline" and "401" in refused.detail
    found = look_up(FakeClient(ANSWER), RID)
    assert found == StatusView("received", RID, ANSWER["request_type"], found.received_at, found.updated_at)


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


def test_the_receipt_prints_the_status_code_the_keypad_asks_for() -> None:
    from kiosk.config.model import load_config
    from kiosk.documents import samples
    from kiosk.documents.render import to_escpos

    config = load_config(None, environ={}, validate_devices=False)
    job = to_escpos(samples.sample_document("receipt", config))
    code = samples.SAMPLE_REQUEST_ID[-12:].upper()
    assert f"查询码 Status code: {code}".encode("gb18030") in job
    entry = ManualEntry()
    for key in code:
        entry.press(key)
    assert entry.tail == samples.SAMPLE_REQUEST_ID[-12:]


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
