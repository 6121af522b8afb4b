"""Photo specs as data, crop + scale to each spec, JPEG size within range, and the CLI."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from drivers.camera.samples import portrait
from kiosk.errors import ConfigError
from kiosk.photo.checks import assess
from kiosk.photo.compose import PhotoError, compose, crop_to_spec, encode_within
from kiosk.photo.detect import Face, FaceDetector
from kiosk.photo.specs import SPEC_NAMES, default_specs, get_spec, load_specs
from kiosk.tech import main as tech_main

pytest.importorskip("skimage", reason="real face samples come from scikit-image (test extra)")


@pytest.fixture(scope="module")
def detector() -> FaceDetector:
    return FaceDetector()


@pytest.fixture(scope="module")
def good() -> np.ndarray:
    return portrait()


@pytest.fixture(scope="module")
def good_face(detector: FaceDetector, good: np.ndarray) -> Face:
    faces = detector.detect(good)
    assert len(faces) == 1
    return faces[0]


def test_packaged_specs() -> None:
    specs = default_specs()
    assert tuple(sorted(specs)) == tuple(sorted(SPEC_NAMES))
    sizes = {name: (s.width, s.height) for name, s in specs.items()}
    assert sizes == {"resident-id": (358, 441), "driving-licence": (260, 378), "passport": (390, 567)}
    assert specs["resident-id"].jpeg_bytes == (14 * 1024, 20 * 1024)


def test_bad_spec_file_names_the_key(tmp_path: Path) -> None:
    path = tmp_path / "specs.toml"
    path.write_text(
        '[x]\ntitle = {zh = "x", en = "x"}\nwidth = 100\nheight = 100\ndpi = 300\nface_width = [90, 80]\n'
        "head_top = [1, 2]\njpeg_kb = [1, 2]\nbackground = { min_brightness = 1, max_unevenness = 1, max_saturation = 1 }\n"
    )
    with pytest.raises(ConfigError) as info:
        load_specs(path)
    assert info.value.problems[0].key == "x"
    with pytest.raises(ConfigError, match="unknown photo spec"):
        get_spec("visa")


@pytest.mark.parametrize("name", SPEC_NAMES)
def test_compose_meets_the_spec(detector: FaceDetector, good: np.ndarray, good_face: Face, name: str) -> None:
    spec = get_spec(name)
    photo = compose(good, good_face, spec)
    low, high = spec.jpeg_bytes
    assert low <= len(photo.jpeg) <= high
    decoded = cv2.imdecode(np.frombuffer(photo.jpeg, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (spec.height, spec.width, 3)
    # The face found again in the output has the spec's width (within the detector's jitter).
    faces = detector.detect(decoded)
    assert len(faces) == 1
    width = faces[0].box[2]
    assert spec.face_width[0] * 0.9 <= width <= spec.face_width[1] * 1.1
    # Hair starts below the top edge: the top rows are the plain backdrop, the head comes soon after.
    grey = cv2.cvtColor(decoded, cv2.COLOR_BGR2GRAY)
    centre = grey[:, spec.width // 2 - 10 : spec.width // 2 + 10]
    first_dark = int(np.argmax(centre.mean(axis=1) < 200))
    assert spec.head_top[0] - 6 <= first_dark <= spec.head_top[1] + 12
    if name == "resident-id":  # GA 461: eyes at least 207 px above the bottom edge
        eyes = faces[0].eyes
        assert eyes is not None
        assert spec.height - max(eyes[0][1], eyes[1][1]) >= 207


def test_crop_never_invents_pixels(good: np.ndarray, good_face: Face) -> None:
    x, _y, w, h = good_face.box
    high = Face((x, 5, w, h), None)  # head box at the very top: the crop would start above the image
    with pytest.raises(PhotoError, match="edge"):
        crop_to_spec(good, high, get_spec("resident-id"))


def test_size_range_that_cannot_be_met(good: np.ndarray, good_face: Face) -> None:
    spec = get_spec("resident-id").model_copy(update={"jpeg_kb": (200.0, 300.0)})
    with pytest.raises(PhotoError, match="no JPEG quality"):
        encode_within(crop_to_spec(good, good_face, spec), spec)


def test_highest_quality_within_range(good: np.ndarray, good_face: Face) -> None:
    spec = get_spec("resident-id")
    cropped = crop_to_spec(good, good_face, spec)
    photo = encode_within(cropped, spec)
    ok, above = cv2.imencode(".jpg", cropped, [cv2.IMWRITE_JPEG_QUALITY, photo.quality + 1])
    assert ok
    assert photo.quality == 98 or len(above) > spec.jpeg_bytes[1]


# -- kiosk-tech id-photo ------------------------------------------------------------------------------
@pytest.fixture
def portrait_file(tmp_path: Path, good: np.ndarray) -> Path:
    path = tmp_path / "张三丰.png"  # non-ASCII names must work
    ok, buf = cv2.imencode(".png", good)
    assert ok
    path.write_bytes(buf.tobytes())
    return path


def test_cli_makes_the_photo(portrait_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "photo.jpg"
    assert tech_main(["id-photo", str(portrait_file), str(out), "--spec", "driving-licence"]) == 0
    image = cv2.imdecode(np.frombuffer(out.read_bytes(), np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (378, 260, 3)
    assert "260x378" in capsys.readouterr().out


def test_cli_json_reports_checks(
    portrait_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "photo.jpg"
    assert tech_main(["id-photo", str(portrait_file), str(out), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is True and report["spec"] == "resident-id"
    assert report["output"] == str(out)
    assert 14 * 1024 <= report["jpeg_bytes"] <= 20 * 1024
    assert len(out.read_bytes()) == report["jpeg_bytes"]
    assert {c["name"] for c in report["checks"]} >= {"face_count", "sharpness", "exposure", "background"}
    assert all(c["passed"] for c in report["checks"])


@pytest.mark.parametrize(
    ("image", "reason"),
    [
        (np.full((480, 640, 3), 235, np.uint8), "face_count"),
        ((portrait() * 0.25).astype(np.uint8), "exposure"),
    ],
)
def test_cli_refuses_non_compliant_photo(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], image: np.ndarray, reason: str
) -> None:
    src, out = tmp_path / "in.png", tmp_path / "out.jpg"
    cv2.imwrite(str(src), image)
    assert tech_main(["id-photo", str(src), str(out), "--json"]) == 1
    captured = capsys.readouterr()
    report = json.loads(captured.out)
    assert report["ok"] is False and report["output"] is None
    assert any(r.startswith(reason) for r in report["reasons"])
    assert not out.exists()
    assert list(tmp_path.iterdir()) == [src]  # no temporary file left behind either
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: the photo does not comply")


def test_cli_unreadable_input(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src, out = tmp_path / "broken.jpg", tmp_path / "out.jpg"
    src.write_bytes(b"\xff\xd8 not really a jpeg")
    assert tech_main(["id-photo", str(src), str(out)]) == 1
    assert "not a readable image" in capsys.readouterr().err
    assert tech_main(["id-photo", str(tmp_path / "missing.png"), str(out)]) == 1
    assert "cannot read" in capsys.readouterr().err
    assert not out.exists()


FUZZ_EXAMPLES = int(os.environ.get("PHOTO_FUZZ_EXAMPLES", "15"))


@settings(
    max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=2048), jpeg_header=st.booleans())
def test_cli_never_crashes_on_garbage(tmp_path: Path, data: bytes, jpeg_header: bool) -> None:
    src, out = tmp_path / "garbage.jpg", tmp_path / "out.jpg"
    src.write_bytes((b"\xff\xd8\xff\xe0" if jpeg_header else b"") + data)
    assert tech_main(["id-photo", str(src), str(out)]) == 1
    assert not out.exists()


@settings(max_examples=FUZZ_EXAMPLES, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    width=st.integers(1, 700),
    height=st.integers(1, 500),
)
@example(seed=0, width=640, height=1)  # once crashed: scaled to zero rows before detection
def test_checks_never_raise_on_odd_frames(detector: FaceDetector, seed: int, width: int, height: int) -> None:
    rng = np.random.default_rng(seed)
    image = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
    a = assess(image, detector, get_spec("passport"))
    assert a.checks and all(c.message.startswith("photo.") for c in a.checks)
