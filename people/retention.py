"""Media retention: each project's setting (its owners', on the project page; the personal project's also on the
privacy page) says how many days its sessions' media is kept; a periodic task applies it.

Deleting media removes the stored files (after commit) and marks the session (``media_deleted``); the
analysis results stay unless the user chose not to keep them, in which case the whole session goes, and
with it the people seen in it who are in no other session (their face thumbnails and descriptors too).
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from people import services as people
from projects.models import Project
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
    """Apply every project's retention setting to its sessions once; returns counts (the periodic task's
    result)."""
    now = now or timezone.now()
    counts = {"media_deleted": 0, "sessions_deleted": 0, "people_deleted": 0}
    for project in Project.objects.filter(retention_days__isnull=False):
        cutoff = now - timedelta(days=project.retention_days)
        old = Session.objects.filter(project=project, created__lt=cutoff).exclude(status__in=RUNNING)
        reason = f"older than {project.retention_days} days (retention)"
        if project.retention_keep_results:
            for session in old.filter(media_deleted__isnull=True):
                counts["media_deleted"] += delete_media(session, reason=reason)
        else:
            for session in old:
                counts["people_deleted"] += delete_session_and_its_people(session, reason=reason)
                counts["sessions_deleted"] += 1
    return counts
