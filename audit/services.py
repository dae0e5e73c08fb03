"""The audit log: one row per view, export or change of a user's data.

Writes are audited inside the services (pages, API and admin call the same function, so none can skip
the entry); reads of another user's data are audited by the views that show it, through
:func:`record_read` (the server decides, once per viewer, object and kind per window; owners' own reads
write nothing). An entry names what changed, never the values of secrets. When a user row is deleted,
by any path, :func:`forget_user` runs first (a ``pre_delete`` signal, see apps.py): entries about the
user's own data go with it, entries the user wrote about other people's data stay with the actor
replaced by :func:`pseudonym`.

Every entry also carries its object's project and the actor's role there (:class:`Scope`). This room
knows no projects: ``projects`` registers the function that finds them (:func:`set_scope_resolver`, in
its ``ready``), as a higher room answers a lower one's signal. Reads of one's own data are not audited
in a personal project; in a shared one every member's read is (the project's owners read its log).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.crypto import salted_hmac

from audit.models import AuditEntry
from emotionsite.csvstream import csv_lines

Action = AuditEntry.Action


class Read(StrEnum):
    """The kind of another user's data a read showed: the entry's detail, and part of its once-a-window key."""

    RESULTS = "results"  # a session's page, its API reads (status, people, timeline, markers), its admin page
    SUMMARIES = "summaries"  # summary texts (the session page's panel, the API; the prompt too in the admin)
    MEDIA = "media"  # the original or playable file
    FACES = "faces"  # a person's page, face thumbnails, the admin's person page and Name faces


# pg_advisory_xact_lock(namespace, actor): one reader's simultaneous requests (a replay page loads its
# charts at once) are checked one after the other, so they write one entry, not one each
READ_LOCK_NAMESPACE = 0x41554454


@dataclass(frozen=True)
class Scope:
    """Where an entry belongs: its object's project and the actor's role there ("staff" for a staff
    member who is not a member, "" for none). ``shared``: the project is not a personal one, so even
    reads of one's own rows there are audited."""

    project_id: int | None = None
    role: str = ""
    shared: bool = False


# (actor, objects) -> one Scope per object (None: no object); set by projects (projects.apps.ready)
ScopeResolver = Callable[[Any, Sequence[Model | None]], list[Scope]]
_resolver: ScopeResolver | None = None


def set_scope_resolver(resolver: ScopeResolver | None) -> None:
    """Register how entries find their project and the actor's role (``projects`` does, at start-up)."""
    global _resolver
    _resolver = resolver


def scopes(actor: Any, objs: Sequence[Model | None]) -> list[Scope]:
    if _resolver is None or not objs:
        return [Scope() for _ in objs]
    return _resolver(actor, objs)


def client_ip(request: Any) -> str | None:
    """The client address as Django sees it (REMOTE_ADDR: see emotionsite/proxy.py for trusted proxies)."""
    if request is None:
        return None
    ip = (getattr(request, "META", {}) or {}).get("REMOTE_ADDR") or ""
    return ip or None


def _owner_id(obj: Model | None) -> int | None:
    # by the rows' own fields, so the log knows no room above it: sessions and people have an owner,
    # settings a user; tracks, markers, summaries and thumbnails belong to their session's or person's owner
    found = getattr(obj, "owner_id", None) or getattr(obj, "user_id", None)
    for parent in ("session", "person"):
        if found is None and getattr(obj, f"{parent}_id", None) is not None:
            found = getattr(obj, parent).owner_id
    return found


def record(
    actor: Any,
    action: str,
    obj: Model | None = None,
    *,
    request: Any = None,
    object_type: str = "",
    object_id: Any = "",
    object_repr: str = "",
    owner_id: int | None = None,
    detail: str = "",
) -> AuditEntry:
    """Write one entry; ``obj`` gives type, id, label and owner unless they are passed, and (through
    the registered resolver) the project and the actor's role there."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
        owner_id = owner_id if owner_id is not None else _owner_id(obj)
    (scope,) = scopes(actor, [obj])
    return AuditEntry.objects.create(
        actor_id=_actor_id(actor),
        owner_id=owner_id,
        project_id=scope.project_id,
        actor_role=scope.role,
        action=action,
        object_type=object_type[:40],
        object_id=str(object_id or "")[:40],
        object_repr=(object_repr or "")[:200],
        detail=(detail or "")[:500],
        ip=client_ip(request),
    )


def _actor_id(actor: Any) -> int | None:
    return getattr(actor, "pk", None) if actor is not None and getattr(actor, "is_authenticated", False) else None


def record_read(actor: Any, obj: Model, *, what: str, request: Any = None, action: str = Action.VIEWED) -> bool:
    """Audit ``actor`` reading ``obj`` unless it is their own row outside a shared project, or they read
    it the same way within the window.

    ``what`` is a :class:`Read` (an export passes its file name with ``action=EXPORTED``). Only the
    server's view of who reads what counts: nothing the client sends can skip the entry. True when
    an entry was written."""
    return bool(record_reads(actor, [obj], what=what, request=request, action=action))


def record_reads(
    actor: Any, objs: Iterable[Model], *, what: str, request: Any = None, action: str = Action.VIEWED
) -> list[AuditEntry]:
    """:func:`record_read` for every object a page shows at once (one query, one insert)."""
    actor_id = _actor_id(actor)
    if actor_id is None:
        return []
    detail = str(what)[:500]
    objs = list({(o._meta.model_name, str(o.pk)): o for o in objs}.values())
    unseen = {}
    for obj, scope in zip(objs, scopes(actor, objs), strict=True):
        owner_id = _owner_id(obj)
        if owner_id != actor_id or scope.shared:  # one's own data outside shared projects: no entry
            unseen[(obj._meta.model_name, str(obj.pk))] = (obj, owner_id, scope)
    if not unseen:
        return []
    window = settings.EMOTION_AUDIT_READ_WINDOW_MINUTES
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [READ_LOCK_NAMESPACE, actor_id])
        if window > 0:
            seen = AuditEntry.objects.filter(
                actor_id=actor_id,
                action=action,
                detail=detail,
                created__gte=timezone.now() - timedelta(minutes=window),
                object_type__in={t for t, _ in unseen},
                object_id__in={i for _, i in unseen},
            ).values_list("object_type", "object_id")
            for key in seen:
                unseen.pop(key, None)
        ip = client_ip(request)
        return AuditEntry.objects.bulk_create(
            AuditEntry(
                actor_id=actor_id,
                owner_id=owner_id,
                project_id=scope.project_id,
                actor_role=scope.role,
                action=action,
                object_type=object_type[:40],
                object_id=object_id[:40],
                object_repr=str(obj)[:200],
                detail=detail,
                ip=ip,
            )
            for (object_type, object_id), (obj, owner_id, scope) in unseen.items()
        )


def record_change(
    actor: Any,
    obj: Model,
    fields: Iterable[str],
    *,
    request: Any = None,
    created: bool = False,
    owner_id: int | None = None,
    via: str = "admin",
) -> AuditEntry:
    """An edit of ``obj`` that has no more specific action: the names of the changed fields, never values."""
    names = ", ".join(sorted(set(fields))) or "no field"
    detail = f"{'added' if created else 'changed'}: {names}" + (f" ({via})" if via else "")
    return record(actor, Action.CHANGED, obj, request=request, owner_id=owner_id, detail=detail)


def pseudonym(user_id: int) -> str:
    """A deleted actor's stand-in: the same for all their entries, not traceable back without SECRET_KEY."""
    return "deleted-user-" + salted_hmac("emotionsite.audit.deleted-actor", str(user_id)).hexdigest()[:16]


def forget_user(user: Any) -> None:
    """Before ``user`` is deleted: drop the entries about their own data, pseudonymise them as an actor."""
    AuditEntry.objects.filter(owner_id=user.pk).delete()
    AuditEntry.objects.filter(actor_id=user.pk).update(actor=None, actor_pseudonym=pseudonym(user.pk))


def entries_for(user: Any):
    """What a user may read of the log: what they did and what was done to their data."""
    from django.db.models import Q

    return AuditEntry.objects.filter(Q(actor=user) | Q(owner=user)).select_related("actor", "owner")


def entries_of_project(project_id: int, action: str = ""):
    """A project's log (its owners read it: projects.views), newest first, optionally one action's."""
    qs = AuditEntry.objects.filter(project_id=project_id).select_related("actor", "owner")
    return qs.filter(action=action) if action else qs


LOG_COLUMNS = ["created", "actor", "role", "action", "object_type", "object_id", "object", "owner", "detail", "ip"]


def entries_csv(entries) -> Iterator[str]:
    """``entries`` as CSV lines, read in chunks (a project's whole log is streamed, never held)."""
    rows = (
        {
            "created": e.created.isoformat(timespec="seconds"),
            "actor": e.actor_label,
            "role": e.actor_role,
            "action": e.action,
            "object_type": e.object_type,
            "object_id": e.object_id,
            "object": e.object_repr,
            "owner": e.owner.get_username() if e.owner is not None else "",
            "detail": e.detail,
            "ip": e.ip,
        }
        for e in entries.iterator(chunk_size=500)
    )
    return csv_lines(LOG_COLUMNS, rows)
