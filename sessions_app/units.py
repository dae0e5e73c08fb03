"""How figures are shown: one rounding for percentages and the one definition of attention.

Attention is computed per face in :mod:`inference.attention` (a 0..1 score); everywhere a person
reads it (session page, summaries) it is a whole percentage rounded by :func:`percent`, so a
category decided on the shown figure never disagrees with it.
"""

from __future__ import annotations

import math

ATTENTION_DEFINITION = (
    "Attention is how squarely a face looks at the camera with open eyes: 100% while the head is within "
    "10° of facing the camera and the eyes are open, falling to 0% at 45° of turn, 35° of tilt or with the "
    "eyes closed. A person's attention is the mean over their faces that are counted."
)


def percent(value: float) -> int:
    """``value`` (0..1) as a whole percentage, halves rounded up (not to even, as ``round`` would)."""
    return int(math.floor(value * 100 + 0.5 + 1e-9))


def percent_text(value: float) -> str:
    return f"{percent(value)}%"


def plural(count: int, word: str, words: str | None = None) -> str:
    """``1 frame``, ``2 frames``."""
    return f"{count} {word if count == 1 else (words or word + 's')}"
