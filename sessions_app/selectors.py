"""Read queries of the sessions app."""

from __future__ import annotations

from typing import Any

from django.db.models import Avg, Count, Prefetch
from django.shortcuts import get_object_or_404

from inference.classes import EMOTIONS
from sessions_app.models import Person, PersonThumbnail, Session


def _visible(user: Any):
    qs = Session.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)


def owned_session(user: Any, session_id: Any) -> Session | None:
    """The session if ``user`` may see it (owner or staff), else None: callers answer 404."""
    try:
        return _visible(user).filter(pk=int(session_id)).first()
    except (TypeError, ValueError):
        return None


def get_session_or_404(user: Any, session_id: Any) -> Session:
    return get_object_or_404(_visible(user), pk=session_id)


def sessions_for(user: Any) -> list[Session]:
    """The user's sessions, newest first, each with ``people_list`` (people seen, with thumbnails)."""
    sessions = list(Session.objects.filter(owner=user).order_by("-created"))
    if not sessions:
        return sessions
    people = (
        Person.objects.filter(tracks__session__in=sessions)
        .distinct()
        .prefetch_related(Prefetch("thumbnails", queryset=PersonThumbnail.objects.order_by("created")))
    )
    by_id = {p.pk: p for p in people}
    seen: dict[int, list[Person]] = {s.pk: [] for s in sessions}
    pairs = (
        Session.objects.filter(pk__in=seen, tracks__person__isnull=False).values_list("pk", "tracks__person").distinct()
    )
    for session_id, person_id in pairs:
        if person_id in by_id:
            seen[session_id].append(by_id[person_id])
    for s in sessions:
        s.people_list = sorted(seen[s.pk], key=lambda p: p.number)
    return sessions


def session_people(session: Session) -> list[dict[str, Any]]:
    """Per person seen in the session: time on screen, mean probabilities, dominant emotion, attention."""
    rows = (
        session.observations.values("person")
        .annotate(n=Count("id"), attention=Avg("attention"), **{f"p_{e}": Avg(e) for e in EMOTIONS})
        .order_by("-n")
    )
    people = {
        p.pk: p
        for p in Person.objects.filter(pk__in=[r["person"] for r in rows if r["person"]]).prefetch_related("thumbnails")
    }
    interval = 1.0 / session.sample_fps if session.sample_fps and session.source != Session.Source.IMAGE else 0.0
    out = []
    for r in rows:
        probs = {e: float(r[f"p_{e}"] or 0.0) for e in EMOTIONS}
        person = people.get(r["person"])
        thumb = person.thumbnails.all()[0] if person is not None and person.thumbnails.all() else None
        out.append(
            {
                "person": person,
                "name": person.display_name if person else "Unidentified face",
                "thumbnail": thumb,
                "frames": r["n"],
                "time_on_screen": r["n"] * interval,
                "probabilities": probs,
                "probability_rows": [(e, probs[e], round(probs[e] * 100)) for e in EMOTIONS],
                "dominant": max(probs, key=probs.get),
                "attention": float(r["attention"] or 0.0),
            }
        )
    return out
