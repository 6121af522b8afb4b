"""The simulated cards' photos and the simulated WLT decoder (drivers/idcard/sim_photos.py): the demo
cards carry the demo face, one card someone else's; the decoder is refused in production."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from drivers.idcard.sim_photos import SimulatedWltDecoder, photo_bmp, photo_name, simulated_wlt
from drivers.idcard.simulator import load_cards
from drivers.idcard.wlt import BMP_LEN, WLT_LEN
from kiosk.config.model import load_config
from kiosk.config.production import simulated_problems
from kiosk.errors import ConfigError
from kiosk.tech.sim_card import card_list


def _bmp_image(data: bytes) -> np.ndarray:  # type: ignore[type-arg]
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def test_cards_name_their_photo_in_wlt_sized_bytes() -> None:
    cards = load_cards()
    assert photo_name(cards["resident"].photo_wlt) == "demo"
    assert photo_name(cards["resident_other_face"].photo_wlt) == "lfw:0"
    assert all(len(c.photo_wlt) == WLT_LEN for c in cards.values())
    assert photo_name(b"\x00" * WLT_LEN) is None and photo_name(simulated_wlt("none", b"s")) is None


def test_decoder_returns_the_card_bmp_and_refuses_real_wlt() -> None:
    decoder = SimulatedWltDecoder()
    cards = load_cards()
    demo = decoder.decode(cards["resident"].photo_wlt)
    other = decoder.decode(cards["resident_other_face"].photo_wlt)
    assert demo is not None and other is not None and len(demo) == len(other) == BMP_LEN
    assert _bmp_image(demo).shape == _bmp_image(other).shape == (126, 102, 3)
    assert demo != other
    assert decoder.decode(bytes(range(256)) * 4) is None  # a real card's WLT: not ours to decode
    with pytest.raises(ValueError, match="unknown simulated card photo"):
        photo_bmp("astronaut")


def test_the_demo_card_is_the_demo_face_and_the_other_card_is_not() -> None:
    """With the real face model: the card photo of the demo resident matches the simulated camera's
    demo face; the other card's photo (a real LFW face) does not."""
    faces = pytest.importorskip("contract.faces")
    pytest.importorskip("dlib")
    from drivers.camera.samples import portrait

    matcher = faces.default_matcher()
    live = matcher.template(np.ascontiguousarray(portrait(640, 480)[:, :, ::-1]))
    demo = matcher.template(faces.decode_image(photo_bmp("demo")))
    other = matcher.template(faces.decode_image(photo_bmp("lfw:0")))
    assert faces.is_match(matcher, demo, live)
    assert not faces.is_match(matcher, other, live)


def test_the_simulated_decoder_is_refused_in_production(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    reader = (
        '[devices.card_reader]\ndriver = "sam-serial"\nport = "/dev/ttyUSB0"\nwlt_decoder = "simulated"\n'
    )
    site.write_text('[kiosk]\nmode = "production"\n' + reader, encoding="utf-8")
    with pytest.raises(ConfigError) as refused:
        load_config(site, environ={}, validate_devices=False)
    assert "devices.card_reader.wlt_decoder" in {p.key for p in refused.value.problems}
    site.write_text('[kiosk]\nmode = "production"\nallow_simulated = true\n' + reader, encoding="utf-8")
    config = load_config(site, environ={}, validate_devices=False)  # explicitly allowed, as any simulator
    assert simulated_problems(config, str(site)) == []


def test_identity_match_auto_follows_the_decoder(tmp_path: Path) -> None:
    site = tmp_path / "kiosk.toml"
    site.write_text("[kiosk]\n", encoding="utf-8")
    assert load_config(site, environ={}).identity_match == "card"  # the simulated reader decodes
    site.write_text(
        '[kiosk]\n[devices.card_reader]\ndriver = "simulated"\nwlt_decoder = ""\n', encoding="utf-8"
    )
    assert load_config(site, environ={}).identity_match == "register"
    site.write_text('[kiosk]\n[identity]\nmatch = "both"\n', encoding="utf-8")
    assert load_config(site, environ={}).identity_match == "both"


def test_sim_card_lists_each_cards_photo() -> None:
    listing = card_list(load_cards())
    assert "resident  张三丰  photo=demo" in listing
    assert "resident_other_face  赵六  photo=lfw:0 (someone else" in listing


def test_the_demo_register_has_the_other_cards_holder_with_that_face() -> None:
    """A card carrying someone else's face is that person in the register too: the face check
    refuses the demo face whether it matches at the card or at the register."""
    from kiosk.queue.demo_register import DEMO_FACE_FILE, OTHER_FACE_FILE, demo_residents

    photos = {r["id_number"]: r["photo"] for r in demo_residents()}
    assert photos["990101198509090019"] == OTHER_FACE_FILE  # 赵六, card.resident_other_face
    assert photos["99010119800315031X"] == DEMO_FACE_FILE
