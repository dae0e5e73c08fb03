"""Pages of the People issue: people (rename, consent, merge, split, delete), privacy settings, audit log,
account deletion. Thin: checks of access and input here, the work in services.people/privacy."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from audit import services as audit
from people import identity_flags, privacy, suggestions, track_faces
from people import services as people
from people.forms import MergeForm, MergePickForm, SplitForm, SuggestionAnswerForm, first_error
from people.models import PersonThumbnail
from people.selectors import (
    PEOPLE_SORTS,
    flag_groups,
    flagged_people,
    get_merge_or_404,
    get_person_or_404,
    get_suggestion_or_404,
    page_project,
    people_overview,
    people_page,
    person_suggestions,
    person_tracks,
    project_suggestions,
    undoable_merges,
)
from projects import access
from projects.access import Action
from projects.forms import RetentionForm
from sessions_app.http import disposition, serve_stored_file


def _wants_json(request) -> bool:
    return "application/json" in request.headers.get("Accept", "")


def _back(request, default: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}, require_https=request.is_secure()):
        target = default
    return redirect(target)


@login_required
def people_list(request, *, status: int = 200, project=None):
    """The people of one project (``?project=``, default the personal one): a face library per project."""
    query = request.GET.get("q", "")[:120]
    sort = request.GET.get("sort", "")
    sort = sort if sort in PEOPLE_SORTS else next(iter(PEOPLE_SORTS))
    project = project or page_project(request.user, request.GET.get("project"))
    context = {
        "project": project,
        "projects": list(access.projects_for(request.user)),
        "can_edit": access.can(request.user, project, Action.PEOPLE),
        "people": people_page(project, query, sort),
        "query": query,
        "sort": sort,
        "sorts": PEOPLE_SORTS.items(),
        "suggestions": project_suggestions(project),
        "flagged": flagged_people(project),
    }
    return render(request, "people/list.html", context, status=status)


def _detail_page(request, person, *, status: int = 200):
    overview = people_overview(person.project_id, [person.pk])[0]
    tracks = person_tracks(person)
    for t in tracks:
        t.show_faces = track_faces.can_show(t)
    flag, groups = flag_groups(person, tracks)
    context = {
        "person": overview,
        "tracks": tracks,
        "suggestions": person_suggestions(person),
        "flag": flag,
        "flag_groups": groups,
        "merges": undoable_merges(person),
        "others": [p for p in people_overview(person.project_id) if p.pk != person.pk],
        "can_edit": access.can(request.user, person, Action.PEOPLE),
    }
    return render(request, "people/detail.html", context, status=status)


@login_required
def person_detail(request, person_id: int):
    person = get_person_or_404(request.user, person_id)
    audit.record_read(request.user, person, what=audit.Read.FACES, request=request)
    return _detail_page(request, person)


@login_required
def track_faces_image(request, person_id: int, track_id: int):
    """A strip of a few faces of one of the person's tracks (services.track_faces); 404 without media."""
    person = get_person_or_404(request.user, person_id)
    track = get_object_or_404(person.tracks.select_related("session"), pk=track_id)
    data = track_faces.track_faces_jpeg(track)
    if data is None:
        raise Http404("No faces can be shown for this track.")
    audit.record_read(request.user, person, what=audit.Read.FACES, request=request)
    response = HttpResponse(data, content_type="image/jpeg")
    response["Cache-Control"] = "private, max-age=3600"
    return response


@login_required
@require_POST
def person_rename(request, person_id: int):
    person = get_person_or_404(request.user, person_id, Action.PEOPLE)
    try:
        person = people.rename_person(person, request.POST.get("name", ""), actor=request.user, request=request)
    except people.PeopleError as exc:
        if _wants_json(request):
            return JsonResponse({"detail": str(exc)}, status=400)
        messages.error(request, str(exc))
    else:
        if _wants_json(request):
            return JsonResponse({"id": person.pk, "name": person.name, "display_name": person.display_name})
        messages.success(request, f"Renamed to “{person.display_name}”.")
    return _back(request, reverse("people"))


@login_required
@require_POST
def person_consent(request, person_id: int):
    person = get_person_or_404(request.user, person_id, Action.CONSENT)
    given = request.POST.get("consent_given") in ("1", "on", "true", "yes")
    try:
        people.set_consent(person, given, request.POST.get("consent_note", ""), actor=request.user, request=request)
    except people.PeopleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Consent of “{person.display_name}” recorded.")
    return _back(request, reverse("people"))


def _merge_pair(request) -> tuple | None:
    """The two people of a merge from the query: ``keep`` and ``other``, or two ``pick``-ed in the face
    grid (the lower number stays; the page offers the swap). None (with a message) when that is not two
    of the user's people."""
    if "pick" in request.GET:
        pick = MergePickForm(request.user, request.GET)
        if not pick.is_valid():
            messages.error(request, first_error(pick))
            return None
        keep, other = sorted(pick.cleaned_data["pick"], key=lambda p: p.number)
        return keep, other
    form = MergeForm(request.user, request.GET)
    if not form.is_valid():
        messages.error(request, first_error(form))
        return None
    return form.cleaned_data["keep"], form.cleaned_data["other"]


@login_required
@require_http_methods(["GET", "POST"])
def people_merge(request):
    """GET: the confirmation (both people with their faces, which name stays); POST: the merge."""
    if request.method == "GET":
        pair = _merge_pair(request)
        if pair is None:  # a bad or foreign id: the list again, with the message, as a 400
            return people_list(request, status=400)
        if pair[0].pk == pair[1].pk or pair[0].project_id != pair[1].project_id:
            messages.error(request, "Choose two different people of the same project to merge.")
            return people_list(request, status=400)
        keep, other = people_overview(pair[0].project_id, [pair[0].pk, pair[1].pk])
        if keep.pk != pair[0].pk:
            keep, other = other, keep
        return render(request, "people/merge_confirm.html", {"keep": keep, "other": other})
    form = MergeForm(request.user, request.POST)
    if not form.is_valid():  # a bad or foreign id: the list again, with the message, as a 400
        messages.error(request, first_error(form))
        return people_list(request, status=400)
    keep, other = form.cleaned_data["keep"], form.cleaned_data["other"]
    label = other.display_name
    try:
        moved = people.merge_people(keep, other, actor=request.user, request=request)
    except people.PeopleError as exc:
        messages.error(request, str(exc))
        return _back(request, reverse("people"))
    keep.refresh_from_db(fields=["name"])
    messages.success(
        request,
        f"Merged “{label}” into “{keep.display_name}”: {moved['observations']} observations, "
        f"{moved['tracks']} tracks, {moved['thumbnails']} thumbnails moved. You can undo it below.",
    )
    return redirect("person_detail", keep.pk)


@login_required
@require_POST
def merge_undo(request, merge_id: int):
    merge = get_merge_or_404(request.user, merge_id, Action.PEOPLE)
    keep_id = merge.keep_id
    try:
        back = people.undo_merge(merge, actor=request.user, request=request)
    except people.PeopleError as exc:
        messages.error(request, str(exc))
        return redirect("person_detail", keep_id)
    messages.success(request, f"Merge undone: “{back.display_name}” is a person of their own again.")
    return redirect("person_detail", back.pk)


@login_required
@require_POST
def person_split(request, person_id: int):
    person = get_person_or_404(request.user, person_id, Action.PEOPLE)
    form = SplitForm(person, request.POST)
    if not form.is_valid():  # no track, a bad id or another person's track
        messages.error(request, first_error(form))
        return _detail_page(request, person, status=400)
    try:
        chosen = list(form.cleaned_data["track"])
        new = identity_flags.split_tracks(person, chosen, actor=request.user, request=request)
    except people.PeopleError as exc:
        messages.error(request, str(exc))
        return redirect("person_detail", person.pk)
    what = "The track is" if len(chosen) == 1 else f"The {len(chosen)} tracks are"
    messages.success(request, f"{what} now “{new.display_name}”; you can name them here.")
    return redirect("person_detail", new.pk)


@login_required
@require_POST
def person_flag_dismiss(request, person_id: int):
    """The owner says "these tracks are one person": the flag closes and is not raised again for the same tracks."""
    person = get_person_or_404(request.user, person_id, Action.PEOPLE)
    flag = identity_flags.open_flag(person)
    if flag is None:
        messages.error(request, "This person has no open flag.")
        return redirect("person_detail", person.pk)
    try:
        identity_flags.dismiss(flag, request.user, request=request)
    except people.PeopleError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"Noted: all tracks of “{person.display_name}” are one person.")
    return redirect("person_detail", person.pk)


@login_required
@require_POST
def suggestion_answer(request, suggestion_id: int):
    """Confirm (the candidate is merged into the person) or "not the same" (remembered) for a suggestion."""
    suggestion = get_suggestion_or_404(request.user, suggestion_id, Action.PEOPLE)
    form = SuggestionAnswerForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Answer with Confirm or Not the same.")
        return _back(request, reverse("people"))
    first, second = suggestion.person.display_name, suggestion.candidate.display_name
    try:
        if form.cleaned_data["answer"] == SuggestionAnswerForm.CONFIRM:
            kept = suggestions.confirm(suggestion, request.user, request=request)
        else:
            suggestions.reject(suggestion, request.user, request=request)
    except people.PeopleError as exc:
        messages.error(request, str(exc))
        return _back(request, reverse("people"))
    if form.cleaned_data["answer"] == SuggestionAnswerForm.REJECT:
        messages.success(request, f"Noted: “{first}” and “{second}” are different people; never suggested again.")
        return _back(request, reverse("people"))
    messages.success(request, f"Merged “{second}” into “{kept.display_name}”.")
    if request.POST.get("next") == reverse("person_detail", args=[suggestion.candidate_id]):
        return redirect("person_detail", kept.pk)  # the page they came from is gone with the merge
    return _back(request, reverse("people"))


@login_required
@require_POST
def person_delete(request, person_id: int):
    person = get_person_or_404(request.user, person_id, Action.DELETE)
    choice = request.POST.get("observations", "")
    if choice not in ("keep", "remove"):
        messages.error(request, "Choose whether to keep their observations (unattributed) or remove them.")
        return redirect("person_detail", person.pk)
    label = person.display_name
    try:
        people.delete_person(person, keep_observations=choice == "keep", actor=request.user, request=request)
    except people.PeopleError as exc:
        messages.error(request, str(exc))
        return redirect("people")
    messages.success(request, f"Deleted “{label}” and their face data.")
    return redirect("people")


# --------------------------------------------------------------------------- privacy
@login_required
@require_http_methods(["GET", "POST"])
def privacy_settings(request):
    prefs = privacy.settings_for(request.user)
    status = 200
    if request.method == "POST":
        form = RetentionForm(request.POST)
        try:
            if not form.is_valid():
                raise privacy.PrivacyError(first_error(form))
            days, keep = form.cleaned_data["retention_days"], form.cleaned_data["retention_keep_results"]
            privacy.update_settings(request.user, days, keep, request=request)
        except privacy.PrivacyError as exc:
            messages.error(request, str(exc))
            status = 400
        else:
            messages.success(request, "Privacy settings saved.")
            return redirect("privacy_settings")
    shared = [p for p in access.projects_for(request.user) if not p.personal]
    context = {"prefs": prefs, "max_days": privacy.RETENTION_MAX_DAYS, "shared_projects": shared}
    return render(request, "people/privacy.html", context, status=status)


@login_required
@require_POST
def account_delete(request):
    user = request.user
    try:
        privacy.delete_account(user, request.POST.get("password", ""), request=request)
    except privacy.PrivacyError as exc:
        messages.error(request, str(exc))
        return redirect("privacy_settings")
    logout(request)
    messages.success(request, "Your account and all your data were deleted.")
    return redirect("login")


@login_required
def person_thumbnail(request, thumbnail_id: int):
    qs = access.visible(PersonThumbnail.objects.select_related("person"), request.user, via="person__project")
    thumb = get_object_or_404(qs, pk=thumbnail_id)
    audit.record_read(request.user, thumb.person, what=audit.Read.FACES, request=request)
    # thumbnails are JPEGs the server encoded itself (people.thumbnails)
    return serve_stored_file(
        request, thumb.image.name, "image/jpeg", disposition("inline", f"person-{thumb.person_id}.jpg")
    )
