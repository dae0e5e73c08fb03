"""The audit log: one row per view, export or change of a user's data, written by views, services and the admin."""

from __future__ import annotations

from typing import Any

from django.db.models import Model

from sessions_app.models import AuditEntry, Person, Session, Track

Action = AuditEntry.Action


def client_ip(request: Any) -> str | None:
    """The client address as Django sees it (REMOTE_ADDR: see emotionsite/proxy.py for trusted proxies)."""
    if request is None:
        return None
    ip = (getattr(request, "META", {}) or {}).get("REMOTE_ADDR") or ""
    return ip or None


def _owner_id(obj: Model | None) -> int | None:
    if isinstance(obj, Session | Person):
        return obj.owner_id
    if isinstance(obj, Track):
        return obj.session.owner_id
    return getattr(obj, "owner_id", None) or getattr(obj, "user_id", None)


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
    """Write one entry; ``obj`` gives type, id, label and owner unless they are passed."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
        object_id = object_id or obj.pk
        object_repr = object_repr or str(obj)
        owner_id = owner_id if owner_id is not None else _owner_id(obj)
    actor_id = getattr(actor, "pk", None) if actor is not None and getattr(actor, "is_authenticated", False) else None
    return AuditEntry.objects.create(
        actor_id=actor_id,
        owner_id=owner_id,
        action=action,
        object_type=object_type[:40],
        object_id=str(object_id or "")[:40],
        object_repr=(object_repr or "")[:200],
        detail=(detail or "")[:500],
        ip=client_ip(request),
    )


def entries_for(user: Any):
    """What a user may read of the log: what they did and what was done to their data."""
    from django.db.models import Q

    return AuditEntry.objects.filter(Q(actor=user) | Q(owner=user)).select_related("actor", "owner")
