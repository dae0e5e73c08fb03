"""Suggestions "possibly the same person" and the owner's answers to them.

The identity step (``analysis.finalize_session``) calls :func:`suggest` when it is not confident enough
to link a face to a known person (``inference.identity`` outcome MAYBE). The owner confirms (the two
people are merged) or rejects; a rejected pair is remembered: :func:`suggest` never reopens it and the
identity step never links one of the two to the other automatically (:func:`rejected_pairs`).
"""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from audit import services as audit
from people.models import Person, PersonSuggestion
from people.services import PeopleError, merge_people
from projects.models import Project

Status = PersonSuggestion.Status


def _pair(project_id: int, a: int, b: int):
    return PersonSuggestion.objects.filter(person__project_id=project_id).filter(
        Q(person_id=a, candidate_id=b) | Q(person_id=b, candidate_id=a)
    )


def suggest(person: Person, candidate: Person, score: float, margin: float) -> PersonSuggestion | None:
    """Open a suggestion that ``candidate`` may be ``person``; None when the pair was already answered.

    An open suggestion of the same pair keeps its row (its score is refreshed when the new one is closer).
    """
    if person.pk == candidate.pk or person.project_id != candidate.project_id:
        return None
    existing = _pair(person.project_id, person.pk, candidate.pk).first()
    if existing is not None:
        if existing.status != Status.OPEN:
            return None
        if score < existing.score:
            existing.score, existing.margin = float(score), float(margin)
            existing.save(update_fields=["score", "margin"])
        return existing
    try:
        with transaction.atomic():
            return PersonSuggestion.objects.create(
                owner_id=person.owner_id, person=person, candidate=candidate, score=float(score), margin=float(margin)
            )
    except IntegrityError:  # made at the same moment by another finalize
        return _pair(person.project_id, person.pk, candidate.pk).filter(status=Status.OPEN).first()


def _project_id(project: Any) -> int:
    # a project or its id; anything else (a user, as before projects) is a TypeError, never a wrong id
    return project.pk if isinstance(project, Project) else int(project)


def rejected_pairs(project: Any) -> set[frozenset[int]]:
    """The project's pairs of people marked "not the same" (person ids); ``project``: a project or its id."""
    rows = PersonSuggestion.objects.filter(person__project_id=_project_id(project), status=Status.REJECTED)
    return {frozenset(pair) for pair in rows.values_list("person_id", "candidate_id")}


def open_suggestions(project: Any):
    """The project's open suggestions, newest first, with both people loaded."""
    return (
        PersonSuggestion.objects.filter(person__project_id=_project_id(project), status=Status.OPEN)
        .select_related("person", "candidate")
        .order_by("-created", "-pk")
    )


def _decided(suggestion: PersonSuggestion, status: str, actor: Any) -> PersonSuggestion:
    locked = PersonSuggestion.objects.select_for_update().filter(pk=suggestion.pk).first()
    if locked is None:
        raise PeopleError("This suggestion no longer exists.")
    if locked.status != Status.OPEN:
        raise PeopleError("This suggestion was already answered.")
    locked.status, locked.decided_at = status, timezone.now()
    locked.decided_by = actor if getattr(actor, "is_authenticated", False) else None
    locked.save(update_fields=["status", "decided_at", "decided_by"])
    return locked


def confirm(suggestion: PersonSuggestion, actor: Any = None, *, request: Any = None) -> Person:
    """The two are the same: merge the candidate into the person (services.people.merge_people)."""
    with transaction.atomic():
        locked = _decided(suggestion, Status.CONFIRMED, actor)
        keep, other = locked.person, locked.candidate
        merge_people(keep, other, actor=actor, request=request)  # deletes ``other`` and its suggestions
    return Person.objects.get(pk=keep.pk)


def reject(suggestion: PersonSuggestion, actor: Any = None, *, request: Any = None) -> PersonSuggestion:
    """The two are different people: remember it (never suggested again, never linked automatically)."""
    with transaction.atomic():
        locked = _decided(suggestion, Status.REJECTED, actor)
        audit.record(
            actor,
            audit.Action.NOT_SAME,
            locked.person,
            request=request,
            detail=f"{locked.candidate.display_name} (#{locked.candidate_id}) is not the same person",
        )
    return locked


def move_answers(keep: Person, other: Person) -> None:
    """Before ``other`` is merged into ``keep``: its suggestions become ``keep``'s, so a rejection stays.

    Pairs that would become (keep, keep) go; where ``keep`` already has a row for the same third person,
    a rejection wins over an open suggestion.
    """
    rows = PersonSuggestion.objects.select_for_update().filter(Q(person=other) | Q(candidate=other))
    for row in rows:
        third = row.candidate_id if row.person_id == other.pk else row.person_id
        if third == keep.pk:
            row.delete()
            continue
        existing = _pair(keep.project_id, keep.pk, third).first()
        if existing is not None:
            if row.status == Status.REJECTED and existing.status != Status.REJECTED:
                existing.status, existing.decided_at, existing.decided_by = row.status, row.decided_at, row.decided_by
                existing.save(update_fields=["status", "decided_at", "decided_by"])
            row.delete()
            continue
        if row.person_id == other.pk:
            row.person = keep
        else:
            row.candidate = keep
        row.save(update_fields=["person", "candidate"])
