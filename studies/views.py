"""The project's Study page (codes, conditions, baseline, comparison charts) and its edits. Thin: access
in projects.access (through the selectors), the work in studies.services."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from audit import services as audit
from emotionsite.streaming import streaming_response
from projects import access
from projects.access import Action
from sessions_app.reliability import counts_all
from studies import selectors
from studies.models import StudySettings
from studies.services import compare, edit
from studies.services.aggregate import StudyError


def study_audit(request, project, filename: str, session=None) -> None:
    """Every study export is audited: what was exported, by whom (as the session exports are)."""
    audit.record(
        request.user,
        audit.Action.EXPORTED,
        session if session is not None else project,
        request=request,
        detail=filename,
    )


def download(lines, content_type: str, filename: str):
    response = streaming_response(lines, content_type=content_type)  # read in batches as it is sent
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
def study(request, project_id: int):
    project = selectors.project_or_404(request.user, project_id)
    can_people = access.can(request.user, project, Action.PEOPLE)
    context = {
        "project": project,
        "study": selectors.overview(project, names=can_people),
        "people": selectors.project_people(project) if can_people else [],
        "sessions": selectors.project_sessions(project),
        "can_people": can_people,
        "can_conditions": access.can(request.user, project, Action.RECORD),
        "modes": StudySettings.Mode.choices,
        "ops": StudySettings.Op.choices,
        "include_all": counts_all(request),
    }
    return render(request, "studies/study.html", context)


# what=... -> (the action it needs, the service call)
EDITS = {
    "add_participant": (Action.PEOPLE, lambda r, p: edit.add_participant(r.user, p, r.POST.get("code", ""),
                                                                         r.POST.get("note", ""), request=r)),
    "link_person": (Action.PEOPLE, lambda r, p: edit.link_person(
        r.user, selectors.participant_or_404(p, r.POST.get("participant") or 0), r.POST.get("person"), request=r)),
    "unlink_person": (Action.PEOPLE, lambda r, p: edit.unlink_person(r.user, p, r.POST.get("person"), request=r)),
    "delete_participant": (Action.PEOPLE, lambda r, p: edit.delete_participant(
        r.user, selectors.participant_or_404(p, r.POST.get("participant") or 0), request=r)),
    "add_condition": (Action.RECORD, lambda r, p: edit.add_condition(r.user, p, r.POST.get("label", ""), request=r)),
    "delete_condition": (Action.RECORD, lambda r, p: edit.delete_condition(
        r.user, selectors.condition_or_404(p, r.POST.get("condition") or 0), request=r)),
    "assign": (Action.RECORD, lambda r, p: edit.assign_condition(
        r.user, compare.conditions_by_label(p, [r.POST.get("condition", "")])[0], r.POST.get("session"),
        r.POST.get("start"), r.POST.get("end"), request=r)),
    "unassign": (Action.RECORD, lambda r, p: edit.remove_assignment(
        r.user, selectors.assignment_or_404(p, r.POST.get("assignment") or 0), request=r)),
    "baseline": (Action.RECORD, lambda r, p: edit.set_baseline(
        r.user, p, mode=r.POST.get("mode", ""), op=r.POST.get("op"), first_seconds=r.POST.get("first_seconds"),
        start_label=r.POST.get("start_label"), end_label=r.POST.get("end_label"), condition=r.POST.get("condition"),
        request=r)),
}  # fmt: skip


@login_required
@require_POST
def study_edit(request, project_id: int):
    """One form target for the page's edits (``what``): codes and links need Action.PEOPLE, conditions and
    the baseline Action.RECORD; a bad value comes back as a message."""
    project = selectors.project_or_404(request.user, project_id)
    what = request.POST.get("what", "")
    if what not in EDITS:
        messages.error(request, "Unknown change.")
        return redirect("study", project.pk)
    action, run = EDITS[what]
    access.require(request.user, project, action)
    try:
        run(request, project)
    except StudyError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Saved.")
    return redirect("study", project.pk)
