from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from audit import services as audit
from emotionsite import ratelimit
from emotionsite.streaming import streaming_response
from projects import access
from projects.access import Action
from sessions_app import exports, mediatypes
from sessions_app.http import disposition, serve_stored_file
from sessions_app.reliability import counts_all
from sessions_app.selectors import get_session_or_404, session_people, workspace
from sessions_app.services import manage, media, runs, storage_quota
from sessions_app.services.reanalysis import ReanalysisError, reanalyse_session
from sessions_app.units import ATTENTION_DEFINITION


@login_required
def home(request):
    """The workspace: the sessions of the user's projects, filtered, sorted and paged (selectors.workspace),
    and the storage each shown project uses (the chosen one, or all of the user's: the personal one first)."""
    context = workspace(request.user, request.GET)
    chosen = context.get("project")
    shown = [chosen] if chosen else sorted(context["projects"], key=lambda p: not p.personal)
    context["usages"] = [(p, storage_quota.usage(p.pk)) for p in shown]
    return render(request, "home.html", context)


@login_required
def new_session(request):
    # the projects the user may record into; the personal one first (the default), or ?project= (from the
    # workspace's New session link) when the user may record there
    projects = list(access.projects_for(request.user, Action.RECORD))
    chosen = request.GET.get("project", "")
    context = {
        "max_mb": settings.EMOTION_UPLOAD_MAX_BYTES // (1024 * 1024),
        "projects": projects,
        "chosen": int(chosen) if chosen.isdigit() and any(str(p.pk) == chosen for p in projects) else None,
    }
    return render(request, "sessions/new.html", context)


@login_required
def session_detail(request, session_id: int):
    session = get_session_or_404(request.user, session_id)
    for what in (audit.Read.RESULTS, audit.Read.SUMMARIES):  # the page shows the summaries panel too
        audit.record_read(request.user, session, what=what, request=request)
    context = {**_people_context(request, session), "outdated": runs.outdated(session)}
    if context["outdated"]:
        context["current_weights"] = runs.current_weights_version()
    return render(request, "sessions/detail.html", context)


def _people_context(request, session) -> dict:
    include_all = counts_all(request)  # the one quality switch: an explicit ?all= is remembered
    return {
        "session": session,
        "people": session_people(session, include_unreliable=include_all),
        "include_all": include_all,
        "attention_definition": ATTENTION_DEFINITION,
    }


@login_required
def session_people_cards(request, session_id: int):
    """The page's people cards alone: the replay swaps them in when its quality switch changes."""
    session = get_session_or_404(request.user, session_id)
    audit.record_read(request.user, session, what=audit.Read.RESULTS, request=request)
    return render(request, "sessions/_people.html", _people_context(request, session))


@login_required
@require_POST
def session_reanalyse(request, session_id: int):
    """Analyse the session again with the current model (owner or staff; rate limited like the admin's)."""
    session = get_session_or_404(request.user, session_id, Action.RECORD)
    try:
        reanalyse_session(session, actor=request.user, request=request)
    except ReanalysisError as exc:
        messages.error(request, f"Not re-analysed: {exc}")
    except ratelimit.RateLimited as exc:
        messages.error(request, exc.message)
    else:
        messages.success(request, "Re-analysis queued; the current results stay until it completes.")
    return redirect(session.get_absolute_url())


@login_required
@require_POST
def session_rename(request, session_id: int):
    session = get_session_or_404(request.user, session_id, Action.RECORD)
    manage.rename_session(session, request.POST.get("title", ""), actor=request.user, request=request)
    return redirect(session.get_absolute_url())


@login_required
@require_POST
def session_delete(request, session_id: int):
    session = get_session_or_404(request.user, session_id, Action.DELETE)
    manage.delete_session(session, actor=request.user, request=request)
    messages.success(request, f"Deleted “{session.title}”.")
    return redirect("home")


@login_required
def session_media(request, session_id: int, kind: str):
    """``original`` downloads, ``playable`` shows inline; both typed by the probed format (mediatypes)."""
    session = get_session_or_404(request.user, session_id)
    if kind not in media.KINDS or not getattr(session, kind).name:
        raise Http404("no such media")
    audit.record_read(request.user, session, what=audit.Read.MEDIA, request=request)
    fmt = media.stored_format(session, kind)
    how = "attachment" if kind == "original" else "inline"
    filename = f"session-{session.pk}.{mediatypes.extension(fmt)}"
    return serve_stored_file(
        request, getattr(session, kind).name, mediatypes.content_type(fmt), disposition(how, filename)
    )


def _download(lines, content_type: str, filename: str, request=None, session=None) -> StreamingHttpResponse:
    if request is not None:
        audit.record_read(request.user, session, what=filename, request=request, action=audit.Action.EXPORTED)
    response = streaming_response(lines, content_type=content_type)  # read in batches as it is sent
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def export_observations(request, session_id: int, fmt: str):
    session = get_session_or_404(request.user, session_id)
    if fmt == "csv":
        lines, content_type = exports.observations_csv(session), "text/csv; charset=utf-8"
    elif fmt == "json":
        lines, content_type = exports.observations_json(session), "application/json"
    else:
        raise Http404("no such format")
    return _download(lines, content_type, f"session-{session.pk}-observations.{fmt}", request, session)


@login_required
def export_people(request, session_id: int):
    session = get_session_or_404(request.user, session_id)
    return _download(
        exports.people_csv(session, counts_all(request)),
        "text/csv; charset=utf-8",
        f"session-{session.pk}-people.csv",
        request,
        session,
    )


@login_required
def export_markers(request, session_id: int):
    session = get_session_or_404(request.user, session_id)
    return _download(
        exports.markers_csv(session), "text/csv; charset=utf-8", f"session-{session.pk}-markers.csv", request, session
    )
