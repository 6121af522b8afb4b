"""Accessibility in the real kiosk window: voice prompts per screen and step (repeat, volume, mute,
stop on change, a quiet attract screen), the help button raising one alert at the local backend,
touch targets of at least 15 mm on every screen and step of every service, and every service
completed by touch alone (no text field anywhere)."""

from __future__ import annotations

import math
import shutil
import wave
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kiosk.services.catalogue import SERVICE_IDS

pytestmark = pytest.mark.ui

MIN_MM = 15.0
MEASURED: list[tuple[str, int, float]] = []  # (where, touchables, smallest side in mm)


# -- voice: a fake sound output (the real SDL path is tests/unit/test_voice_playback.py) ----------


class FakeSound:
    """What SoundLoader returns, minus the speaker: records what the player did with it."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.length = 1.5
        self.state = "stop"
        self.volume = 1.0
        self.plays = 0

    def play(self) -> None:
        self.state = "play"
        self.plays += 1

    def stop(self) -> None:
        self.state = "stop"

    def seek(self, _position: float) -> None:
        pass


def _tone(_text: str, _lang: str, out: Path) -> None:
    with wave.open(str(out), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(8000)
        w.writeframes(
            b"".join(int(8000 * math.sin(i / 3)).to_bytes(2, "little", signed=True) for i in range(800))
        )


@pytest.fixture
def voice(kiosk: Any) -> Iterator[Any]:
    """Prompts built into the kiosk's data folder; the player's output replaced by FakeSounds."""
    from kiosk.visit.voice import build_voice

    app = kiosk.app
    if app.assist.build_thread is not None:
        app.assist.build_thread.join(120)  # the kiosk's own build after start-up writes the same folder
    folder = app.runtime.config.data_dir / "voice"
    build_voice(app.messages, folder, _tone)
    player = app.assist.player
    player.library.reload()
    loaded: list[FakeSound] = []
    original_loader = player.loader

    def loader(path: str) -> FakeSound:
        loaded.append(FakeSound(path))
        return loaded[-1]

    player.loader = loader
    player.output_ok = None
    player._cache.clear()
    player.played.clear()
    player.sounds = loaded  # type: ignore[attr-defined]
    try:
        yield player
    finally:
        player.stop()
        player.loader = original_loader
        player._cache.clear()
        shutil.rmtree(folder, ignore_errors=True)
        player.library.reload()


def last_prompt(kiosk: Any, player: Any, key: str, lang: str = "zh") -> None:
    kiosk.wait_until(
        lambda: player.played and player.played[-1] == (key, lang), what=f"prompt {key} ({lang})"
    )


def test_each_screen_and_step_speaks_its_prompt_and_a_new_one_stops_the_last(kiosk: Any, voice: Any) -> None:
    kiosk.tap_at(300, 300)
    last_prompt(kiosk, voice, "voice.screen.home")
    kiosk.tap("户籍业务")
    last_prompt(kiosk, voice, "voice.screen.services")
    services_sound = voice._sound
    kiosk.tap("表单测试业务")
    last_prompt(kiosk, voice, "voice.step.consent")
    assert services_sound.state == "stop" and voice._sound.state == "play"
    assert voice._sound.volume == pytest.approx(kiosk.app.runtime.config.display.voice_volume)
    kiosk.tap("我已阅读并同意")
    last_prompt(kiosk, voice, "voice.step.form")
    count = len(voice.played)
    kiosk.tap("再听一遍")
    kiosk.wait_until(lambda: len(voice.played) == count + 1, what="the prompt again")
    assert voice.played[-1] == ("voice.step.form", "zh")
    kiosk.tap("English")
    last_prompt(kiosk, voice, "voice.step.form", "en")  # the new language is spoken at once
    kiosk.tap("中文")
    last_prompt(kiosk, voice, "voice.step.form", "zh")
    kiosk.tap("退出", exact=True)
    kiosk.wait_until(lambda: kiosk.screen == "attract")
    assert not voice.playing  # the visit's prompt stopped with the visit


def test_volume_and_mute_in_the_top_bar_and_defaults_for_the_next_resident(kiosk: Any, voice: Any) -> None:
    app = kiosk.app
    kiosk.tap_at(300, 300)
    last_prompt(kiosk, voice, "voice.screen.home")
    kiosk.tap("户籍业务")  # the volume sits beside the instruction (the title row), not in the header
    last_prompt(kiosk, voice, "voice.screen.services")
    kiosk.tap("音量 80%")
    kiosk.tap("小声")
    assert app.voice_volume == pytest.approx(0.6) and voice._sound.volume == pytest.approx(0.6)
    assert "音量 60%" in kiosk.visible_texts()
    kiosk.tap("静音")
    assert app.voice_muted and voice._sound is None
    assert "已静音" in kiosk.visible_texts()
    kiosk.tap("关闭")
    count = len(voice.played)
    kiosk.tap("表单测试业务")
    kiosk.frames(5)
    assert len(voice.played) == count  # muted: nothing spoken on the next screen
    kiosk.tap("再听一遍")  # asking to hear it again unmutes
    last_prompt(kiosk, voice, "voice.step.consent")
    assert not app.voice_muted and voice._sound.volume == pytest.approx(0.6)
    app.cancel()
    assert app.voice_volume == pytest.approx(0.8) and not app.voice_muted  # the next resident's default


def test_the_attract_screen_greets_at_most_once_per_configured_minutes(kiosk: Any, voice: Any) -> None:
    app = kiosk.app
    every_s = app.runtime.config.display.voice_attract_every_min * 60
    kiosk.clock.advance(every_s + 1)
    app.show_attract()
    last_prompt(kiosk, voice, "voice.screen.attract")
    greetings = [p for p in voice.played if p[0] == "voice.screen.attract"]
    for _ in range(3):  # residents come and go: the booth stays quiet
        app.begin()
        app.cancel()
        kiosk.frames(3)
    assert [p for p in voice.played if p[0] == "voice.screen.attract"] == greetings
    kiosk.clock.advance(every_s + 1)
    app.show_attract()
    kiosk.wait_until(
        lambda: len([p for p in voice.played if p[0] == "voice.screen.attract"]) == len(greetings) + 1
    )


def test_maintenance_screens_are_silent_and_offer_no_help_button(kiosk: Any, voice: Any) -> None:
    app = kiosk.app
    app.enter_maintenance()
    kiosk.frames(3)
    assert not app.assist_shown
    texts = kiosk.visible_texts()
    assert "呼叫帮助" not in texts and "再听一遍" not in texts
    assert voice.current_key is None
    app.show_attract()
    kiosk.frames(2)
    assert app.assist_shown


# -- help -------------------------------------------------------------------------------------------


def backend_alerts(app: Any) -> list[dict[str, Any]]:
    from backend.alerts import list_alerts
    from backend.store import open_store

    store = open_store(f"sqlite:///{app.runtime.config.data_dir / 'backend' / 'backend.db'}")
    try:
        return list_alerts(store, include_closed=True)
    finally:
        store.close()


def test_help_raises_one_alert_at_the_backend_and_calms_the_resident(kiosk: Any) -> None:
    app = kiosk.app
    kiosk.wait_until(lambda: app.runtime.queue is not None, timeout_s=60, what="the request queue")
    before = {a["alert_id"] for a in backend_alerts(app)}
    kiosk.tap_at(300, 300)
    kiosk.tap("户籍业务")
    kiosk.tap("表单测试业务")
    kiosk.tap("我已阅读并同意")
    kiosk.tap("呼叫帮助")
    kiosk.wait_until(lambda: app.help_state == "sent", what="the alert queued")
    texts = kiosk.visible_texts()
    assert "求助信息已发出" in texts and any("值班室" in t for t in texts)
    assert not any("马上就来" in t for t in texts)  # no promise an unattended kiosk cannot keep
    kiosk.wait_until(
        lambda: len(backend_alerts(app)) == len(before) + 1, timeout_s=20, what="the alert at the backend"
    )
    alert = next(a for a in backend_alerts(app) if a["alert_id"] not in before)
    assert (alert["screen"], alert["service"], alert["step"], alert["status"]) == (
        "step", "test-form-only", "details", "open",
    )  # fmt: skip
    assert alert["kiosk_id"] == app.runtime.config.kiosk.id
    kiosk.tap("好的")
    assert app.screen("step").widget is not None and kiosk.screen == "step"  # the visit goes on
    kiosk.tap("呼叫帮助")  # again: the same calm notice, no second alert
    assert "求助信息已发出" in kiosk.visible_texts()
    kiosk.tap("好的")
    queue = app.runtime.queue
    kiosk.wait_until(lambda: queue.status().alerts_pending == 0, timeout_s=20, what="no alert left to send")
    assert len(backend_alerts(app)) == len(before) + 1
    record = queue.outbox.record(alert["alert_id"])  # an outbox row, delivered by the one worker
    assert record["kind"] == "alert" and record["status"] == "acknowledged"
    app.cancel()
    assert app.help_state == "" and app.assist.help_alert_id == ""


def test_help_notice_in_english(kiosk: Any) -> None:
    kiosk.tap_at(300, 300)
    kiosk.tap("English")
    kiosk.tap("Call for help")
    kiosk.wait_until(lambda: kiosk.app.help_state == "sent")
    assert "Your call for help was sent" in kiosk.visible_texts()
    kiosk.tap("OK")


# -- touch targets and touch-only services ----------------------------------------------------------


def _shown(widget: Any) -> bool:
    from kivy.core.window import Window

    node = widget
    while node is not None and node is not Window:
        if getattr(node, "opacity", 1) == 0:
            return False
        node = node.parent
    return widget.width > 0 and widget.height > 0


def small_targets(kiosk: Any, where: str) -> list[str]:
    """Touchable widgets on screen smaller than 15 mm in either dimension, described."""
    from kivy.uix.behaviors import ButtonBehavior

    kiosk.frames(2)
    min_px = MIN_MM * kiosk.app.runtime.config.display.pixels_per_mm
    found = []
    touchables = [
        w for w in kiosk.walk() if isinstance(w, ButtonBehavior) and _shown(w) and kiosk._on_window(w)
    ]
    assert touchables, f"{where}: nothing touchable found (the walk is broken)"
    smallest = min(min(w.width, w.height) for w in touchables)
    MEASURED.append((where, len(touchables), smallest / kiosk.app.runtime.config.display.pixels_per_mm))
    for widget in touchables:
        if widget.width < min_px or widget.height < min_px:
            label = getattr(widget, "text", "") or getattr(widget, "title", "") or type(widget).__name__
            found.append(f"{where}: {label!r} {widget.width:.0f}x{widget.height:.0f} px (< {min_px:.0f})")
    return found


def text_fields(kiosk: Any) -> list[str]:
    from kivy.uix.textinput import TextInput

    return [repr(w) for w in kiosk.walk() if isinstance(w, TextInput) and _shown(w)]


def walk_service(kiosk: Any, service_id: str, problems: list[str], fields: list[str]) -> list[str]:
    """Walk one service the self-test's way (taps only), checking every screen it shows."""
    from screens.harness.selftest import PLAYERS

    app = kiosk.app
    reader = app.runtime.devices.get("card_reader")
    if getattr(reader, "simulator", None) is not None:
        reader.simulator.remove()  # the last resident's card is not lying on the reader any more
        kiosk.frames(5)
    app.begin()
    app.start_service(service_id)
    kinds: list[str] = []
    seen: set[tuple[Any, ...]] = set()
    real_tap = kiosk.tap

    def check(*_args: Any, **_kwargs: Any) -> None:
        """Before a touch: measure the screen if it shows a state not measured yet (each question
        of a form, each mode of a step), and look for text fields."""
        widget = app.screen("step").widget if kiosk.screen == "step" else None
        field = getattr(getattr(widget, "field", None), "id", None)
        state = (kiosk.screen, app.flow.step.id if app.flow else "", field, getattr(widget, "mode", None))
        if state not in seen:
            seen.add(state)
            where = "/".join(str(p) for p in (service_id, *state[1:]) if p)
            problems.extend(small_targets(kiosk, where))
            fields.extend(f"{where}: {f}" for f in text_fields(kiosk))
        real_tap(*_args, **_kwargs)

    kiosk.tap = check
    try:
        while app.flow is not None and not app.flow.finished:
            step = app.flow.step
            kinds.append(step.kind)
            kiosk.frames(3)
            check_only = small_targets(kiosk, f"{service_id}/{step.id}")
            problems.extend(check_only)
            PLAYERS[step.kind](kiosk, step)
            if app.flow is not None and app.flow.step is step:
                kiosk.wait_until(lambda s=step: app.flow is None or app.flow.step is not s, timeout_s=60)
    finally:
        del kiosk.tap  # the instance attribute goes; the class's tap is back
    problems.extend(small_targets(kiosk, f"{service_id}/{kiosk.screen}"))
    app.cancel()
    return kinds


def _ready(kiosk: Any) -> Any:
    runtime = kiosk.app.runtime
    kiosk.wait_until(lambda: not runtime.pending_roles(), timeout_s=60, what="the devices")
    kiosk.wait_until(lambda: runtime.queue is not None, timeout_s=60, what="the request queue")
    return kiosk.app


def test_the_way_in_has_targets_of_15_mm(kiosk: Any) -> None:
    app = _ready(kiosk)
    problems: list[str] = small_targets(kiosk, "attract")
    app.begin()
    problems += small_targets(kiosk, "home")
    for category in ("household", "vehicle", "photo"):
        app.choose_category(category)
        problems += small_targets(kiosk, f"services-{category}")
    app.assist.open_sound()
    problems += small_targets(kiosk, "sound popover")
    app.assist._close_views()
    app.cancel()
    assert problems == [], "\n".join(problems)


# one test per service (config/services.toml; the fixture adds test services): a whole walk each,
# so no single test comes near the per-test time limit on a busy machine
@pytest.mark.parametrize("service_id", SERVICE_IDS)
def test_each_service_by_touch_alone_with_targets_of_15_mm(kiosk: Any, service_id: str) -> None:
    app = _ready(kiosk)
    problems: list[str] = []
    fields: list[str] = []
    before = len(MEASURED)
    assert app.availability(service_id).ok, (service_id, app.availability(service_id))
    walk_service(kiosk, service_id, problems, fields)
    assert fields == [], "a resident would have to type"
    assert problems == [], "\n".join(problems)
    measured = MEASURED[before:]
    assert measured, "the walk measured no screen"
    print(f"{service_id}: {len(measured)} screens, {sum(c for _w, c, _mm in measured)} targets, smallest side "
          f"{min(mm for *_x, mm in measured):.1f} mm")  # fmt: skip


@pytest.mark.parametrize("mode", ["large_text", "high_contrast"])
def test_targets_stay_15_mm_in_large_text_and_high_contrast(kiosk: Any, mode: str) -> None:
    app = kiosk.app
    setattr(app, mode, True)
    try:
        problems = small_targets(kiosk, "attract")
        app.begin()
        problems += small_targets(kiosk, "home")
        app.choose_category("household")
        problems += small_targets(kiosk, "services")
        app.start_service("test-form-only")
        kiosk.tap(app.tr("consent.agree"))
        problems += small_targets(kiosk, "form choice")
        assert problems == [], "\n".join(problems)
    finally:
        setattr(app, mode, False)
        app.cancel()
