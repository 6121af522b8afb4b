"""1:1 face matching (contract/faces.py) on real photos: the same person across crops, scales, light
and small rotations matches; different people do not; unusable images are refused with a reason."""

from __future__ import annotations

import threading
from functools import cache

import numpy as np
import pytest

from contract.faces import (
    DLIB_MODEL,
    DlibMatcher,
    FaceBox,
    FaceTemplate,
    FaceUnusable,
    MatcherUnavailable,
    decode_image,
    default_matcher,
    is_match,
    load_matcher,
    pick_face,
)
from tests import face_data as fd


@pytest.fixture(scope="module")
def matcher() -> DlibMatcher:
    m = default_matcher()
    assert isinstance(m, DlibMatcher)
    return m


@pytest.fixture(scope="module")
def obama(matcher: DlibMatcher) -> FaceTemplate:
    return matcher.template(decode_image(fd.fixture_bytes("obama.jpg")))


@pytest.fixture(scope="module")
def biden(matcher: DlibMatcher) -> FaceTemplate:
    return matcher.template(decode_image(fd.fixture_bytes("biden.jpg")))


def test_template_is_a_128_float_vector_that_never_shows_in_repr(obama: FaceTemplate) -> None:
    assert obama.vector.shape == (128,)
    assert obama.vector.dtype == np.float32
    assert obama.model == DLIB_MODEL
    assert not obama.vector.flags.writeable
    assert repr(obama) == f"FaceTemplate(model='{DLIB_MODEL}')"  # no number of the vector


@pytest.mark.parametrize("name", [n for n in fd.OBAMA if n != "obama.jpg"])
def test_other_photos_of_the_same_person_match(matcher: DlibMatcher, obama: FaceTemplate, name: str) -> None:
    other = matcher.template(decode_image(fd.fixture_bytes(name)))
    assert is_match(matcher, obama, other), matcher.similarity(obama, other)


@cache
def variant_templates(name: str) -> dict[str, FaceTemplate]:
    """The photo's template ("original") and its augmentations' (the photo at most 800 px long)."""
    matcher = default_matcher()
    rgb = fd.fixture_rgb(name, 800)
    out = {"original": matcher.template(rgb)}
    out.update((variant, matcher.template(image)) for variant, image in fd.augmentations(rgb).items())
    return out


@pytest.mark.parametrize("name", ["obama.jpg", "obama3.jpg", "biden.jpg"])
def test_same_photo_across_crops_scales_light_and_rotation_matches(matcher: DlibMatcher, name: str) -> None:
    templates = variant_templates(name)
    base = templates.pop("original")
    assert len(templates) == 12
    missed = {
        v: round(matcher.similarity(base, t), 3)
        for v, t in templates.items()
        if not is_match(matcher, base, t)
    }
    assert missed == {}


def test_different_people_do_not_match(matcher: DlibMatcher, biden: FaceTemplate) -> None:
    for name in fd.OBAMA:
        other = matcher.template(decode_image(fd.fixture_bytes(name)))
        assert not is_match(matcher, biden, other), (name, matcher.similarity(biden, other))
    for variant, template in variant_templates("obama.jpg").items():
        assert not is_match(matcher, biden, template), variant


def test_someone_else_from_lfw_and_the_astronaut_does_not_match(
    matcher: DlibMatcher, obama: FaceTemplate, biden: FaceTemplate
) -> None:
    astronaut = matcher.template(fd.astronaut())
    others = [astronaut]
    for face in fd.lfw_faces()[:40]:
        try:
            others.append(matcher.template(face))
        except FaceUnusable:
            continue
    assert len(others) >= 35  # dlib finds 94 of the 100 LFW faces
    accepted = [i for i, t in enumerate(others) for ref in (obama, biden) if is_match(matcher, ref, t)]
    assert accepted == []


def test_similarity_is_symmetric_in_unit_range_and_one_for_the_same_template(
    matcher: DlibMatcher, obama: FaceTemplate, biden: FaceTemplate
) -> None:
    assert matcher.similarity(obama, obama) == pytest.approx(1.0)
    assert matcher.similarity(obama, biden) == pytest.approx(matcher.similarity(biden, obama))
    assert 0.0 <= matcher.similarity(obama, biden) < matcher.threshold < 1.0
    far = FaceTemplate(np.full(128, 10.0, np.float32), DLIB_MODEL)
    assert matcher.similarity(obama, far) == 0.0
    # the documented map: 0.5 at dlib's customary distance 0.6, the threshold at 0.55
    assert DlibMatcher.similarity_of_distance(0.6) == pytest.approx(0.5)
    assert matcher.threshold == pytest.approx(1 - 0.55 / 1.2)


def test_templates_of_another_model_are_refused(matcher: DlibMatcher, obama: FaceTemplate) -> None:
    with pytest.raises(ValueError, match="different models"):
        matcher.similarity(obama, FaceTemplate(obama.vector, "vendor-sdk-3"))


def test_no_face_is_refused(matcher: DlibMatcher) -> None:
    with pytest.raises(FaceUnusable) as caught:
        matcher.template(np.full((300, 300, 3), 128, np.uint8))
    assert caught.value.reason == "no_face"
    assert str(caught.value) == "no face was found in the image"


def test_two_faces_side_by_side_are_refused(matcher: DlibMatcher) -> None:
    two = fd.side_by_side(fd.fixture_rgb("obama.jpg", 600), fd.fixture_rgb("biden.jpg", 600))
    with pytest.raises(FaceUnusable) as caught:
        matcher.template(two)
    assert caught.value.reason == "several_faces"
    assert "more than one face" in str(caught.value)


def test_a_small_second_face_or_weak_false_detection_is_ignored(matcher: DlibMatcher) -> None:
    # the astronaut photo has a second, false detection (score ~0.1 at 2x upsampling): still one face
    assert matcher.template(fd.astronaut()).vector.shape == (128,)
    # a bystander far smaller than the resident does not make the photo unusable
    big = fd.fixture_rgb("obama.jpg", 600)
    small = fd.fixture_rgb("biden.jpg", 200)
    assert matcher.template(fd.side_by_side(big, small)).vector.shape == (128,)


def test_pick_face_rules() -> None:
    large = FaceBox(0, 0, 200, 200, 1.5)
    with pytest.raises(FaceUnusable, match="no face"):
        pick_face([])
    assert pick_face([FaceBox(300, 0, 400, 100, 2.0), large]) == large  # smaller than 0.6x: ignored
    assert pick_face([large, FaceBox(300, 0, 480, 180, 0.2)]) == large  # weak detection: ignored
    with pytest.raises(FaceUnusable) as caught:
        pick_face([large, FaceBox(300, 0, 480, 180, 0.9)])
    assert caught.value.reason == "several_faces"
    with pytest.raises(FaceUnusable) as caught:
        pick_face([FaceBox(0, 0, 30, 30, 1.0)])
    assert caught.value.reason == "face_too_small"


def test_unreadable_bytes_are_refused() -> None:
    for data in (b"", b"not an image", fd.fixture_bytes("obama.jpg")[:200]):
        with pytest.raises(FaceUnusable) as caught:
            decode_image(data)
        assert caught.value.reason == "unreadable"


def test_decode_gives_rgb_uint8_also_from_a_32_bit_png() -> None:
    rgb = decode_image(fd.fixture_bytes("32bit.png"))
    assert rgb.dtype == np.uint8 and rgb.ndim == 3 and rgb.shape[2] == 3
    grey = decode_image(fd.encode(np.full((20, 30, 3), 77, np.uint8)[:, :, 0], "PNG"))
    assert grey.shape == (20, 30, 3)


def test_templates_from_threads_are_the_same(matcher: DlibMatcher, obama: FaceTemplate) -> None:
    rgb = decode_image(fd.fixture_bytes("obama.jpg"))
    results: list[float] = []

    def work() -> None:
        results.append(matcher.similarity(obama, matcher.template(rgb)))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == pytest.approx([1.0] * 4)


class SiteMatcher:
    """A stand-in for a site's licensed SDK adapter (``load_matcher("module:Class")``)."""

    name = "site-sdk"
    threshold = 0.8

    def template(self, rgb: np.ndarray) -> FaceTemplate:
        return FaceTemplate(np.asarray(rgb, np.float32).mean(axis=(0, 1)), self.name)

    def similarity(self, a: FaceTemplate, b: FaceTemplate) -> float:
        return 1.0 if np.allclose(a.vector, b.vector) else 0.0


class NotAMatcher:
    name = "half"


def test_load_matcher_default_and_a_site_class() -> None:
    assert load_matcher("") is default_matcher()
    site = load_matcher(" tests.unit.test_faces:SiteMatcher ")
    assert isinstance(site, SiteMatcher)
    image = np.zeros((4, 4, 3), np.uint8)
    assert is_match(site, site.template(image), site.template(image))


@pytest.mark.parametrize(
    ("spec", "says"),
    [
        ("tests.unit.test_faces", "expected 'package.module:Class'"),
        ("no_such_module_x:Matcher", "cannot import no_such_module_x"),
        ("tests.unit.test_faces:Missing", "has no Missing"),
        ("tests.unit.test_faces:NotAMatcher", "needs name, threshold, template() and similarity()"),
    ],
)
def test_load_matcher_names_what_is_wrong(spec: str, says: str) -> None:
    with pytest.raises(MatcherUnavailable, match=says.replace("(", r"\(").replace(")", r"\)")):
        load_matcher(spec)
