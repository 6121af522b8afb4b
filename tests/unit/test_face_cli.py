"""``kiosk-tech face-match`` and ``kiosk-tech liveness``: exit codes, one-line reasons, JSON keys."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kiosk.tech import main
from tests import face_data as fd


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    return code, out, err


def test_same_person_exits_0_with_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "face-match", str(fd.fixture_path("obama.jpg")), str(fd.fixture_path("obama3.jpg")), "--json"
    )
    assert code == 0
    answer = json.loads(out)
    assert set(answer) == {"match", "similarity", "threshold"}
    assert answer["match"] is True and answer["similarity"] >= answer["threshold"]


def test_different_people_exit_1(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "face-match", str(fd.fixture_path("obama.jpg")), str(fd.fixture_path("biden.jpg"))
    )
    assert code == 1
    assert out.startswith("different people (similarity ")
    code, out, _ = run(
        capsys, "face-match", str(fd.fixture_path("obama.jpg")), str(fd.fixture_path("biden.jpg")), "--json"
    )
    answer = json.loads(out)
    assert code == 1 and answer["match"] is False and 0 <= answer["similarity"] < answer["threshold"]


@pytest.mark.parametrize(
    ("make", "says"),
    [
        ("blank", "no face was found in the image"),
        ("two", "more than one face is in the image"),
        ("text", "the image could not be read"),
        ("missing", "cannot read"),
    ],
)
def test_unusable_images_exit_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, make: str, says: str
) -> None:
    path = tmp_path / f"{make}.png"
    if make == "blank":
        path.write_bytes(fd.encode(np.full((300, 300, 3), 128, np.uint8), "PNG"))
    elif make == "two":
        pair = fd.side_by_side(fd.fixture_rgb("obama.jpg", 600), fd.fixture_rgb("biden.jpg", 600))
        path.write_bytes(fd.encode(pair, "PNG"))
    elif make == "text":
        path.write_text("not a photo")
    good = str(fd.fixture_path("obama.jpg"))
    code, out, err = run(capsys, "face-match", good, str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and says in err and str(path) in err
    code, out, _ = run(capsys, "face-match", str(path), good, "--json")
    assert code == 2 and set(json.loads(out)) == {"error"} and says in json.loads(out)["error"]


def write_frames(folder: Path, frames: list[np.ndarray]) -> None:
    folder.mkdir()
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"frame-{i:04d}.png"), frame)


def test_liveness_on_a_folder_of_a_held_up_photo_is_not_live(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photo = fd.crop(fd.fixture_rgb("obama.jpg", 800), 0.25, 0.05, 0.75, 0.6)
    write_frames(tmp_path / "still", fd.held_photo(photo, "translated", 40))
    code, out, _ = run(
        capsys, "liveness", str(tmp_path / "still"), "--challenge", "blink", "--fps", "10", "--json"
    )
    assert code == 1
    assert json.loads(out) == {
        "live": False,
        "challenge": "blink",
        "reason": "no_blink",
        "frames": 40,
        "seconds": 4.0,
    }


def test_liveness_on_a_video_of_frozen_frames_is_not_live(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    photo = fd.crop(fd.fixture_rgb("obama.jpg", 800), 0.25, 0.05, 0.75, 0.6)
    video = tmp_path / "frozen.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 15.0, (640, 480))
    for frame in fd.held_photo(photo, "frozen", 20):
        writer.write(frame)
    writer.release()
    code, out, _ = run(capsys, "liveness", str(video), "--challenge", "turn")
    assert code == 1 and out.startswith("not live: frozen")


def test_liveness_without_readable_frames_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.txt").write_text("no frames here")
    code, _, err = run(capsys, "liveness", str(tmp_path / "empty"), "--challenge", "blink")
    assert code == 2 and "no readable frames" in err
    code, _, err = run(capsys, "liveness", str(tmp_path / "nothing"), "--challenge", "turn")
    assert code == 2 and "no such folder or video file" in err
