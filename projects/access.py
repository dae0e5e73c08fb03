"""Who may do what in a project: the one place access is decided.

Pages, the API, websockets, media, exports and the admin's owner-facing actions ask :func:`require`
(or filter with :func:`visible`). A user who is not a member of an object's project gets 404, exactly as
for an id that does not exist (ids of other projects stay unknown); a member whose role lacks the action
gets 403. Staff pass every check (their reads of others' data are audited by the views, their admin
edits by the admin).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, Subquery
from django.http import Http404

from audit.services import Scope
from projects.models import Membership, Project

Role = Membership.Role


class Action(StrEnum):
    VIEW = "view"  # replay, charts, people, summaries, media, exports
    RECORD = "record"  # upload, record, re-analyse, rename a session
    ANNOTATE = "annotate"  # add and delete markers
    SUMMARIZE = "summarize"  # request and cancel summaries
    PEOPLE = "people"  # name, merge, split people; answer suggestions and flags; undo merges
    CONSENT = "consent"  # a person's consent record
    DELETE = "delete"  # delete sessions and people
    MEMBERS = "members"  # add, change and remove members; make and withdraw invitation links
    LOG = "log"  # read the project's audit log (and export it)
    SETTINGS = "settings"  # rename or delete the project, its retention and quota


# role -> the actions it allows (docs/architecture.md, "Projects and roles", shows this table)
ALLOWED: dict[str, frozenset[Action]] = {
    Role.OWNER: frozenset(Action),
    Role.ANALYST: frozenset(
        {Action.VIEW, Action.RECORD, Action.ANNOTATE, Action.SUMMARIZE, Action.PEOPLE, Action.CONSENT}
    ),
    Role.VIEWER: frozenset({Action.VIEW}),
}


def least_role(action: Action) -> str:
    """The lowest role allowing ``action`` (the API schema's ``x-required-role``): viewer, analyst or owner."""
    for role in (Role.VIEWER, Role.ANALYST, Role.OWNER):
        if action in ALLOWED[role]:
            return str(role.value)
    raise ValueError(action)


def allows(role: str | None, action: Action) -> bool:
    return role is not None and action in ALLOWED.get(role, frozenset())


def project_id_of(obj: Any) -> int | None:
    """The project an object belongs to, by its own fields: a project, anything with ``project_id``
    (sessions, people), or what hangs below one (markers, summaries and tracks by their session;
    thumbnails, flags and suggestions by their person; merges by the person kept)."""
    if isinstance(obj, Project):
        return obj.pk
    if getattr(obj, "project_id", None) is not None:
        return obj.project_id
    for parent in ("session", "person", "keep"):
        if getattr(obj, f"{parent}_id", None) is not None:
            return project_id_of(getattr(obj, parent))
    return None


def role_of(user: Any, obj: Any) -> str | None:
    """``user``'s role in the object's project (None: not a member)."""
    if user is None or not user.is_authenticated:
        return None
    project_id = project_id_of(obj)
    if project_id is None:
        return None
    return Membership.objects.filter(project_id=project_id, user_id=user.pk).values_list("role", flat=True).first()


def can(user: Any, obj: Any, action: Action) -> bool:
    if user is None or not user.is_authenticated:
        return False
    return bool(user.is_staff) or allows(role_of(user, obj), action)


def allowed_actions(user: Any, obj: Any) -> frozenset[Action]:
    """Everything ``user`` may do on ``obj`` (one query): pages show only the controls in it."""
    if user is None or not user.is_authenticated:
        return frozenset()
    if user.is_staff:
        return frozenset(Action)
    return ALLOWED.get(role_of(user, obj), frozenset())


def require(user: Any, obj: Any, action: Action) -> None:
    """Return if ``user`` may do ``action`` on ``obj``; Http404 for a non-member, PermissionDenied (403)
    for a member whose role does not allow it."""
    if user is not None and user.is_authenticated and user.is_staff:
        return
    role = role_of(user, obj)
    if role is None:
        raise Http404("not found")
    if not allows(role, action):
        raise PermissionDenied("Your role in this project does not allow this.")


STAFF = "staff"  # an audit entry's role for a staff member acting where they are no member


def audit_scopes(user: Any, objs: Any) -> list[Scope]:
    """For the audit log (registered in projects.apps): each object's project, ``user``'s role there when
    they acted (``staff`` for staff who are not members, "" for none) and whether the project is shared.
    One query for all the objects."""
    ids = [project_id_of(obj) if obj is not None else None for obj in objs]
    known = {pid for pid in ids if pid is not None}
    user_id = user.pk if user is not None and user.is_authenticated else None
    rows: dict[int, tuple[bool, str | None]] = {}
    if known:
        role = Membership.objects.filter(project=OuterRef("pk"), user_id=user_id).values("role")[:1]
        found = Project.objects.filter(pk__in=known).annotate(role=Subquery(role))
        rows = {pk: (personal, role) for pk, personal, role in found.values_list("pk", "personal", "role")}
    fallback = STAFF if user_id is not None and user.is_staff else ""
    out = []
    for pid in ids:
        personal, role = rows.get(pid, (True, None))  # a project gone (or none): no project on the entry
        out.append(Scope(pid if pid in rows else None, role or fallback, shared=pid in rows and not personal))
    return out


def project_ids(user: Any, action: Action = Action.VIEW):
    """The ids of the projects where ``user``'s role allows ``action`` (a subquery)."""
    roles = [role for role, actions in ALLOWED.items() if action in actions]
    return Membership.objects.filter(user_id=user.pk, role__in=roles).values("project_id")


def visible(qs, user: Any, action: Action = Action.VIEW, via: str = "project"):
    """``qs`` narrowed to rows of projects where ``user`` may do ``action`` (``via``: the path to the
    project, e.g. ``session__project``); staff see all, anonymous nothing."""
    if user is None or not user.is_authenticated:
        return qs.none()
    if user.is_staff:
        return qs
    return qs.filter(**{f"{via}__in": project_ids(user, action)})


def projects_for(user: Any, action: Action = Action.VIEW):
    """The projects where ``user`` is a member whose role allows ``action`` (their own, staff too)."""
    return Project.objects.filter(pk__in=project_ids(user, action))
