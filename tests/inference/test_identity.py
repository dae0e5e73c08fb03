"""The one identity rule (inference.identity.decide), the quality gate, and the benchmark's folds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench.identity import folds, split_people
from inference import identity, quality
from inference.identity import MAYBE, NEW, SAME, Params

# No transform: the rule alone, with limits in plain unit-vector distances.
RULE = Params(same_distance=0.5, same_score=0.5, margin=0.1, maybe_distance=0.8, prior_typical=1.3, nearest=2)


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


def person(rng: np.random.Generator, centre: np.ndarray, n: int = 6, spread: float = 0.005) -> list:
    return [unit(centre + spread * rng.standard_normal(128)).tolist() for _ in range(n)]


def towards(a: np.ndarray, b: np.ndarray, distance: float) -> np.ndarray:
    """A unit vector at ``distance`` from unit ``a`` in the plane of ``a`` and ``b``."""
    ortho = unit(b - (b @ a) * a)
    angle = 2 * math.asin(distance / 2)
    return math.cos(angle) * a + math.sin(angle) * ortho


@pytest.fixture
def world():
    rng = np.random.default_rng(14)
    centres = [unit(rng.standard_normal(128)) for _ in range(4)]
    return rng, centres


def test_three_outcomes(world):
    rng, (a, b, c, far) = world
    known = {"A": person(rng, a), "B": person(rng, b), "C": person(rng, c)}
    same = identity.decide(person(rng, a, 3), known, params=RULE)
    assert (same.outcome, same.candidate) == (SAME, "A")
    assert same.distance < 0.2 and same.margin > 1.0 and same.score < 0.3
    maybe = identity.decide(person(rng, towards(a, far, 0.65), 3), known, params=RULE)
    assert (maybe.outcome, maybe.candidate) == (MAYBE, "A") and 0.5 < maybe.distance < 0.8
    new = identity.decide(person(rng, far, 3), known, params=RULE)
    assert new.outcome == NEW and new.distance > 0.8
    assert identity.decide(person(rng, a, 3), {}, params=RULE).outcome == NEW  # nobody known yet


def test_a_look_alike_among_the_candidates_blocks_auto_link(world):
    rng, (a, b, *_) = world
    twin = towards(a, b, 0.12)  # two known people closer to each other than the margin
    known = {"A": person(rng, a), "twin": person(rng, twin), "B": person(rng, b)}
    d = identity.decide(person(rng, a, 3), known, params=RULE)
    assert d.candidate == "A" and d.distance < RULE.same_distance and d.margin < RULE.margin
    assert d.outcome == MAYBE


def test_crowded_owner_gets_a_stricter_score(world):
    rng, (a, b, *_) = world
    probe = person(rng, a, 3)
    spread_out = {"A": person(rng, towards(a, b, 0.4)), "B": person(rng, b)}
    # the same raw distance among people who all look alike (impostors at ~0.6, not ~1.4)
    crowd = {
        "A": spread_out["A"],
        **{f"x{i}": person(rng, towards(a, rng.standard_normal(128), 0.6)) for i in range(8)},
    }
    loose = identity.decide(probe, spread_out, params=RULE)
    tight = identity.decide(probe, crowd, params=RULE)
    assert loose.candidate == tight.candidate == "A" and abs(loose.distance - tight.distance) < 1e-9
    assert tight.score > loose.score and loose.outcome == SAME and tight.outcome != SAME


def test_rejected_pair_is_never_auto_linked(world):
    rng, (a, b, *_) = world
    near = towards(a, b, 0.45)  # plausible (within "maybe") but clearly second
    known = {"A": person(rng, a), "N": person(rng, near)}
    probe = person(rng, a, 3)
    assert identity.decide(probe, known, params=RULE).outcome == SAME
    d = identity.decide(probe, known, rejected={frozenset(("A", "N"))}, params=RULE)
    assert (d.outcome, d.candidate) == (MAYBE, "A")
    # a rejected pair that is not plausible for this face changes nothing
    assert identity.decide(probe, {**known, "B": person(rng, b)}, {frozenset(("A", "B"))}, RULE).outcome == SAME


def test_quality_gate_and_references(media_dir):
    from inference import faces, media

    image = media.load_image(media_dir / "obama.jpg")
    box = faces.detect(image)[0]
    sharp = identity.describe(image, [box], [1.5])[0]
    blurred = np.ascontiguousarray(__import__("cv2").GaussianBlur(image, (0, 0), 6))
    soft = identity.describe(blurred, [box], [1.5])[0]
    assert sharp.quality.sharpness > 4 * soft.quality.sharpness
    assert sharp.usable and sharp.score > soft.score
    assert quality.quality_score(quality.FaceQuality(20, 500, 0, 0, 2.0)) == 0.0  # too small
    assert quality.quality_score(quality.FaceQuality(120, 500, 60, 0, 2.0)) == 0.0  # profile
    assert quality.quality_score(quality.FaceQuality(120, 500, 0, 0, None)) == 1.0
    # a track keeps only usable samples, the best first, at most TRACK_REFERENCES
    junk = identity.Sample(np.zeros(128), score=0.1)
    many = [identity.Sample(np.full(128, i / 100), score=0.3 + i / 100) for i in range(12)]
    refs, quals = identity.select_references([], [], [junk, *many])
    assert len(refs) == identity.TRACK_REFERENCES and quals == sorted(quals, reverse=True) and min(quals) >= 0.3
    assert np.zeros(128).tolist() not in refs


def test_benchmark_folds_never_mix_people():
    lfw = [f"l{i}" for i in range(101)]
    tw = [f"t{i:02d}" for i in range(29)]
    fit, test = split_people(lfw, 3)
    assert not set(fit) & set(test) and set(fit) | set(test) == set(lfw)
    for fold in folds(lfw, tw):
        for pop in ("lfw", "tw"):
            if pop in fold["test"]:
                assert not set(fold["fit"][pop]) & set(fold["test"][pop])
    one, two = folds(lfw, tw)
    assert set(one["fit"]["tw"]) == set(two["test"]["tw"]) and set(one["test"]["tw"]) == set(two["fit"]["tw"])
