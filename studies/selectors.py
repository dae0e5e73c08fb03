"""Reads of a study for the page and the API: the project (access checked), its participants with their
people, conditions with where they apply, event types and baseline settings."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404

from people.models import Person
from projects import access
from projects.access import Action
from projects.models import Project
from sessions_app.models import Session
from studies.models import Condition, Participant, ParticipantLink, SessionCondition
from studies.services.aggregate import MEASURES, study_settings
from studies.services.compare import event_types


def project_or_404(user: Any, project_id: Any, action: Action = Action.VIEW) -> Project:
    """The project if ``user`` may do ``action`` there: 404 for a non-member, 403 for a role without it."""
    project = get_object_or_404(Project, pk=project_id)
    access.require(user, project, action)
    return project


def participant_or_404(project: Project, participant_id: Any) -> Participant:
    return get_object_or_404(Participant, pk=participant_id, project=project)


def condition_or_404(project: Project, condition_id: Any) -> Condition:
    return get_object_or_404(Condition, pk=condition_id, project=project)


def assignment_or_404(project: Project, assignment_id: Any) -> SessionCondition:
    return get_object_or_404(SessionCondition, pk=assignment_id, condition__project=project)


def participants(project: Project, names: bool = True) -> list[dict[str, Any]]:
    links: dict[int, list[dict]] = {}
    rows = ParticipantLink.objects.filter(participant__project=project).select_related("person")
    for link in rows.order_by("person__number"):
        person = {"id": link.person_id, "number": link.person.number}
        if names:
            person["name"] = link.person.display_name
        links.setdefault(link.participant_id, []).append(person)
    return [
        {"id": p.pk, "code": p.code, "note": p.note, "people": links.get(p.pk, [])}
        for p in Participant.objects.filter(project=project).order_by("code")
    ]


def conditions(project: Project) -> list[dict[str, Any]]:
    assigned: dict[int, list[dict]] = {}
    rows = SessionCondition.objects.filter(condition__project=project).select_related("session")
    for sc in rows.order_by("session__created", "start", "pk"):
        assigned.setdefault(sc.condition_id, []).append(assignment(sc))
    return [
        {"id": c.pk, "label": c.label, "sessions": assigned.get(c.pk, [])}
        for c in Condition.objects.filter(project=project).order_by("label")
    ]


def assignment(sc: SessionCondition) -> dict[str, Any]:
    return {
        "id": sc.pk,
        "condition": sc.condition.label,
        "session": sc.session_id,
        "session_title": sc.session.title,
        "start": sc.start,
        "end": sc.end,
    }


def baseline_settings(project: Project) -> dict[str, Any]:
    s = study_settings(project)
    return {
        "mode": s.mode,
        "op": s.op,
        "first_seconds": s.first_seconds,
        "start_label": s.start_label,
        "end_label": s.end_label,
        "condition": s.condition.label if s.condition_id else None,
    }


def overview(project: Project, names: bool = True) -> dict[str, Any]:
    return {
        "project": project.pk,
        "measures": MEASURES,
        "participants": participants(project, names),
        "conditions": conditions(project),
        "event_types": event_types(project),
        "baseline": baseline_settings(project),
    }


def project_people(project: Project):
    return Person.objects.filter(project=project).select_related("participant_link__participant").order_by("number")


def project_sessions(project: Project):
    return Session.objects.filter(project=project).order_by("-created")


def session_or_404(project: Project, session_id: Any) -> Session:
    return get_object_or_404(Session, pk=session_id, project=project)
