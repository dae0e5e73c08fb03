"""A valence and arousal *estimate* derived from the seven emotion probabilities (docs/measures.md).

Each class is placed on the valence-arousal plane where people rated its name: the NRC
Valence, Arousal and Dominance Lexicon (Mohammad 2018, "Obtaining Reliable Human Ratings of Valence,
Arousal, and Dominance for 20,000 English Words", ACL 2018, pp. 174-184; August 2018 release), whose
scores run from 0 (most negative / calmest) to 1. The estimate of a face is the probability-weighted
mean of its classes' places, rescaled to -1..1 (``2 * score - 1``), so 0 is the scale's middle.

It is a placement of the predicted *categories*, not a measured affect: a face the model calls 60%
happy and 40% surprised reads as the mean of those two words' places, whatever the face really shows.
``neutral`` is where raters put the word "neutral" (valence just under the middle, arousal low), not a
zero point. Because the estimate is linear in the probabilities, the mean estimate of many faces is the
estimate of their mean probabilities.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from inference.classes import EMOTIONS

SOURCE = "NRC VAD Lexicon (Mohammad 2018), category names' valence and arousal, rescaled to -1..1"

# class -> (term rated, valence 0..1, arousal 0..1), the lexicon's rows for the classes' names (nouns
# where the lexicon has one: "anger", not "angry"; "neutral" has no noun there)
LEXICON_ROWS: dict[str, tuple[str, float, float]] = {
    "angry": ("anger", 0.167, 0.865),
    "disgust": ("disgust", 0.052, 0.775),
    "fear": ("fear", 0.073, 0.840),
    "happy": ("happiness", 0.960, 0.732),
    "sad": ("sadness", 0.052, 0.288),
    "surprise": ("surprise", 0.875, 0.875),
    "neutral": ("neutral", 0.469, 0.184),
}

# class -> (valence, arousal) on -1..1, in EMOTIONS order
PLACES: dict[str, tuple[float, float]] = {e: (2 * v - 1, 2 * a - 1) for e, (_, v, a) in LEXICON_ROWS.items()}
VALENCE = tuple(PLACES[e][0] for e in EMOTIONS)
AROUSAL = tuple(PLACES[e][1] for e in EMOTIONS)


def valence_arousal(probabilities: Sequence[float] | Mapping[str, float | None]) -> tuple[float, float] | None:
    """(valence, arousal) on -1..1 for one face's (or a mean's) probabilities, in ``EMOTIONS`` order or by
    class name; None when nothing was measured (all None or a zero sum)."""
    by_name = isinstance(probabilities, Mapping)
    values = [probabilities.get(e) for e in EMOTIONS] if by_name else list(probabilities)
    if len(values) != len(EMOTIONS):
        raise ValueError(f"expected {len(EMOTIONS)} probabilities, got {len(values)}")
    if any(v is None for v in values):
        return None
    total = float(sum(values))
    if total <= 0:
        return None
    valence = sum(p * w for p, w in zip(values, VALENCE, strict=True)) / total
    arousal = sum(p * w for p, w in zip(values, AROUSAL, strict=True)) / total
    return valence, arousal
