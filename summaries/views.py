"""Page actions for summaries on the replay page (plain form POSTs; the page script follows them live)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from projects.access import Action
from sessions_app.reliability import counts_all
from sessions_app.selectors import get_session_or_404
from summaries.base import SummaryError
from summaries.models import Summary
from summaries.services import cancel_summary, request_summary


def _back(session) -> str:
    return session.get_absolute_url() + "#summaries"


@login_required
@require_POST
def summary_create(request, session_id: int):
    session = get_session_or_404(request.user, session_id, Action.SUMMARIZE)
    try:
        include = counts_all(request)  # the page's one switch, recorded on the summary
        request_summary(
            session, request.POST.get("backend", ""), request.user, request=request, include_unreliable=include
        )
    except SummaryError as exc:
        messages.error(request, str(exc))
    return redirect(_back(session))


@login_required
@require_POST
def summary_cancel(request, session_id: int, summary_id: int):
    session = get_session_or_404(request.user, session_id, Action.SUMMARIZE)
    summary = Summary.objects.filter(session=session, pk=summary_id).first()
    if summary is None:
        raise Http404("no such summary")
    try:
        cancel_summary(summary, request.user)
    except SummaryError as exc:
        messages.error(request, str(exc))
    return redirect(_back(session))
