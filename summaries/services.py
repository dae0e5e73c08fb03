"""Write side of summaries: request, cancel, and run one (the Celery task only calls :func:`run_summary`).

Status goes queued → running → done | failed | cancelled. Each change is stored on the row and pushed
to the session's websocket group as a ``summary.state`` message, so a page that reconnects reads the
stored state and a watching page follows along.
"""

from __future__ import annotations

import logging
import time
import uuid
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from accounts.locks import lock_owner
from audit import services as audit
from emotionsite import ratelimit
from projects import access
from projects.access import Action
from sessions_app.services.progress import send_summary_state
from summaries import heuristic
from summaries.base import LLM, SummaryCancelled, SummaryError, SummaryResult
from summaries.digest import Digest, build_digest
from summaries.models import Summary
from summaries.prompt import as_text, build_messages
from summaries.selectors import availability, summary_message

logger = logging.getLogger(__name__)

GENERIC_ERROR = "The summary could not be made because of an internal error; please try again."
TIME_LIMIT_ERROR = "The summary took longer than this site allows and was stopped."
PUSH_INTERVAL = 0.5  # seconds between progress writes/pushes, and between cancel checks
LLM_BACKENDS = (Summary.Backend.LOCAL, Summary.Backend.REMOTE)  # minutes each, on the one summaries process


def may_summarize(user: Any, session: Any) -> bool:
    """Owners and analysts of the session's project (and staff) request and cancel summaries; a remote
    LLM one runs with the requesting member's own LLM settings and key (run_summary)."""
    return access.can(user, session, Action.SUMMARIZE)


def push(summary: Summary) -> None:
    send_summary_state(summary.session_id, summary_message(summary))


# --------------------------------------------------------------------------- request and cancel
def request_summary(
    session: Any, backend: str, user: Any, *, request: Any = None, include_unreliable: bool = False
) -> Summary:
    """Create a queued summary and enqueue its task once the row is committed; SummaryError says why not,
    :class:`~emotionsite.ratelimit.RateLimited` when the user is over a limit.

    Audited here, so the page, the API and the admin write the same entry."""
    if not may_summarize(user, session):
        raise SummaryError("You can only summarize sessions of projects where you are an owner or analyst.")
    if backend not in Summary.Backend.values:
        raise SummaryError("Choose one of the backends: " + ", ".join(Summary.Backend.labels) + ".")
    if session.status != "done":
        raise SummaryError("Only a finished session can be summarized; this one is still " + session.status + ".")
    avail = availability(backend, user)
    if not avail.available:
        raise SummaryError(avail.reason or "This backend is not available now.")
    with transaction.atomic():
        _check_in_progress(user, backend)  # under the user's row lock: two requests at once count each other
        ratelimit.hit("summaries", user.pk)
        summary = Summary.objects.create(
            session=session,
            requested_by=user,
            backend=backend,
            model_name=_model_name(backend, user),
            include_unreliable=bool(include_unreliable),
            task_id=str(uuid.uuid4()),  # known before sending, so a cancel can revoke it at once
        )
        audit.record(user, audit.Action.SUMMARIZED, session, request=request, detail=backend)
    transaction.on_commit(lambda: _enqueue(summary))
    return summary


def _check_in_progress(user: Any, backend: str) -> None:
    """One summaries process serves everyone: cap each user's summaries in progress, and their LLM ones
    (minutes each) harder, so one account cannot keep everyone else's waiting."""
    lock_owner(user.pk)
    active = Summary.objects.filter(requested_by=user, status__in=[Summary.Status.QUEUED, Summary.Status.RUNNING])
    ratelimit.check_active(active.count(), settings.EMOTION_LIMIT_ACTIVE_SUMMARIES, "Too many summaries in progress")
    if backend in LLM_BACKENDS:
        ratelimit.check_active(
            active.filter(backend__in=LLM_BACKENDS).count(),
            settings.EMOTION_LIMIT_ACTIVE_LLM_SUMMARIES,
            "You already have an LLM summary queued or running",
        )


def _model_name(backend: str, user: Any) -> str:
    """The model that will answer, as far as is known before the run (the reply may name it exactly)."""
    if backend == Summary.Backend.LOCAL:
        from summaries.availability import worker_facts
        from summaries.backends.local import local_model_name

        facts = worker_facts()  # the summaries worker's CUDA decides the default model
        return local_model_name(bool(facts and facts.get("cuda")))[:300]
    if backend == Summary.Backend.REMOTE:
        from summaries.models import LLMSettings

        row = LLMSettings.objects.filter(user=user).first()
        return (row.remote_model if row else "")[:300]
    return ""


def _enqueue(summary: Summary) -> None:
    from summaries.tasks import generate_heuristic_summary, generate_summary

    task = generate_summary if summary.backend in LLM_BACKENDS else generate_heuristic_summary
    try:
        task.apply_async(args=[summary.pk], task_id=summary.task_id)
    except Exception:  # noqa: BLE001 - the broker is down: say so on the row rather than stay queued forever
        logger.exception("could not queue summary %s", summary.pk)
        Summary.objects.filter(pk=summary.pk, status=Summary.Status.QUEUED).update(
            status=Summary.Status.FAILED,
            error="The summary could not be queued; please try again.",
            finished=timezone.now(),
        )
        summary.refresh_from_db()
    push(summary)


def cancel_summary(summary: Summary, user: Any) -> Summary:
    """Queued: cancelled at once and its task revoked. Running: flagged; the run stops at its next check."""
    if not may_summarize(user, summary.session):
        raise SummaryError("You can only cancel summaries in projects where you are an owner or analyst.")
    with transaction.atomic():
        row = Summary.objects.select_for_update().get(pk=summary.pk)
        if row.is_finished:
            raise SummaryError(f"This summary is already {row.get_status_display().lower()}.")
        revoke = row.status == Summary.Status.QUEUED
        if revoke:
            row.status, row.finished = Summary.Status.CANCELLED, timezone.now()
        row.cancel_requested = True
        row.save(update_fields=["status", "finished", "cancel_requested"])
    if revoke and row.task_id:
        _revoke(row.task_id)
    push(row)
    return row


def _revoke(task_id: str) -> None:
    from emotionsite.celery import app

    try:
        app.control.revoke(task_id)  # the task also finds the row cancelled, should the revoke be missed
    except Exception:  # noqa: BLE001 - the row is the truth; revoking only saves the worker a look-up
        logger.warning("could not revoke summary task %s", task_id, exc_info=True)


# --------------------------------------------------------------------------- running
class _Run:
    """Progress and cancellation for one running summary, throttled to a few database round-trips a second."""

    def __init__(self, summary: Summary) -> None:
        self.summary = summary
        self._pushed = self._checked = 0.0
        self._cancelled = False

    def progress(self, fraction: float) -> None:
        fraction = min(1.0, max(0.0, float(fraction)))
        now = time.monotonic()
        if now - self._pushed < PUSH_INTERVAL and fraction < 1.0:
            return
        self._pushed = now
        self.summary.progress = fraction
        Summary.objects.filter(pk=self.summary.pk, status=Summary.Status.RUNNING).update(progress=fraction)
        push(self.summary)

    def should_cancel(self) -> bool:
        now = time.monotonic()
        if not self._cancelled and now - self._checked >= PUSH_INTERVAL:
            self._checked = now
            self._cancelled = Summary.objects.filter(pk=self.summary.pk, cancel_requested=True).exists()
        return self._cancelled

    def check(self) -> None:
        self._checked = 0.0  # at the stage boundaries, always look
        if self.should_cancel():
            raise SummaryCancelled()


def scaled(report: Any, start: float, end: float) -> Any:
    """A progress callback for one stage, mapped onto [start, end] of the whole run."""
    return lambda fraction: report(start + (end - start) * min(1.0, max(0.0, float(fraction))))


def llm_for(backend: str, user: Any, run: _Run | None = None) -> LLM:
    # imported here: the web process and the heuristic never need transformers
    if backend == Summary.Backend.LOCAL:
        from summaries.backends.local import get_local_llm

        # a first use may download the model (where allowed): that is the first part of the bar
        return get_local_llm(on_download_progress=scaled(run.progress, 0.05, 0.3) if run else None)
    from summaries.backends.remote import remote_llm_for

    return remote_llm_for(user)


def summarize(digest: Digest, backend: str, user: Any, run: _Run, llm: LLM | None = None) -> SummaryResult:
    if backend == Summary.Backend.HEURISTIC and llm is None:
        return heuristic.summarize(digest)
    messages = build_messages(digest)
    model = llm or llm_for(backend, user, run)
    run.check()
    reply = model.generate(
        messages,
        max_new_tokens=settings.EMOTION_SUMMARY_MAX_NEW_TOKENS,
        on_progress=scaled(run.progress, 0.3 if backend == Summary.Backend.LOCAL else 0.1, 1.0),
        should_cancel=run.should_cancel,
    )
    run.check()
    text = (reply.text or "").strip()
    if not text:
        raise SummaryError("The model answered with an empty text.")
    return SummaryResult(text=text, model_name=reply.model, prompt=as_text(messages))


def _claim(summary_id: int) -> Summary | None:
    """Mark the summary running, or None when there is nothing to do (gone, finished or cancelled)."""
    with transaction.atomic():
        summary = (
            Summary.objects.select_for_update(of=("self",))
            .select_related("session", "requested_by")
            .filter(pk=summary_id)
            .first()
        )
        if summary is None or summary.is_finished:
            return None
        if summary.cancel_requested:
            summary.status, summary.finished = Summary.Status.CANCELLED, timezone.now()
            summary.save(update_fields=["status", "finished"])
        else:
            # queued, or running again after its worker died (late acknowledgement): start afresh
            summary.status, summary.started, summary.progress = Summary.Status.RUNNING, timezone.now(), 0.0
            summary.error = ""
            summary.save(update_fields=["status", "started", "progress", "error"])
    push(summary)
    return summary if summary.status == Summary.Status.RUNNING else None


def _finish(summary: Summary, status: str, **fields: Any) -> None:
    fields.update(status=status, finished=timezone.now())
    if status == Summary.Status.DONE:
        fields["progress"] = 1.0
    Summary.objects.filter(pk=summary.pk, status=Summary.Status.RUNNING).update(**fields)
    summary.refresh_from_db()
    push(summary)


def run_summary(summary_id: int, *, llm: LLM | None = None, heuristic_only: bool = False) -> str:
    """Run one summary to its end and return its final status. Idempotent: a finished one is left alone.

    ``llm`` replaces the backend's model (tests inject a controllable one here); the user-facing error
    is the SummaryError's message, any other failure is logged and shown as a generic message.
    ``heuristic_only``: the caller is a worker that must never run an LLM (the heuristic task's)."""
    from celery.exceptions import SoftTimeLimitExceeded

    summary = _claim(summary_id)
    if summary is None:
        row = Summary.objects.filter(pk=summary_id).values_list("status", flat=True).first()
        return row or "missing"
    run = _Run(summary)
    try:
        if summary.requested_by_id and not may_summarize(summary.requested_by, summary.session):
            raise SummaryError(
                "You can only summarize sessions of projects where you are an owner or analyst."
            )  # checked again where it runs
        if heuristic_only and summary.backend != Summary.Backend.HEURISTIC:
            raise RuntimeError(f"{summary.backend} summary sent to the heuristic task")  # a routing bug: not here
        run.check()
        digest = build_digest(summary.session, include_unreliable=summary.include_unreliable)
        run.progress(0.05)
        user = summary.requested_by or summary.session.owner
        result = summarize(digest, summary.backend, user, run, llm)
    except SummaryCancelled:
        _finish(summary, Summary.Status.CANCELLED)
    except SummaryError as exc:
        _finish(summary, Summary.Status.FAILED, error=str(exc) or GENERIC_ERROR)
    except SoftTimeLimitExceeded:
        _finish(summary, Summary.Status.FAILED, error=TIME_LIMIT_ERROR)
    except Exception:
        logger.exception("summary %s failed", summary_id)
        _finish(summary, Summary.Status.FAILED, error=GENERIC_ERROR)
    else:
        fields = {"text": result.text, "prompt": result.prompt}
        if result.model_name:
            fields["model_name"] = result.model_name[:300]
        _finish(summary, Summary.Status.DONE, **fields)
    return summary.status
