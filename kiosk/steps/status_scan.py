"""Scanning a receipt's QR code with the kiosk camera (OpenCV's ``QRCodeDetector``).

:class:`QrScanner` runs on its own thread: it waits for each new camera frame, hands the newest one
to the screen for the live preview (coalesced, at most one pending), and tries to decode a QR code
in it. A receipt's code ends the scan with the request id; any other code, or none for a while,
gives the resident a hint. Nothing here blocks the UI thread or imports Kivy.

:func:`receipt_frame` draws a receipt held up to the camera (paper, a few lines, the status QR,
slightly turned) for the simulated camera, so the scan path runs in the demo and in tests.
"""

from __future__ import annotations

import functools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import cv2
import numpy as np

from drivers.camera.base import Camera, CameraStatus, Frame, Image
from kiosk.photo.session import Latest
from kiosk.steps.status import parse_qr

log = logging.getLogger(__name__)

Post = Callable[[Callable[[], None]], None]

HINT_SHOW = "status.scan.show"  # hold the receipt's QR code up to the camera
HINT_NOT_FOUND = "status.scan.not_found"  # no code seen for a while: how to hold it
HINT_NOT_RECEIPT = "status.scan.not_receipt"  # a QR code, but not a receipt's
HINT_CAMERA = "status.scan.camera_problem"  # no frames: use the keypad
NOT_FOUND_AFTER_S = 6.0
NOT_RECEIPT_HOLD_S = 3.0  # keep the "not a receipt" hint up this long after the last such code


class _ScanThread:
    """One code source on its own daemon thread (``_run``), stopped by an event; ``found`` holds
    the request id once a receipt's code was read."""

    thread_name = "scan"

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.found: str | None = None

    def _run(self) -> None:
        raise NotImplementedError

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=self.thread_name, daemon=True)
            self._thread.start()

    def stop(self, join_s: float = 1.0) -> None:
        self._stop.set()
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(join_s)

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()


class QrScanner(_ScanThread):
    """Decode receipt QR codes from ``camera`` until one is found or :meth:`stop` is called.

    Callbacks run on the UI thread through ``post``: ``on_frame(frame)`` for the preview,
    ``on_hint(key)`` when the hint changes, ``on_found(request_id)`` once."""

    thread_name = "qr-scan"

    def __init__(
        self,
        camera: Camera,
        post: Post,
        *,
        on_frame: Callable[[Frame], None],
        on_hint: Callable[[str], None],
        on_found: Callable[[str], None],
        clock: Callable[[], float] = time.monotonic,
        not_found_after_s: float = NOT_FOUND_AFTER_S,
    ) -> None:
        super().__init__()
        self.camera = camera
        self._post = post
        self._frames: Latest[Frame] = Latest(post, on_frame)
        self._on_hint = on_hint
        self._on_found = on_found
        self._clock = clock
        self._not_found_after_s = not_found_after_s
        self._hint = ""
        self.decode_ms: list[float] = []  # recent decode times (benchmarks, technicians)

    def _hint_now(self, key: str) -> None:
        if key != self._hint:
            self._hint = key
            self._post(lambda: self._on_hint(key) if not self._stop.is_set() else None)

    def _run(self) -> None:
        detectors = make_detectors()
        seq = 0
        started = self._clock()
        last_other = -1e9
        self._hint_now(HINT_SHOW)
        while not self._stop.is_set():
            frame = self.camera.wait_frame(seq, 0.5)
            if self._stop.is_set():
                return
            if frame is None:
                if self.camera.status() is not CameraStatus.STARTING:
                    self._hint_now(HINT_CAMERA)
                continue
            seq = frame.seq
            self._frames.submit(frame)
            text = self._decode(detectors, frame.image)
            now = self._clock()
            if text:
                request_id = parse_qr(text)
                if request_id is not None:
                    self.found = request_id
                    log.info("receipt QR decoded after %.1f s", now - started)
                    self._stop.set()
                    self._post(functools.partial(self._on_found, request_id))
                    return
                log.info("a QR code that is not a receipt's was shown (%d characters)", len(text))
                last_other = now
                self._hint_now(HINT_NOT_RECEIPT)
            elif now - last_other < NOT_RECEIPT_HOLD_S:
                continue
            elif now - started > self._not_found_after_s:
                self._hint_now(HINT_NOT_FOUND)
            else:
                self._hint_now(HINT_SHOW)

    def _decode(self, detectors: tuple[Any, ...], image: Image) -> str:
        begun = time.perf_counter()
        try:
            return decode(detectors, image)
        except cv2.error as exc:  # a malformed frame must not end the scan
            log.warning("QR decoding failed on a frame: %s", exc)
            return ""
        finally:
            self.decode_ms = [*self.decode_ms[-49:], (time.perf_counter() - begun) * 1000]


class CodeReader(_ScanThread):
    """Receipt codes from the kiosk's QR scanner (``[devices.scanner]``, drivers/scanner/), read
    beside the camera while the look-up scans: the same callbacks as :class:`QrScanner`, so the
    first of the two to see a receipt's code ends the scan.

    A code that is not a receipt's gives the "not a receipt" hint; garbled bytes are logged and
    the next code read; a scanner that goes away is logged once and the camera carries on."""

    thread_name = "qr-scanner-device"

    def __init__(
        self,
        scanner: Any,
        post: Post,
        *,
        on_hint: Callable[[str], None],
        on_found: Callable[[str], None],
        read_s: float = 0.5,
    ) -> None:
        super().__init__()
        self.scanner = scanner
        self._post = post
        self._on_hint = on_hint
        self._on_found = on_found
        self._read_s = read_s

    def _run(self) -> None:
        from drivers.errors import DeviceDisconnected, DeviceError

        while not self._stop.is_set():
            try:
                text = self.scanner.read(self._read_s)
            except DeviceDisconnected as exc:
                log.warning("the QR scanner went away during the status scan: %s", exc)
                return
            except DeviceError as exc:  # garbled bytes: the resident shows the code again
                log.warning("the QR scanner sent no usable code: %s", exc)
                continue
            if self._stop.is_set() or not text:
                continue
            request_id = parse_qr(text)
            if request_id is not None:
                self.found = request_id
                log.info("receipt QR read by the scanner")
                self._stop.set()
                self._post(functools.partial(self._on_found, request_id))
                return
            log.info("the scanner read a code that is not a receipt's (%d characters)", len(text))
            self._post(lambda: self._on_hint(HINT_NOT_RECEIPT) if not self._stop.is_set() else None)


class ScanGroup:
    """Several code sources started and stopped as one scan (the camera and the scanner)."""

    def __init__(self, *sources: Any) -> None:
        self.sources = sources

    def start(self) -> None:
        for source in self.sources:
            source.start()

    def stop(self, join_s: float = 1.0) -> None:
        for source in self.sources:
            source.stop(join_s)

    @property
    def running(self) -> bool:
        return any(source.running for source in self.sources)

    @property
    def found(self) -> str | None:
        return next((s.found for s in self.sources if s.found is not None), None)

    @property
    def decode_ms(self) -> list[float]:
        """The camera's recent decode times (technicians, benchmarks)."""
        return next((list(s.decode_ms) for s in self.sources if hasattr(s, "decode_ms")), [])


def make_detectors() -> tuple[Any, ...]:
    """OpenCV's classic QR detector, then its ArUco-based one. They fail on different codes and
    angles (each on a few per cent of our receipts, see bench/status_scan.py), together almost
    never; the second costs 1-2 ms on a frame without a code. One set per thread."""
    return (cv2.QRCodeDetector(), cv2.QRCodeDetectorAruco())


def decode(detectors: tuple[Any, ...], image: Image) -> str:
    """The text of the QR code in a BGR frame, or ``""``; the first detector that reads one wins."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    for detector in detectors:
        text, _points, _straight = detector.detectAndDecode(grey)
        if text:
            return str(text)
    return ""


def qr_matrix(text: str, border: int = 4) -> Image:
    """The QR code for ``text`` as a boolean module matrix (True = dark), quiet zone included."""
    import qrcode

    code = qrcode.QRCode(border=border, error_correction=qrcode.constants.ERROR_CORRECT_M)
    code.add_data(text)
    code.make(fit=True)
    return np.array(code.get_matrix(), dtype=bool)


def receipt_frame(text: str, width: int = 640, height: int = 480, *, angle: float = 6.0) -> Image:
    """A BGR camera frame of a paper receipt whose QR code holds ``text``, held up and slightly turned."""
    matrix = qr_matrix(text)
    module = max(2, int(min(width, height) * 0.5 // matrix.shape[0]))
    modules: Image = np.where(matrix, 0, 255).astype(np.uint8)
    qr: Image = cv2.resize(
        modules, (matrix.shape[1] * module, matrix.shape[0] * module), interpolation=cv2.INTER_NEAREST
    )
    side = qr.shape[0]
    paper_w, paper_h = side + 40, side + 150
    paper = np.full((paper_h, paper_w, 3), (236, 242, 245), np.uint8)  # thermal paper, warm white
    for i in range(5):  # a few printed lines above the code
        y = 18 + i * 20
        cv2.line(paper, (16, y), (paper_w - 16 - (i * 37) % 90, y), (60, 60, 60), 4)
    paper[130 : 130 + side, 20 : 20 + side] = cv2.cvtColor(qr, cv2.COLOR_GRAY2BGR)
    frame = np.full((height, width, 3), (92, 84, 78), np.uint8)  # the room behind the receipt
    centre = (paper_w / 2, paper_h / 2)
    turn = cv2.getRotationMatrix2D(centre, angle, 1.0)
    turn[0, 2] += width / 2 - centre[0]
    turn[1, 2] += height / 2 - centre[1]
    warped = cv2.warpAffine(paper, turn, (width, height), flags=cv2.INTER_LINEAR, borderValue=(0, 0, 0))
    mask = cv2.warpAffine(np.full((paper_h, paper_w), 255, np.uint8), turn, (width, height))
    frame[mask > 0] = warped[mask > 0]
    return frame
