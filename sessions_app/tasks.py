from __future__ import annotations

import logging
import os
import random
import socket

from celery import shared_task
from celery.signals import worker_ready

from sessions_app import services


@shared_task(name="sessions_app.record_heartbeat", acks_late=True)
def record_heartbeat(note: str = "") -> int:
    """Write one heartbeat row; returns its primary key."""
    return services.record_heartbeat(note, worker=socket.gethostname()).pk


def _worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _retry_db_errors() -> tuple[type[Exception], ...]:
    from django.db import InterfaceError, OperationalError

    return (OperationalError, InterfaceError)


@shared_task(
    name="sessions_app.analyse_segment",
    acks_late=True,
    bind=True,
    # A PostgreSQL restart: retry with backoff and jitter (about 1, 2, 4 … s, at most 30 s apart)
    max_retries=10,
    default_retry_delay=1,
)
def analyse_segment(self, session_id: int, segment_index: int) -> str:
    """Analyse one segment of a stored session (idempotent; the last one finalizes the session)."""
    from django.db import close_old_connections

    from sessions_app.services import analysis

    try:
        return analysis.analyse_segment(session_id, segment_index, worker=_worker_name())
    except _retry_db_errors() as exc:
        close_old_connections()  # the broken connection goes; the retry opens a new one
        delay = min(30.0, 2.0**self.request.retries) * random.uniform(0.5, 1.0)
        logging.getLogger(__name__).warning("segment %s/%s: database unavailable (%s)", session_id, segment_index, exc)
        raise self.retry(exc=exc, countdown=delay) from None


@shared_task(name="sessions_app.prepare_playable", acks_late=True)
def prepare_playable(session_id: int) -> str:
    """Store a browser-playable H.264 MP4 of an upload that browsers cannot play as it is."""
    from sessions_app.services import playable

    return playable.prepare_playable(session_id)


@shared_task(name="sessions_app.finalize_video", acks_late=True)
def finalize_video(session_id: int) -> bool:
    """Run the identity step of a session whose segments are all done (normally done inline)."""
    from sessions_app.services import analysis

    return analysis.maybe_finalize(session_id)


@shared_task(name="sessions_app.reclaim_segments")
def reclaim_segments() -> int:
    """Re-queue segments whose worker died (expired lease)."""
    from sessions_app.services import analysis

    return len(analysis.reclaim_expired_segments())


@worker_ready.connect
def _reclaim_on_start(**kwargs) -> None:
    """A worker that starts after a crash picks up the segments whose lease lapsed."""
    from django.conf import settings

    try:
        reclaim_segments.delay()
        # Leases held on other hosts (or by processes we cannot see) lapse later: look once more then.
        reclaim_segments.apply_async(countdown=settings.EMOTION_SEGMENT_LEASE_SECONDS + 1)
    except Exception:  # noqa: BLE001 - the broker may still be starting; the next segment reclaims too
        logging.getLogger(__name__).warning("could not queue the lease reclaim", exc_info=True)


@shared_task(name="sessions_app.clean_staging")
def clean_staging() -> int:
    """Delete unfinished uploads untouched for EMOTION_STAGING_MAX_AGE_HOURS (run by Celery beat)."""
    from sessions_app.services import uploads

    return uploads.clean_stale()
