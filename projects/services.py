"""Projects and their members: making, sharing, leaving; their retention setting. Every change is audited."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction

from audit import services as audit
from projects.access import Action, require
from projects.models import Membership, Project

Role = Membership.Role


class ProjectError(Exception):
    """A refused change, with a message fit to show the user."""


def personal_project(user: Any) -> Project:
    """The user's personal project (made if missing: at sign-up the post_save signal makes it)."""
    found = Project.objects.filter(personal=True, memberships__user_id=user.pk, memberships__role=Role.OWNER).first()
    if found is not None:
        return found
    with transaction.atomic():
        project = Project.objects.create(name=user.get_username()[:100], personal=True)
        Membership.objects.create(project=project, user_id=user.pk, role=Role.OWNER)
    return project


def personal_project_id(user_id: int) -> int:
    found = (
        Membership.objects.filter(user_id=user_id, role=Role.OWNER, project__personal=True)
        .values_list("project_id", flat=True)
        .first()
    )
    return found if found is not None else personal_project(get_user_model().objects.get(pk=user_id)).pk


def lock_project(project_id: int) -> None:
    """Lock the project's row for the transaction: who is who in a project (linking faces at a session's end,
    merges, splits, deletions of people) is decided one writer at a time. Take it before other rows."""
    Project.objects.select_for_update().filter(pk=project_id).first()


NAME_MAX = 100  # Project.name's max_length: the API's schema says the same


def clean_name(name: str) -> str:
    """A project's name with its spaces tidied; ProjectError when nothing is left or it is too long."""
    name = " ".join((name or "").split())
    if not name:
        raise ProjectError("Give the project a name.")
    if len(name) > NAME_MAX:
        raise ProjectError(f"A project's name is at most {NAME_MAX} characters.")
    return name


def create_project(user: Any, name: str, *, request: Any = None) -> Project:
    name = clean_name(name)
    with transaction.atomic():
        project = Project.objects.create(name=name)
        Membership.objects.create(project=project, user=user, role=Role.OWNER)
        audit.record(user, audit.Action.CHANGED, project, request=request, owner_id=user.pk, detail="project created")
    return project


def rename_project(actor: Any, project: Project, name: str, *, request: Any = None) -> Project:
    """Owners rename a project (their personal one too)."""
    require(actor, project, Action.SETTINGS)
    name = clean_name(name)
    if name != project.name:
        old = project.name
        project.name = name
        project.save(update_fields=["name"])
        detail = f"renamed from {old}"
        audit.record(actor, audit.Action.CHANGED, project, request=request, owner_id=actor.pk, detail=detail)
    return project


def _owners(project: Project) -> list[int]:
    return list(project.memberships.filter(role=Role.OWNER).values_list("user_id", flat=True))


def first_owner_id(project: Project) -> int | None:
    """Whose data a project's settings are, for the audit log: its first owner (a personal one's user)."""
    owners = _owners(project)
    return min(owners) if owners else None


def add_member(actor: Any, project: Project, username: str, role: str, *, request: Any = None) -> Membership:
    """Add the user named ``username`` (owners only); an existing member gets the new role."""
    require(actor, project, Action.MEMBERS)
    if role not in Role.values:
        raise ProjectError("Choose owner, analyst or viewer.")
    if project.personal:
        raise ProjectError("A personal project is yours alone; make a shared project to work with others.")
    user = get_user_model().objects.filter(username=(username or "").strip(), is_active=True).first()
    if user is None:
        raise ProjectError("There is no user by that name.")
    with transaction.atomic():
        lock_project(project.pk)
        membership = Membership.objects.filter(project=project, user=user).first()
        demoted = membership is not None and membership.role == Role.OWNER and role != Role.OWNER
        if demoted and _owners(project) == [user.pk]:
            raise ProjectError("A project needs an owner: make someone else an owner first.")
        if membership is None:
            membership = Membership.objects.create(project=project, user=user, role=role)
        else:
            membership.role = role
            membership.save(update_fields=["role"])
        audit.record(
            actor, audit.Action.CHANGED, project, request=request, owner_id=user.pk, detail=f"{user} is {role}"
        )
    return membership


def remove_member(actor: Any, project: Project, user_id: int, *, request: Any = None) -> None:
    """An owner removes a member, or a member leaves (``actor`` is that member). The last owner cannot
    leave nor be removed. What the member recorded stays in the project."""
    if actor.pk != user_id:
        require(actor, project, Action.MEMBERS)
    else:
        require(actor, project, Action.VIEW)
    with transaction.atomic():
        lock_project(project.pk)
        membership = Membership.objects.filter(project=project, user_id=user_id).first()
        if membership is None:
            raise ProjectError("That user is not a member.")
        if project.personal:
            raise ProjectError("Nobody leaves a personal project.")
        if membership.role == Role.OWNER and _owners(project) == [user_id]:
            raise ProjectError("The last owner cannot leave: make someone else an owner first.")
        detail = f"{membership.user} left" if actor.pk == user_id else f"{membership.user} removed"
        membership.delete()
        audit.record(actor, audit.Action.CHANGED, project, request=request, owner_id=user_id, detail=detail)


RETENTION_MAX_DAYS = 36500


def check_retention_days(retention_days: int | None) -> None:
    if retention_days is not None and not (1 <= retention_days <= RETENTION_MAX_DAYS):
        raise ProjectError(f"Keep media between 1 and {RETENTION_MAX_DAYS} days, or leave the field empty.")


def set_retention(
    actor: Any, project: Project, retention_days: int | None, keep_results: bool, *, request: Any = None, via: str = ""
) -> Project:
    """Owners (and staff) set how long the project's session media is kept: the periodic retention task
    applies it to the project's sessions, whoever recorded them. Audited."""
    require(actor, project, Action.SETTINGS)
    check_retention_days(retention_days)
    with transaction.atomic():
        lock_project(project.pk)
        Project.objects.filter(pk=project.pk).update(retention_days=retention_days, retention_keep_results=keep_results)
        project.retention_days, project.retention_keep_results = retention_days, keep_results
        kept = f"{retention_days} days" if retention_days else "forever"
        audit.record(
            actor,
            audit.Action.SETTINGS,
            project,
            request=request,
            owner_id=actor.pk if actor.pk in _owners(project) else first_owner_id(project),
            detail=f"media kept {kept}; results {'kept' if keep_results else 'deleted'} with it"
            + (f" ({via})" if via else ""),
        )
    return project


def delete_project(actor: Any, project: Project, *, request: Any = None) -> None:
    """Owners delete a shared project once it holds no sessions and no people (those are deleted by the
    paths that also remove their files)."""
    require(actor, project, Action.SETTINGS)
    if project.personal:
        raise ProjectError("A personal project goes only with its account.")
    with transaction.atomic():
        lock_project(project.pk)
        if project.sessions.exists() or project.people.exists():
            raise ProjectError("Delete the project's sessions and people first.")
        audit.record(actor, audit.Action.DELETED, project, request=request, owner_id=actor.pk)
        project.delete()


def last_owned_shared(user: Any) -> list[Project]:
    """Shared projects where ``user`` is the only owner and others are members: an account cannot go
    while it holds one."""
    mine = Project.objects.filter(personal=False, memberships__user_id=user.pk, memberships__role=Role.OWNER)
    out = []
    for project in mine.distinct():
        owners = _owners(project)
        if owners == [user.pk] and project.memberships.exclude(user_id=user.pk).exists():
            out.append(project)
    return out


def sole_projects(user: Any) -> list[int]:
    """The projects only ``user`` is a member of (their personal one among them): they go with the account."""
    ids = Membership.objects.filter(user_id=user.pk).values_list("project_id", flat=True)
    return [pid for pid in ids if not Membership.objects.filter(project_id=pid).exclude(user_id=user.pk).exists()]


def shared_projects(user: Any) -> list[Project]:
    """Projects ``user`` is in together with others: what they made there stays when the account goes."""
    ids = set(Membership.objects.filter(user_id=user.pk).values_list("project_id", flat=True)) - set(
        sole_projects(user)
    )
    return list(Project.objects.filter(pk__in=ids))


def heir(project: Project, leaving_user_id: int) -> int:
    """Who takes over the rows a leaving account made in ``project``: its first other owner."""
    owners = [uid for uid in _owners(project) if uid != leaving_user_id]
    if not owners:
        raise ProjectError("The last owner cannot leave: make someone else an owner first.")
    return min(owners)


NOT_YOURS = "You cannot add sessions to that project."


def project_for_new(user: Any, project: Any = None) -> int:
    """The project a new upload or recording of ``user`` goes to: ``project`` (an id, as a form or message
    sends it) when their role there allows recording, else their personal one when none is chosen.
    Http404 for a project they are not in (or none such), PermissionDenied when their role is viewer."""
    if project in (None, ""):
        return personal_project_id(user.pk)
    try:
        found = Project.objects.filter(pk=int(project)).first()
    except (TypeError, ValueError):
        found = None
    if found is None:
        from django.http import Http404

        raise Http404("no such project")
    require(user, found, Action.RECORD)
    return found.pk


def delete_projects(project_ids: list[int]) -> None:
    """Remove emptied projects (their sessions and people already deleted): an account's own ones."""
    Project.objects.filter(pk__in=project_ids).delete()
