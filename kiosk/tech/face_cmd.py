"""``kiosk-tech face-match`` and ``kiosk-tech liveness``: the identity check on files, for technicians.

``face-match IMAGE_A IMAGE_B [--json]``: exit 0 same person, 1 different people, 2 an image that
cannot be used (unreadable, no face, several faces, face too small), with a one-line reason.
``--json`` prints ``{"match": bool, "similarity": float, "threshold": float}`` or ``{"error": "..."}``.

``liveness FOLDER_OR_VIDEO --challenge blink|turn [--fps N] [--json]``: the liveness engine on
recorded frames (a folder of images in name order at ``--fps``, default 15, or a video file at its
own rate unless ``--fps`` is given); a turn to either side counts. Exit 0 live, 1 not live (with
the reason), 2 no readable frames.

Templates and frames stay in memory; nothing is written.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    match = sub.add_parser(
        "face-match", help="are two photos the same person? (exit 0 yes, 1 no, 2 unusable image)"
    )
    match.add_argument("image_a", metavar="IMAGE_A", help="image file (JPEG, PNG, BMP...)")
    match.add_argument("image_b", metavar="IMAGE_B", help="image file (JPEG, PNG, BMP...)")
    match.add_argument("--json", action="store_true", help="print match, similarity and threshold as JSON")
    match.set_defaults(func=run_face_match)

    live = sub.add_parser("liveness", help="run the liveness check on recorded frames (exit 0 live)")
    live.add_argument("source", metavar="FOLDER_OR_VIDEO", help="a folder of frames or a video file")
    live.add_argument("--challenge", choices=("blink", "turn"), required=True, help="the challenge")
    live.add_argument("--fps", type=float, default=None, help="frame rate of a folder (default 15)")
    live.add_argument("--json", action="store_true", help="print the verdict as JSON")
    live.set_defaults(func=run_liveness)


def _say(args: argparse.Namespace, data: dict[str, Any], line: str, *, error: bool = False) -> None:
    if args.json:
        print(json.dumps(data, ensure_ascii=False))
    if error:
        print(f"error: {line}", file=sys.stderr)
    elif not args.json:
        print(line)


def run_face_match(args: argparse.Namespace) -> int:
    from contract.faces import FaceUnusable, MatcherUnavailable, decode_image, default_matcher

    try:
        matcher = default_matcher()
        templates = []
        for name in (args.image_a, args.image_b):
            try:
                data = Path(name).read_bytes()
            except OSError as exc:
                reason = f"{name}: cannot read ({exc.strerror or exc})"
                _say(args, {"error": reason}, reason, error=True)
                return 2
            try:
                templates.append(matcher.template(decode_image(data)))
            except FaceUnusable as exc:
                reason = f"{name}: {exc}"
                _say(args, {"error": reason}, reason, error=True)
                return 2
        similarity = matcher.similarity(templates[0], templates[1])
    except MatcherUnavailable as exc:
        _say(args, {"error": str(exc)}, str(exc), error=True)
        return 2
    same = similarity >= matcher.threshold
    verdict = "same person" if same else "different people"
    _say(
        args,
        {"match": same, "similarity": round(similarity, 4), "threshold": round(matcher.threshold, 4)},
        f"{verdict} (similarity {similarity:.3f}, threshold {matcher.threshold:.3f}, {matcher.name})",
    )
    return 0 if same else 1


def _folder_frames(folder: Path) -> Iterator[Any]:
    import cv2
    import numpy as np

    for path in sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES):
        raw = np.fromfile(path, dtype=np.uint8)  # fromfile+imdecode also reads non-ASCII paths
        image = cv2.imdecode(raw, cv2.IMREAD_COLOR) if raw.size else None
        if image is not None:
            yield image


def _video_frames(path: Path) -> tuple[Iterator[Any], float]:
    import cv2

    capture = cv2.VideoCapture(str(path))
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 0.0) if capture.isOpened() else 0.0

    def frames() -> Iterator[Any]:
        try:
            while capture.isOpened():
                ok, frame = capture.read()
                if not ok or frame is None:
                    return
                yield frame
        finally:
            capture.release()

    return frames(), fps


def run_liveness(args: argparse.Namespace) -> int:
    from kiosk.identity.landmarks import FaceLandmarker
    from kiosk.identity.liveness import EITHER, LivenessEngine

    source = Path(args.source)
    if args.fps is not None and not args.fps > 0:
        _say(args, {"error": "--fps must be positive"}, "--fps must be positive", error=True)
        return 2
    if source.is_dir():
        frames, fps = _folder_frames(source), args.fps or 15.0
    elif source.is_file():
        frames, own = _video_frames(source)
        fps = args.fps or own or 15.0
    else:
        reason = f"{source}: no such folder or video file"
        _say(args, {"error": reason}, reason, error=True)
        return 2

    now = [0.0]
    engine = LivenessEngine(args.challenge, clock=lambda: now[0], observer=FaceLandmarker(), direction=EITHER)
    engine.start()
    count = 0
    state = engine.state
    for frame in frames:
        now[0] = count / fps
        count += 1
        state = engine.feed_frame(frame)
        if state.done:
            break
    if count == 0:
        reason = f"{source}: no readable frames"
        _say(args, {"error": reason}, reason, error=True)
        return 2
    if not state.done:
        state = engine.end()
    engine.clear()
    data = {
        "live": state.passed,
        "challenge": args.challenge,
        "reason": state.reason or None,
        "frames": count,
        "seconds": round(count / fps, 3),
    }
    if state.passed:
        _say(args, data, f"live ({args.challenge} seen after {count} frames, {count / fps:.1f} s)")
        return 0
    _say(args, data, f"not live: {state.reason} ({count} frames, {count / fps:.1f} s)")
    return 1
