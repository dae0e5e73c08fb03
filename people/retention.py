"""Media retention: each user's setting says how many days session media is kept; a periodic task applies it.

Deleting media removes the stored files (after commit) and marks the session (``media_deleted``); the
analysis results stay unless the user chose not to keep them, in which case the whole session goes, and
with it the people seen in it who are in no other session (their face thumbnails and descriptors too).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from people import services as people
from people.models import UserSettings
from projects.services import lock_project
from sessions_app.models import Observation, Session, Track
from sessions_app.services.media import RUNNING, delete_media


def delete_session_and_its_people(session: Session, *, reason: str) -> int:
    """Delete the session, then its people left in no session; returns how many people went. One
    transaction, the project's row locked first (as people's writes do), so a failure leaves both."""
    from sessions_app.services.manage import delete_session

    with transaction.atomic():
        lock_project(session.project_id)
        seen = set(Track.objects.filter(session=session, person__isnull=False).values_list("person_id", flat=True))
        seen |= set(
            Observation.objects.filter(session=session, person__isnull=False)
            .values_list("person_id", flat=True)
            .distinct()
        )
        delete_session(session, detail=reason)
        return people.delete_people_in_no_session(
            session.project_id, seen, reason=f"in no session any more: their sessions were {reason}"
        )


def apply_retention(now=None) -> dict[str, int]:
    """Apply every user's retention setting once; returns counts (the periodic task's result)."""
    now = now or timezone.now()
    counts = {"media_deleted": 0, "sessions_deleted": 0, "people_deleted": 0}
    for prefs in UserSettings.objects.filter(retention_days__isnull=False).select_related("user"):
        cutoff = now - timedelta(days=prefs.retention_days)
        # a user's setting covers their personal project only: in a shared project it is not theirs alone
        old = Session.objects.filter(project__personal=True, project__memberships__user=prefs.user)
        old = old.filter(created__lt=cutoff).exclude(status__in=RUNNING)
        reason = f"older than {prefs.retention_days} days (retention)"
        if prefs.retention_keep_results:
            for session in old.filter(media_deleted__isnull=True):
                counts["media_deleted"] += delete_media(session, reason=reason)
        else:
            for session in old:
                counts["people_deleted"] += delete_session_and_its_people(session, reason=reason)
                counts["sessions_deleted"] += 1
    return counts
