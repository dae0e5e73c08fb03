"""Media retention: each user's setting says how many days session media is kept; a periodic task applies it.

Deleting media removes the stored files (after commit) and marks the session (``media_deleted``); the
analysis results stay unless the user chose not to keep them, in which case the whole session goes.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone

from sessions_app.models import Session, UserSettings
from sessions_app.services import audit
from sessions_app.services.people import delete_files_on_commit

RUNNING = (Session.Status.RECEIVING, Session.Status.QUEUED, Session.Status.ANALYSING)


def delete_media(session: Session, *, actor: Any = None, request: Any = None, reason: str = "") -> bool:
    """Remove the session's stored files, keep its rows; False when there was nothing to remove."""
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session.pk).first()
        if session is None:
            return False
        names = [n for n in (session.original.name, session.playable.name) if n]
        if not names and session.media_deleted:
            return False
        session.original, session.playable = "", ""
        session.media_deleted = timezone.now()
        session.stored_bytes = 0  # no longer counted against the owner's storage quota
        session.save(update_fields=["original", "playable", "media_deleted", "stored_bytes", "updated"])
        audit.record(actor, audit.Action.MEDIA_DELETED, session, request=request, detail=reason)
        delete_files_on_commit(names)
    return True


def apply_retention(now=None) -> dict[str, int]:
    """Apply every user's retention setting once; returns counts (the periodic task's result)."""
    from sessions_app.services.manage import delete_session

    now = now or timezone.now()
    counts = {"media_deleted": 0, "sessions_deleted": 0}
    for prefs in UserSettings.objects.filter(retention_days__isnull=False).select_related("user"):
        cutoff = now - timedelta(days=prefs.retention_days)
        old = Session.objects.filter(owner=prefs.user, created__lt=cutoff).exclude(status__in=RUNNING)
        reason = f"older than {prefs.retention_days} days (retention)"
        if prefs.retention_keep_results:
            for session in old.filter(media_deleted__isnull=True):
                counts["media_deleted"] += delete_media(session, reason=reason)
        else:
            for session in old:
                delete_session(session, detail=reason)
                counts["sessions_deleted"] += 1
    return counts
