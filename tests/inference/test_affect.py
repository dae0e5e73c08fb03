"""The valence and arousal estimate: the published places of the classes' names (NRC VAD Lexicon,
Mohammad 2018; the rows are written out here from the lexicon's August 2018 release), weighted by the
probabilities and rescaled to -1..1."""

from __future__ import annotations

import pytest

from inference import affect
from inference.classes import EMOTIONS

# the lexicon's rows (term, valence, arousal on 0..1) for each class, as published
PUBLISHED = {
    "angry": ("anger", 0.167, 0.865),
    "disgust": ("disgust", 0.052, 0.775),
    "fear": ("fear", 0.073, 0.840),
    "happy": ("happiness", 0.960, 0.732),
    "sad": ("sadness", 0.052, 0.288),
    "surprise": ("surprise", 0.875, 0.875),
    "neutral": ("neutral", 0.469, 0.184),
}


def test_each_class_alone_sits_at_its_published_place():
    assert affect.LEXICON_ROWS == PUBLISHED
    for i, emotion in enumerate(EMOTIONS):
        one_hot = [1.0 if j == i else 0.0 for j in range(len(EMOTIONS))]
        _, v, a = PUBLISHED[emotion]
        assert affect.valence_arousal(one_hot) == pytest.approx((2 * v - 1, 2 * a - 1))
    assert affect.valence_arousal(dict.fromkeys(EMOTIONS, 0.0) | {"happy": 1.0}) == pytest.approx((0.92, 0.464))


def test_a_mixture_is_the_weighted_mean_and_means_commute():
    mix = {"happy": 0.6, "surprise": 0.4, **dict.fromkeys(["angry", "disgust", "fear", "sad", "neutral"], 0.0)}
    assert affect.valence_arousal(mix) == pytest.approx((0.6 * 0.92 + 0.4 * 0.75, 0.6 * 0.464 + 0.4 * 0.75))
    # probabilities that do not quite sum to 1 (rounding) are normalised
    assert affect.valence_arousal({e: p * 0.98 for e, p in mix.items()}) == pytest.approx(affect.valence_arousal(mix))
    faces = [[0.1, 0.0, 0.2, 0.3, 0.1, 0.2, 0.1], [0.0, 0.5, 0.0, 0.0, 0.5, 0.0, 0.0], [0, 0, 0, 0, 0, 0, 1.0]]
    mean_of_estimates = [sum(affect.valence_arousal(f)[k] for f in faces) / 3 for k in (0, 1)]
    estimate_of_mean = affect.valence_arousal([sum(col) / 3 for col in zip(*faces, strict=True)])
    assert estimate_of_mean == pytest.approx(mean_of_estimates)


def test_nothing_measured_gives_none_and_a_wrong_length_is_refused():
    assert affect.valence_arousal(dict.fromkeys(EMOTIONS)) is None
    assert affect.valence_arousal([0.0] * 7) is None
    with pytest.raises(ValueError, match="expected 7"):
        affect.valence_arousal([1.0, 0.0])
