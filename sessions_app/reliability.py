"""Which observations count as reliable: the one place that reads the face-quality bar, and the one
switch that decides whether faces below it are counted.

A face whose quality score (:mod:`inference.quality`: size, blur, pose, detection score) is below
``EMOTION_MIN_FACE_QUALITY`` is shaded in the charts, left out of per-person means and summaries
unless the user counts them, and flagged in the exports. Observations stored before quality was
measured have no score and count as reliable.
"""

from __future__ import annotations

from django.conf import settings
from django.db.models import Q

# where the user's choice is remembered: their browser session, so the page's cards, the replay's
# charts, the downloads and a new summary all count the same faces
CHOICE_KEY = "count_all_faces"


def quality_bar() -> float:
    return float(settings.EMOTION_MIN_FACE_QUALITY)


def reliable_q(prefix: str = "") -> Q:
    """Filter for reliable observations (``prefix``: a relation path such as ``"observations__"``)."""
    return Q(**{f"{prefix}quality__isnull": True}) | Q(**{f"{prefix}quality__gte": quality_bar()})


def is_reliable(quality: float | None) -> bool:
    return quality is None or quality >= quality_bar()


def _truthy(value) -> bool:
    return str(value).strip().lower() in ("1", "true", "yes", "on")


def counts_all(request) -> bool:
    """The one switch for counting faces below the quality bar, read by every page, API view, download
    and summary request. An explicit ``all`` (query string, or a posted form field) decides and is
    remembered in a signed-in browser's session; without one, the remembered choice applies (default:
    reliable faces only). Token clients have no browser session: for them ``all`` alone decides."""
    value = request.POST.get("all") if request.method == "POST" else None
    if value is None:
        value = request.GET.get("all")
    session = getattr(request, "session", None)
    remembered = session is not None and session.session_key is not None
    if value is not None:
        choice = _truthy(value)
        if remembered and session.get(CHOICE_KEY) != choice:
            session[CHOICE_KEY] = choice
        return choice
    return bool(session.get(CHOICE_KEY, False)) if remembered else False
