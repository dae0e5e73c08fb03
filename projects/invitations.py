"""Invitation links into a project: an owner makes one with a role, copies it (there is no e-mail), and
whoever opens it joins once, signing up first if they have no account.

Only the SHA-256 of a link's token is stored; the raw token is returned once, to the owner who made it.
A token is found by its hash (an index lookup on the hash, so the time taken says nothing about how much
of a guessed token was right). A link works once, until it expires (``EMOTION_INVITATION_DAYS``) or is
withdrawn; accepting takes the invitation's row lock, so two simultaneous uses cannot both succeed.
The audit log names an invitation by its id, never by its token.
"""

from __future__ import annotations

import hashlib
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from audit import services as audit
from projects.access import Action, require
from projects.models import Invitation, Membership, Project
from projects.services import ProjectError, lock_project

Role = Membership.Role

MAX_TOKEN_LENGTH = 100  # token_urlsafe(32) is 43 characters; anything much longer is not one of ours


class InvitationError(ProjectError):
    """A link that cannot be used (``status``: 404 unknown, 410 used, expired or withdrawn; 409 the user is
    already a member), with a message fit to show."""

    def __init__(self, message: str, status: int = 410) -> None:
        super().__init__(message)
        self.status = status


UNKNOWN = "This invitation link is not valid. Check that it was copied whole, or ask the project's owner for a new one."
USED = "This invitation link has already been used: each link works once. Ask the project's owner for a new one."
EXPIRED = "This invitation link has expired. Ask the project's owner for a new one."
WITHDRAWN = "This invitation was withdrawn by the project's owner."


def already_member(project: Project, user: Any) -> str:
    role = Membership.objects.filter(project=project, user_id=user.pk).values_list("role", flat=True).first()
    return (
        f"You are already a member of “{project.name}” ({role}); the link stays unused, "
        "for the person it was meant for."
    )


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def link_path(token: str) -> str:
    return f"/invite/{token}/"


def pending(project: Project):
    """The invitations of ``project`` that can still be used, newest first."""
    return project.invitations.filter(used_at=None, withdrawn_at=None, expires__gt=timezone.now()).select_related(
        "created_by"
    )


def _record(actor: Any, project: Project, detail: str, request: Any) -> None:
    """An invitation's entry in the audit log: by its id, never its token."""
    audit.record(actor, audit.Action.CHANGED, project, request=request, owner_id=actor.pk, detail=detail)


def create_invitation(actor: Any, project: Project, role: str, *, request: Any = None) -> tuple[Invitation, str]:
    """A new link into ``project`` with ``role`` (owners only); returns the invitation and its raw token,
    which is not kept anywhere."""
    require(actor, project, Action.MEMBERS)
    if role not in Role.values:
        raise ProjectError("Choose owner, analyst or viewer.")
    if project.personal:
        raise ProjectError("A personal project is yours alone; make a shared project to work with others.")
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invitation = Invitation.objects.create(
            project=project,
            role=role,
            token_hash=hash_token(token),
            created_by=actor,
            expires=timezone.now() + timedelta(days=settings.EMOTION_INVITATION_DAYS),
        )
        _record(actor, project, f"invitation {invitation.pk} made ({role})", request)
    return invitation, token


def withdraw_invitation(actor: Any, project: Project, invitation_id: int, *, request: Any = None) -> Invitation:
    """Owners withdraw a pending invitation of their project; its link stops working at once."""
    require(actor, project, Action.MEMBERS)
    with transaction.atomic():
        invitation = Invitation.objects.select_for_update().filter(project=project, pk=invitation_id).first()
        if invitation is None:
            raise InvitationError("There is no such invitation.", status=404)
        if invitation.used_at is not None:
            raise ProjectError("That invitation has already been used; remove the member instead.")
        if invitation.withdrawn_at is None:
            invitation.withdrawn_at = timezone.now()
            invitation.save(update_fields=["withdrawn_at"])
            _record(actor, project, f"invitation {invitation.pk} withdrawn", request)
    return invitation


def _check(invitation: Invitation | None) -> Invitation:
    if invitation is None:
        raise InvitationError(UNKNOWN, status=404)
    if invitation.used_at is not None:
        raise InvitationError(USED)
    if invitation.withdrawn_at is not None:
        raise InvitationError(WITHDRAWN)
    if invitation.expires <= timezone.now():
        raise InvitationError(EXPIRED)
    return invitation


def _by_token(token: str, *, lock: bool = False) -> Invitation | None:
    if not token or len(token) > MAX_TOKEN_LENGTH:
        return None
    qs = Invitation.objects.select_related("project")
    if lock:
        qs = qs.select_for_update(of=("self",))
    return qs.filter(token_hash=hash_token(token)).first()


def find_invitation(token: str) -> Invitation:
    """The usable invitation of ``token``; InvitationError (with its status) when unknown, used, withdrawn
    or expired."""
    return _check(_by_token(token))


def _accept(invitation: Invitation, user: Any, request: Any) -> Membership:
    """Inside the caller's transaction, with the invitation's row locked and checked."""
    lock_project(invitation.project_id)
    if Membership.objects.filter(project_id=invitation.project_id, user_id=user.pk).exists():
        raise InvitationError(already_member(invitation.project, user), status=409)
    membership = Membership.objects.create(project_id=invitation.project_id, user=user, role=invitation.role)
    invitation.used_at = timezone.now()
    invitation.used_by = user
    invitation.save(update_fields=["used_at", "used_by"])
    _record(user, invitation.project, f"{user} joined as {invitation.role} through invitation {invitation.pk}", request)
    return membership


def accept_invitation(user: Any, token: str, *, request: Any = None) -> Membership:
    """``user`` joins the invitation's project with its role, once: the invitation's row is locked, so of
    two simultaneous uses one joins and the other is told the link was used."""
    with transaction.atomic():
        invitation = _check(_by_token(token, lock=True))
        return _accept(invitation, user, request)


def sign_up_with_invitation(form: Any, token: str, *, request: Any = None) -> tuple[Any, Membership]:
    """A new account from a valid sign-up ``form`` that joins the invitation's project, in one transaction:
    when the link cannot be used (any more), no account is made."""
    with transaction.atomic():
        invitation = _check(_by_token(token, lock=True))
        user = form.save()
        return user, _accept(invitation, user, request)
