"""Owner and staff actions on a session and its markers: rename, delete (with its media), edit a marker.

Each writes its audit entry here, so the pages, the API and the admin cannot skip it."""

from __future__ import annotations

from typing import Any

from django.core.files.storage import default_storage
from django.db import transaction

from audit import services as audit
from sessions_app.models import Marker, Session


def _via(detail: str, via: str) -> str:
    return f"{detail} ({via})" if via else detail


def rename_session(session: Session, title: str, *, actor: Any = None, request: Any = None, via: str = "") -> Session:
    """Set the title (trimmed, at most 200 characters; empty keeps the old one); audited when it changes."""
    title = (title or "").strip()[:200]
    if not title:
        return session
    with transaction.atomic():
        old = Session.objects.select_for_update().filter(pk=session.pk).values_list("title", flat=True).get()
        session.title = title
        if title != old:
            session.save(update_fields=["title", "updated"])
            audit.record(actor, audit.Action.RENAMED, session, request=request, detail=_via(f"from {old!r}", via))
    return session


def delete_session(session: Session, *, actor: Any = None, request: Any = None, detail: str = "") -> None:
    """Delete the rows (observations, tracks, segments cascade) and then the stored media; audited.

    People stay: they belong to the owner and may appear in other sessions.
    """
    names = {n for n in (session.original.name, session.playable.name) if n}
    with transaction.atomic():
        audit.record(actor, audit.Action.DELETED, session, request=request, detail=detail)
        session.delete()

        def remove_files() -> None:
            for name in names:
                default_storage.delete(name)

        transaction.on_commit(remove_files)


def edit_marker(
    marker: Marker, *, time: float, note: str, actor: Any = None, request: Any = None, via: str = ""
) -> Marker:
    """Change a marker's time and note; the entry names the changed fields (the note is the owner's text)."""
    with transaction.atomic():
        stored = Marker.objects.select_for_update().get(pk=marker.pk)
        changed = [name for name, new in (("time", time), ("note", note)) if getattr(stored, name) != new]
        marker.time, marker.note = time, note
        if changed:
            marker.save(update_fields=changed)
            audit.record_change(actor, marker, changed, request=request, via=via)
    return marker


def delete_marker(marker: Marker, *, actor: Any = None, request: Any = None, via: str = "") -> None:
    with transaction.atomic():
        audit.record(actor, audit.Action.DELETED, marker, request=request, detail=via)
        marker.delete()
