"""The seven emotion classes, in the one canonical order used everywhere.

Index ``i`` of every probability vector, label tensor and weights file means
``EMOTIONS[i]``. Anything that receives class names in another order (the
alphabetical folders of FER-2013, the FER+ vote columns) maps them by name
through :func:`index_of`, never by position.
"""

from __future__ import annotations

EMOTIONS: tuple[str, ...] = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")

_ALIASES = {
    "anger": "angry",
    "disgusted": "disgust",
    "fearful": "fear",
    "happiness": "happy",
    "sadness": "sad",
    "surprised": "surprise",
}


def index_of(name: str) -> int:
    """Canonical index of a class name (case-insensitive, common synonyms accepted)."""
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    try:
        return EMOTIONS.index(key)
    except ValueError:
        raise KeyError(f"unknown emotion class {name!r}; expected one of {', '.join(EMOTIONS)}") from None
