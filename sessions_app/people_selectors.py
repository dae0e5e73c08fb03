"""Read queries for the people pages: each person with thumbnails, sessions seen in and time on screen."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, Prefetch
from django.shortcuts import get_object_or_404

from sessions_app.models import Observation, Person, PersonThumbnail, Session


def visible_people(user: Any):
    qs = Person.objects.all()
    return qs if user.is_staff else qs.filter(owner=user)


def get_person_or_404(user: Any, person_id: Any) -> Person:
    """The person if ``user`` owns it or is staff; 404 otherwise (never 403: ids of others stay unknown)."""
    return get_object_or_404(visible_people(user), pk=person_id)


def _interval(sample_fps: float, source: str) -> float:
    return 1.0 / sample_fps if sample_fps and source != Session.Source.IMAGE else 0.0


def people_overview(owner: Any, person_ids: list[int] | None = None) -> list[Person]:
    """The owner's people by number, each with ``thumbs``, ``appearances`` [{session_id, title, frames,
    seconds}] and ``time_on_screen`` (seconds; sampled frames / sample rate, 0 for images)."""
    qs = Person.objects.filter(owner=owner).prefetch_related(
        Prefetch("thumbnails", queryset=PersonThumbnail.objects.order_by("created"), to_attr="thumbs")
    )
    if person_ids is not None:
        qs = qs.filter(pk__in=person_ids)
    people = list(qs.order_by("number"))
    rows = (
        Observation.objects.filter(person__in=people)
        .values("person", "session", "session__title", "session__sample_fps", "session__source", "session__created")
        .annotate(n=Count("id"))
        .order_by("person", "-session__created")
    )
    seen: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for r in rows:
        seconds = r["n"] * _interval(r["session__sample_fps"], r["session__source"])
        seen[r["person"]].append(
            {"session_id": r["session"], "title": r["session__title"], "frames": r["n"], "seconds": seconds}
        )
    for p in people:
        p.appearances = seen.get(p.pk, [])
        p.time_on_screen = sum(a["seconds"] for a in p.appearances)
        p.frames = sum(a["frames"] for a in p.appearances)
    return people


def person_tracks(person: Person) -> list:
    """The person's tracks with their session, for choosing one to split off."""
    return list(person.tracks.select_related("session").order_by("session__created", "segment_index", "first_time"))
