"""Which observations count as reliable: the one place that reads the face-quality bar.

A face whose quality score (:mod:`inference.quality`: size, blur, pose, detection score) is below
``EMOTION_MIN_FACE_QUALITY`` is shaded in the charts, left out of per-person means and summaries
unless asked for, and flagged in the exports. Observations stored before quality was measured have
no score and count as reliable.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q


def quality_bar() -> float:
    return float(settings.EMOTION_MIN_FACE_QUALITY)


def reliable_q(prefix: str = "") -> Q:
    """Filter for reliable observations (``prefix``: a relation path such as ``"observations__"``)."""
    return Q(**{f"{prefix}quality__isnull": True}) | Q(**{f"{prefix}quality__gte": quality_bar()})


def is_reliable(quality: float | None) -> bool:
    return quality is None or quality >= quality_bar()


def wants_all(params) -> bool:
    """The toggle that also counts faces below the bar: ``?all=1`` (pages and API)."""
    return str(params.get("all", "")).strip().lower() in ("1", "true", "yes", "on")
