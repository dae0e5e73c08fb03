"""Read queries for the people pages: each person with thumbnails, sessions seen in and time on screen."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404

from people.models import Person, PersonFlag, PersonMerge, PersonSuggestion, PersonThumbnail
from projects import access
from projects.access import Action
from sessions_app.models import Observation, Session

# The orders of the people page (``?sort=``): key, label; the first is the default.
PEOPLE_SORTS = {"number": "Number", "time": "Time on screen", "seen": "Last seen", "name": "Name"}


def visible_people(user: Any, action: Action = Action.VIEW):
    """People of the projects where ``user``'s role allows ``action`` (staff: all)."""
    return access.visible(Person.objects.all(), user, action)


def get_person_or_404(user: Any, person_id: Any, action: Action = Action.VIEW) -> Person:
    """The person for ``action``: 404 outside its project (ids of other projects stay unknown), 403 for a
    member whose role does not allow it (projects.access.require)."""
    person = get_object_or_404(Person.objects.all(), pk=person_id)
    access.require(user, person, action)
    return person


def page_project(user: Any, project_id: Any = None):
    """The project a people page shows: ``project_id`` if ``user`` is a member (404 otherwise), else
    their personal project."""
    from projects.models import Project
    from projects.services import personal_project

    if project_id in (None, ""):
        return personal_project(user)
    try:
        project = Project.objects.filter(pk=int(project_id)).first()
    except (TypeError, ValueError):
        project = None
    if project is None:
        from django.http import Http404

        raise Http404("no such project")
    access.require(user, project, Action.VIEW)
    return project


def _interval(sample_fps: float, source: str) -> float:
    return 1.0 / sample_fps if sample_fps and source != Session.Source.IMAGE else 0.0


def people_overview(project: Any, person_ids: list[int] | None = None) -> list[Person]:
    """The project's people by number (``project``: a project or its id), each with ``thumbs``,
    ``appearances`` [{session_id, title, frames, seconds, created}] (newest session first),
    ``time_on_screen`` (seconds; sampled frames / sample rate, 0 for images) and ``last_seen`` (when the
    newest session they appear in was made; None: none)."""
    qs = Person.objects.filter(project_id=getattr(project, "pk", project)).prefetch_related(
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
            {
                "session_id": r["session"],
                "title": r["session__title"],
                "frames": r["n"],
                "seconds": seconds,
                "created": r["session__created"],
            }
        )
    for p in people:
        p.appearances = seen.get(p.pk, [])
        p.time_on_screen = sum(a["seconds"] for a in p.appearances)
        p.frames = sum(a["frames"] for a in p.appearances)
        p.last_seen = p.appearances[0]["created"] if p.appearances else None
    return people


def people_page(project: Any, query: str = "", sort: str = "number") -> list[Person]:
    """:func:`people_overview` filtered by a part of the shown name (case-insensitive) and ordered by
    ``sort`` (a key of :data:`PEOPLE_SORTS`; longest on screen and most recently seen first)."""
    people = people_overview(project)
    query = " ".join(query.split()).casefold()
    if query:
        people = [p for p in people if query in p.display_name.casefold()]
    if sort == "time":
        people.sort(key=lambda p: (-p.time_on_screen, p.number))
    elif sort == "seen":
        people.sort(key=lambda p: (p.last_seen is None, -(p.last_seen.timestamp() if p.last_seen else 0), p.number))
    elif sort == "name":
        people.sort(key=lambda p: (p.display_name.casefold(), p.number))
    return people


def visible_merges(user: Any, action: Action = Action.VIEW):
    return access.visible(PersonMerge.objects.all(), user, action, via="keep__project")


def undoable_merges(person: Person) -> list[PersonMerge]:
    """Merges into ``person`` that can still be undone, newest first."""
    return list(PersonMerge.objects.filter(keep=person, undone_at__isnull=True).order_by("-created", "-pk"))


def get_merge_or_404(user: Any, merge_id: Any, action: Action = Action.VIEW) -> PersonMerge:
    merge = get_object_or_404(PersonMerge.objects.select_related("keep"), pk=merge_id)
    access.require(user, merge, action)
    return merge


def person_tracks(person: Person) -> list:
    """The person's tracks with their session, for choosing one to split off."""
    return list(person.tracks.select_related("session").order_by("session__created", "segment_index", "first_time"))


# --------------------------------------------------------------------------- suggestions and flags
def visible_suggestions(user: Any, action: Action = Action.VIEW):
    """Suggestions of the projects where ``user``'s role allows ``action`` (staff: all)."""
    return access.visible(PersonSuggestion.objects.all(), user, action, via="person__project")


def get_suggestion_or_404(user: Any, suggestion_id: Any, action: Action = Action.VIEW) -> PersonSuggestion:
    suggestion = get_object_or_404(PersonSuggestion.objects.select_related("person", "candidate"), pk=suggestion_id)
    access.require(user, suggestion, action)
    return suggestion


def _first_thumbs(prefix: str) -> Prefetch:
    return Prefetch(f"{prefix}__thumbnails", queryset=PersonThumbnail.objects.order_by("created"))


def suggestion_cards(qs, limit: int | None = None) -> list[PersonSuggestion]:
    """Open suggestions of ``qs`` (at most ``limit``) with both people and their first thumbnail
    (``person_thumb``, ``candidate_thumb``; None without one; ``pair`` holds both), newest first."""
    qs = (
        qs.filter(status=PersonSuggestion.Status.OPEN)
        .select_related("person", "candidate", "owner")
        .prefetch_related(_first_thumbs("person"), _first_thumbs("candidate"))
        .order_by("-created", "-pk")
    )
    rows = list(qs[:limit] if limit else qs)
    for s in rows:
        s.person_thumb = next(iter(s.person.thumbnails.all()), None)
        s.candidate_thumb = next(iter(s.candidate.thumbnails.all()), None)
        s.pair = [(s.person, s.person_thumb), (s.candidate, s.candidate_thumb)]
    return rows


def project_suggestions(project: Any) -> list[PersonSuggestion]:
    return suggestion_cards(PersonSuggestion.objects.filter(person__project_id=getattr(project, "pk", project)))


def user_suggestions(user: Any) -> list[PersonSuggestion]:
    """Open suggestions of every project ``user`` is a member of (the API's list; staff's own too)."""
    return suggestion_cards(PersonSuggestion.objects.filter(person__project__in=access.project_ids(user)))


def person_suggestions(person: Person) -> list[PersonSuggestion]:
    """Open suggestions about ``person``, each with ``other`` (the other person) and ``other_thumb``."""
    rows = suggestion_cards(
        PersonSuggestion.objects.filter(person__project_id=person.project_id).filter(
            Q(person_id=person.pk) | Q(candidate_id=person.pk)
        )
    )
    for s in rows:
        mine = s.person_id == person.pk
        s.other, s.other_thumb = (s.candidate, s.candidate_thumb) if mine else (s.person, s.person_thumb)
    return rows


def flagged_people(project: Any) -> list[Person]:
    """The project's people with an open "possibly several people" flag."""
    flagged = PersonFlag.objects.filter(status=PersonFlag.Status.OPEN, kind=PersonFlag.Kind.SPLIT)
    people = Person.objects.filter(project_id=getattr(project, "pk", project), flags__in=flagged)
    return list(people.distinct().order_by("number"))


def flag_groups(person: Person, tracks: list) -> tuple[PersonFlag | None, list[list]]:
    """The person's open flag and its groups as the person's tracks (tracks split off since are left out;
    groups left with no track are dropped)."""
    flag = PersonFlag.objects.filter(person=person, status=PersonFlag.Status.OPEN, kind=PersonFlag.Kind.SPLIT).first()
    if flag is None:
        return None, []
    by_id = {t.pk: t for t in tracks}
    groups = [[by_id[t] for t in group if t in by_id] for group in flag.groups]
    return flag, [g for g in groups if g]
