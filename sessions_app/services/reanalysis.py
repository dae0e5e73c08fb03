"""Run the analysis of a stored session again (the admin's action, the session page's button): a new run,
its segments planned and queued; the current run's results stay shown until the new run completes."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit import services as audit
from emotionsite import ratelimit
from sessions_app.models import Session
from sessions_app.services import runs
from sessions_app.services.analysis import enqueue_analysis, plan_segments


class ReanalysisError(Exception):
    """Why a session cannot be analysed again (shown as is)."""


def reanalyse_session(session: Session, *, actor: Any = None, request: Any = None) -> int:
    """Start a new run and queue its segments; returns the number of segments queued.

    The current run's observations and tracks stay until finalize makes the new run current (a failed run
    leaves them); the old segments (work records, their frame counts already on the session) are replaced.
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
        session.segments.all().delete()
        # a run still marked running (its worker gone) is closed: the new run is the one in progress
        session.runs.filter(status="running").update(status="failed")
        session.status, session.progress, session.error = Session.Status.QUEUED, 0.0, ""
        session.save(update_fields=["status", "progress", "error", "updated"])
        runs.start_run(session, current=not runs.has_results(session))
        segments = plan_segments(session, spans or None)
        audit.record(actor, audit.Action.REANALYSED, session, request=request)
        transaction.on_commit(lambda: enqueue_analysis(session.pk))
    return len(segments)
