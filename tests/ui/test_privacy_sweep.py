"""Privacy sweep: after a visit ends (done, cancel, idle timeout, crash and restart) nothing about the
resident is left: no widget on any screen, no Python object reachable in the app, no temporary or
data file, no log line, no outbox row after acknowledgement holds their name, ID number or photo.

Real visits in the real app: the simulated reader's synthetic card, a photo from the simulated
camera, the request submitted and (for "done") delivered and printed. The probes are in
``tests/ui/privacy_probe.py``; anything found is named with what holds it.
"""

from __future__ import annotations

import gc
import logging
import sqlite3
import tempfile
import time
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.visit.privacy import MASKING_FILTER
from tests.ui.privacy_probe import Traces, file_finds, object_finds, object_ids_with, widget_finds

pytestmark = pytest.mark.ui

SERVICE = "id-card-renewal"  # card, photo, address, payment, submit, print: the most personal data
CARD_NAME, CARD_ID = "张三丰", "99010119800315031X"  # drivers/idcard/sim_cards.toml, card.resident
CARD_ADDRESS = "虚构省示例市测试区演示路1号"


@pytest.fixture
def logged(kiosk: Any, tmp_path: Path) -> Iterator[Path]:
    """The kiosk's log as a technician would read it: a file handler with the masking filter, the way
    ``kiosk.main.setup_logging`` attaches it to every handler."""
    path = tmp_path / "kiosk.log"
    handler = logging.FileHandler(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(MASKING_FILTER)
    root = logging.getLogger()
    level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield path
    finally:
        root.removeHandler(handler)
        root.setLevel(level)
        handler.close()


def _visit(kiosk: Any, stop_before: str | None = None) -> Traces:
    """One resident through SERVICE with the self-test's players; stop before the step of kind
    ``stop_before`` (None: to the end). Returns what identifies this resident."""
    from screens.harness.selftest import PLAYERS

    app = kiosk.app
    runtime = app.runtime
    kiosk.wait_until(lambda: not runtime.pending_roles(), timeout_s=60, what="the devices")
    kiosk.wait_until(lambda: runtime.queue is not None, timeout_s=60, what="the request queue")
    app.begin()
    app.start_service(SERVICE)
    photo_shape = None
    while app.flow is not None and not app.flow.finished:
        step = app.flow.step
        if step.kind == stop_before:
            break
        PLAYERS[step.kind](kiosk, step)
        if step.kind == "take_photo":
            from PIL import Image

            photo_jpeg = app.session.photo_jpeg
            with Image.open(__import__("io").BytesIO(photo_jpeg)) as image:
                photo_shape = (image.height, image.width)
        if app.flow is not None and app.flow.step is step:
            kiosk.wait_until(lambda s=step: app.flow is None or app.flow.step is not s, timeout_s=60)
    session = app.session
    card = session.identity
    assert card is not None and card.name == CARD_NAME and card.id_number == CARD_ID
    assert session.photo_jpeg, "the visit took no photo"
    blobs = tuple(b for b in (card.photo_bmp, session.face.get("live_jpeg")) if b)
    traces = Traces(
        CARD_NAME, CARD_ID, session.photo_jpeg, (CARD_ADDRESS,), photo_shape=photo_shape, blobs=blobs
    )
    traces.refs = _face_refs(session)  # every stop is after the face check
    # the probes can fail: while the visit lasts they do find the resident
    alive = object_finds(traces)
    assert [f for f in alive if "IdCard" in f and CARD_ID in f] and [f for f in alive if "photo bytes" in f]
    return traces


def _face_refs(session: Any) -> list[tuple[str, Any]]:
    """Weak references to what the face check kept in the session (it ran: the service has one)."""
    face = session.face
    assert face.get("live_rgb") is not None and card_photo_decoded(session), "the face check did not run"
    refs = [("the face check's live frame", weakref.ref(face["live_rgb"]))]
    if face.get("card_rgb") is not None:
        refs.append(("the decoded card photo", weakref.ref(face["card_rgb"])))
    for n, template in enumerate(face.get("templates", ())):
        refs += [
            (f"face template {n}", weakref.ref(template)),
            (f"face template {n}'s vector", weakref.ref(template.vector)),
        ]
    return refs


def card_photo_decoded(session: Any) -> bool:
    return bool(getattr(session.identity, "photo_bmp", None))


def _sweep(kiosk: Any, traces: Traces, log_path: Path, since: float, baseline: set[int]) -> list[str]:
    """Every place the visit could have left a trace, after it ended."""
    app = kiosk.app
    runtime = app.runtime
    runtime.devices["card_reader"].simulator.remove()  # the card goes back in the resident's pocket
    kiosk.frames(5)
    assert kiosk.screen == "attract" and app.session is None
    found = widget_finds([kiosk.app.root, *app.manager.screens], traces)
    found += object_finds(traces, baseline=baseline)
    data_dir = runtime.config.data_dir
    # not the kiosk's: the simulated paper (what the resident took home) and, with no backend
    # configured, the local reference backend's store (the receiving side keeps requests by design)
    skip = (str(data_dir / "printer-sim"), str(data_dir / "backend"))
    found += [f for f in file_finds([data_dir], traces, newer_than=since) if not f.startswith(skip)]
    found += file_finds(sorted(Path(tempfile.gettempdir()).glob("kiosk-session-*")), traces, newer_than=since)
    lines = log_path.read_text("utf-8").splitlines()
    assert any("ended" in line for line in lines), "the log probe must see the visit's own lines"
    found += [f"log line: {line[:100]}" for line in lines if traces.in_text(line)]
    # the step widgets that showed the card and the camera (its preview texture is the face) are gone
    from kiosk.steps.face_check import FaceCheckEngine
    from screens.steps.face_check import FaceCheckStep
    from screens.steps.photo import TakePhotoStep
    from screens.steps.read_card import ReadCardStep

    kinds = (TakePhotoStep, ReadCardStep, FaceCheckStep, FaceCheckEngine)
    live = [o for o in gc.get_objects() if type(o) in kinds]  # not isinstance: weak proxies
    found += [
        f"a {type(o).__name__} is still alive (session {getattr(getattr(o, 'flow', None), 'session', o)})"
        for o in live
    ]
    return found


def _outbox_rows(kiosk: Any) -> list[tuple[Any, ...]]:
    queue = kiosk.app.runtime.queue
    with sqlite3.connect(queue.outbox.path) as db:
        return db.execute("SELECT * FROM requests").fetchall()


def _baseline(kiosk: Any) -> set[int]:
    """What held the synthetic identity before any visit (the simulated reader's card table)."""
    kiosk.wait_until(lambda: not kiosk.app.runtime.pending_roles(), timeout_s=60, what="the devices")
    return object_ids_with(Traces(CARD_NAME, CARD_ID, extra=(CARD_ADDRESS,)))


def test_done_visit_leaves_nothing_behind(kiosk: Any, logged: Path) -> None:
    since = time.time() - 1
    baseline = _baseline(kiosk)
    traces = _visit(kiosk)
    submitted = kiosk.app.session.artifacts["submitted"]
    queue = kiosk.app.runtime.queue
    kiosk.wait_until(
        lambda: (queue.outbox.record(submitted.request_id) or {}).get("status") == "acknowledged",
        timeout_s=60,
        what="the backend's acknowledgement",
    )
    assert kiosk.screen == "done"
    kiosk.clock.advance(kiosk.app.runtime.config.session.attract_return_s + 1)
    kiosk.wait_until(lambda: kiosk.screen == "attract", what="the return to the attract screen")
    found = _sweep(kiosk, traces, logged, since, baseline)
    for row in _outbox_rows(kiosk):
        if any(
            isinstance(v, str | bytes) and (traces.in_bytes(v if isinstance(v, bytes) else v.encode()))
            for v in row
        ):
            found.append(f"outbox row {row[1]} ({row[7]}) still holds personal data")
    assert found == [], "\n".join(found)


def test_cancelled_visit_leaves_nothing_behind(kiosk: Any, logged: Path) -> None:
    since = time.time() - 1
    baseline = _baseline(kiosk)
    traces = _visit(kiosk, stop_before="review")
    assert kiosk.screen == "review"
    texts = " ".join(kiosk.visible_texts())
    assert CARD_ID not in texts and CARD_ID[-4:] in texts  # the review shows it masked, while it lasts
    kiosk.app.cancel()
    found = _sweep(kiosk, traces, logged, since, baseline)
    assert found == [], "\n".join(found)


def test_timed_out_visit_leaves_nothing_behind(kiosk: Any, logged: Path) -> None:
    since = time.time() - 1
    baseline = _baseline(kiosk)
    traces = _visit(kiosk, stop_before="delivery")
    config = kiosk.app.runtime.config.session
    kiosk.clock.advance(config.idle_timeout_s + 1)
    kiosk.wait_until(lambda: kiosk.screen == "attract", what="the idle timeout")
    found = _sweep(kiosk, traces, logged, since, baseline)
    assert found == [], "\n".join(found)


def test_crash_then_restart_leaves_nothing_behind(tmp_path: Path) -> None:
    """The kiosk is killed (SIGKILL) while printing, its request still pending (the backend stored it
    but has not answered); restarted with the backend answering again, it delivers the request: then no file of the kiosk (outbox and
    its log, logs, Kivy's folder, temporary folders) holds the resident, and the first screen is the
    attract screen."""
    import base64
    import json
    import os
    import sys

    from kiosk.tech.config_init import init_site
    from tests.integration.test_crash_app import REPO, KioskChild, _assert_clean_start
    from tests.integration.test_crash_delivery import Proc, _free_port

    since = time.time() - 1
    port = _free_port()
    site = init_site(tmp_path / "kiosk", backend=f"http://127.0.0.1:{port}", kiosk_id="KIOSK-PRIVACY")
    env = dict(
        os.environ, PYTHONPATH=str(REPO), KIOSK__BACKEND__RETRY_BASE_S="0.05", KIOSK__BACKEND__RETRY_CAP_S="1"
    )
    store = tmp_path / "backend.db"
    serve = [sys.executable, "-m", "backend", "serve", "--store", f"sqlite:///{store}", "--host", "127.0.0.1"]
    serve += ["--port", str(port), "--trust", str(site.parent)]
    # first a backend that stores the request but never answers in time: it stays pending on the kiosk
    slow = Proc([*serve, "--answer-delay-ms", "600000"], env, tmp_path / "backend.log")
    backend = Proc(serve, env, tmp_path / "backend.log")
    children = []
    try:
        child = KioskChild(site, env, tmp_path / "child.log", sessions=1, service=SERVICE)
        children.append(child)
        slow.ensure()
        _assert_clean_start(child.wait_for(lambda e: e["event"] == "started"))
        child.wait_for(lambda e: e["event"] == "screen" and e["step"] == "print")
        child.kill()
        slow.kill()
        outbox = site.parent / "data" / "outbox.db"
        with sqlite3.connect(outbox) as db:
            rows = db.execute("SELECT status, body IS NULL, answer_status, answer FROM requests").fetchall()
            bodies = [
                json.loads(b) for (b,) in db.execute("SELECT body FROM requests WHERE status = 'pending'")
            ]
        assert len(bodies) == 1, (
            f"the killed visit's request must be waiting in the outbox: {child.seen[-3:]} {rows}"
        )
        applicant = bodies[0]["payload"]["applicant"]
        assert (applicant["name"], applicant["id_number"]) == (CARD_NAME, CARD_ID)
        photo = base64.b64decode(bodies[0]["attachments"][0]["data_b64"])
        traces = Traces(CARD_NAME, CARD_ID, photo, (CARD_ADDRESS,))
        assert file_finds([site.parent], traces), "the probe must see the pending request on disk"
        backend.ensure()
        child = KioskChild(site, env, tmp_path / "child.log", sessions=0, service=SERVICE)
        children.append(child)
        _assert_clean_start(child.wait_for(lambda e: e["event"] == "started"))
        assert child.wait_for(lambda e: e["event"] == "drained", timeout_s=120)["event"] == "drained"
        child.p.wait(timeout=60)
    finally:
        for child in children:
            child.kill()
        backend.kill()
        slow.kill()
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT count(*) FROM requests").fetchone() == (1,)  # delivered, once
    found = file_finds([site.parent], traces)
    found += file_finds(sorted(Path(tempfile.gettempdir()).glob("kiosk-session-*")), traces, newer_than=since)
    assert found == [], "\n".join(found)
