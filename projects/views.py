"""Project pages: your projects (and a new one), a project's members (owners add, change and remove them;
anyone leaves), invitation links (owners make and withdraw them; whoever opens one joins, signing up first
if need be), its retention (owners) and storage use, deleting an empty project, the project's audit log
(owners). Thin: access in projects.access, the work in services and invitations."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.forms import SignUpForm
from audit import services as audit
from emotionsite import ratelimit
from emotionsite.streaming import streaming_response
from projects import access, invitations, services
from projects.access import Action
from projects.forms import RetentionForm, first_error
from projects.models import Membership, Project
from projects.signals import project_page


def _project(request, project_id: int, action: Action = Action.VIEW) -> Project:
    project = get_object_or_404(Project, pk=project_id)
    access.require(request.user, project, action)
    return project


@login_required
@require_http_methods(["GET", "POST"])
def project_list(request):
    if request.method == "POST":
        try:
            project = services.create_project(request.user, request.POST.get("name", ""), request=request)
        except services.ProjectError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, f"Project “{project.name}” made; add its members here.")
            return redirect("project_detail", project.pk)
    rows = Membership.objects.filter(user=request.user).select_related("project").order_by("-project__personal")
    return render(request, "projects/list.html", {"memberships": rows})


def _detail_page(request, project: Project, **extra):
    can_manage = access.can(request.user, project, Action.MEMBERS)
    context = {
        "project": project,
        "members": project.memberships.select_related("user").order_by("user__username"),
        "role": access.role_of(request.user, project),
        "can_manage": can_manage,
        "can_read_log": access.can(request.user, project, Action.LOG),
        "can_delete": access.can(request.user, project, Action.SETTINGS),
        "can_settings": access.can(request.user, project, Action.SETTINGS),
        "max_days": services.RETENTION_MAX_DAYS,
        "invitations": invitations.pending(project) if can_manage else [],
        "invitation_days": settings.EMOTION_INVITATION_DAYS,
        "roles": Membership.Role.choices,
        "table": [(a.value, [access.allows(r, a) for r, _ in Membership.Role.choices]) for a in Action],
        **extra,
    }
    for _receiver, answered in project_page.send(sender=Project, project=project):
        context.update(answered or {})
    return render(request, "projects/detail.html", context)


@login_required
def project_detail(request, project_id: int):
    return _detail_page(request, _project(request, project_id))


@never_cache  # the answer shows a new link once: no cache may keep it
@login_required
@require_POST
def invitation_create(request, project_id: int):
    """Owners make an invitation link; the page shows it this once (only its hash is stored)."""
    project = _project(request, project_id, Action.MEMBERS)
    try:
        invitation, token = invitations.create_invitation(
            request.user, project, request.POST.get("role", ""), request=request
        )
    except services.ProjectError as exc:
        messages.error(request, str(exc))
        return redirect("project_detail", project.pk)
    link = request.build_absolute_uri(invitations.link_path(token))
    return _detail_page(request, project, new_link=link, new_invitation=invitation)


@login_required
@require_POST
def invitation_withdraw(request, project_id: int, invitation_id: int):
    project = _project(request, project_id, Action.MEMBERS)
    try:
        invitations.withdraw_invitation(request.user, project, invitation_id, request=request)
    except services.ProjectError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Invitation withdrawn: its link no longer works.")
    return redirect("project_detail", project.pk)


def _refused(request, exc: invitations.InvitationError, project: Project | None = None):
    return render(
        request, "projects/invitation_refused.html", {"message": str(exc), "project": project}, status=exc.status
    )


@never_cache
@require_http_methods(["GET", "POST"])
def invitation(request, token: str):
    """An invitation link. Signed in: a "Join" button (POST) that accepts it. Anonymous: the sign-up form
    (throttled like /accounts/signup/), whose account joins the project in the same transaction. A link
    that cannot be used answers 404 (unknown) or 410 (used, expired, withdrawn) and changes nothing."""
    if request.method == "POST" and not request.user.is_authenticated:
        # every attempt counts, as on the sign-up page (429 through RateLimitMiddleware)
        ratelimit.hit("signups", ratelimit.client_address(request))
    try:
        found = invitations.find_invitation(token)
    except invitations.InvitationError as exc:
        return _refused(request, exc)
    project = found.project
    if request.user.is_authenticated:
        if access.role_of(request.user, project) is not None:  # a GET only says so; a POST is refused
            status = 200 if request.method == "GET" else 409
            exc = invitations.InvitationError(invitations.already_member(project, request.user), status=status)
            return _refused(request, exc, project)
        if request.method == "POST":
            try:
                invitations.accept_invitation(request.user, token, request=request)
            except invitations.InvitationError as exc:
                return _refused(request, exc)
            messages.success(request, f"You joined “{project.name}” as {found.get_role_display().lower()}.")
            return redirect("project_detail", project.pk)
        return render(request, "projects/invitation.html", {"invitation": found, "form": None})
    form = SignUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user, _ = invitations.sign_up_with_invitation(form, token, request=request)
        except invitations.InvitationError as exc:
            return _refused(request, exc)
        login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        messages.success(request, f"Welcome! You joined “{project.name}” as {found.get_role_display().lower()}.")
        return redirect("project_detail", project.pk)
    return render(request, "projects/invitation.html", {"invitation": found, "form": form})


@login_required
@require_POST
def project_retention(request, project_id: int):
    """Owners set how long the project's session media is kept."""
    project = _project(request, project_id, Action.SETTINGS)
    form = RetentionForm(request.POST)
    try:
        if not form.is_valid():
            raise services.ProjectError(first_error(form))
        days, keep = form.cleaned_data["retention_days"], form.cleaned_data["retention_keep_results"]
        services.set_retention(request.user, project, days, keep, request=request)
    except services.ProjectError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, "Retention saved.")
    return redirect("project_detail", project.pk)


@login_required
@require_POST
def member_add(request, project_id: int):
    project = _project(request, project_id, Action.MEMBERS)
    try:
        m = services.add_member(
            request.user, project, request.POST.get("username", ""), request.POST.get("role", ""), request=request
        )
    except services.ProjectError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, f"{m.user.get_username()} is now {m.get_role_display().lower()}.")
    return redirect("project_detail", project.pk)


@login_required
@require_POST
def member_remove(request, project_id: int, user_id: int):
    """An owner removes a member; any member removes themselves (leaves)."""
    project = _project(request, project_id, Action.VIEW if user_id == request.user.pk else Action.MEMBERS)
    try:
        services.remove_member(request.user, project, user_id, request=request)
    except services.ProjectError as exc:
        messages.error(request, str(exc))
        return redirect("project_detail", project.pk)
    if user_id == request.user.pk:
        messages.success(request, f"You left “{project.name}”; what you recorded there stays in it.")
        return redirect("projects")
    messages.success(request, "Member removed; what they recorded stays in the project.")
    return redirect("project_detail", project.pk)


@login_required
@require_POST
def project_delete(request, project_id: int):
    project = _project(request, project_id, Action.SETTINGS)
    name = project.name
    try:
        services.delete_project(request.user, project, request=request)
    except services.ProjectError as exc:
        messages.error(request, str(exc))
        return redirect("project_detail", project.pk)
    messages.success(request, f"Deleted the project “{name}”.")
    return redirect("projects")


LOG_PAGE = 50


def _log_action(request) -> str:
    """The ``action`` filter: one of the log's actions, or "" for all (an unknown one is said, not obeyed)."""
    action = request.GET.get("action", "")
    if action and action not in audit.Action.values:
        messages.error(request, "There is no such action; showing all of them.")
        return ""
    return action


@login_required
@require_GET
def project_log(request, project_id: int):
    """The project's audit log, newest first, 50 a page, filterable by action (owners; staff)."""
    project = _project(request, project_id, Action.LOG)
    action = _log_action(request)
    page = Paginator(audit.entries_of_project(project.pk, action), LOG_PAGE).get_page(request.GET.get("page"))
    context = {"project": project, "page": page, "action": action, "actions": audit.Action.choices}
    return render(request, "projects/log.html", context)


@login_required
@require_GET
def project_log_csv(request, project_id: int):
    """The whole log (or one action's) as CSV, streamed."""
    project = _project(request, project_id, Action.LOG)
    entries = audit.entries_of_project(project.pk, _log_action(request))
    response = streaming_response(audit.entries_csv(entries), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="project-{project.pk}-log.csv"'
    response["Cache-Control"] = "private, no-store"
    return response
