"""Run the analysis of a stored session again (staff action): results cleared, segments planned and queued."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from emotionsite import ratelimit
from sessions_app.models import Session
from sessions_app.services import audit
from sessions_app.services.analysis import enqueue_analysis, plan_segments


class ReanalysisError(Exception):
    """Why a session cannot be analysed again (shown as is)."""


def reanalyse_session(session: Session, *, actor: Any = None, request: Any = None) -> int:
    """Clear observations, tracks and segments, queue the analysis again; returns the number of segments queued.

    People stay: finalize matches the new tracks to them again.
    """
    with transaction.atomic():
        session = Session.objects.select_for_update().get(pk=session.pk)
        if session.is_running:
            raise ReanalysisError(f"“{session.title}” is still being recorded or analysed.")
        if not session.original.name:
            raise ReanalysisError(f"“{session.title}” has no stored media any more.")
        if actor is not None:
            ratelimit.hit("reanalysis", actor.pk)  # RateLimited: a whole video's analysis each time
        # An upload keeps its plan (made from its frames' timestamps at ingest: gaps stay uncovered); a
        # live recording, analysed its own way before, is planned over its duration like an upload.
        spans = []
        if session.source != Session.Source.LIVE:
            spans = list(session.segments.order_by("index").values_list("start", "end"))
        session.observations.all().delete()
        session.tracks.all().delete()
        session.segments.all().delete()
        session.status, session.progress, session.error = Session.Status.QUEUED, 0.0, ""
        session.frames_analysed, session.face_share = 0, None
        session.save(update_fields=["status", "progress", "error", "frames_analysed", "face_share", "updated"])
        segments = plan_segments(session, spans or None)
        audit.record(actor, audit.Action.REANALYSED, session, request=request)
        transaction.on_commit(lambda: enqueue_analysis(session.pk))
    return len(segments)
