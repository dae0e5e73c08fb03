"""Privacy controls: the personal project's retention and "delete my account and all my data"."""

from __future__ import annotations

import logging
import shutil
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.sessions.models import Session as LoginSession
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import Q

from audit import services as audit
from emotionsite import mediastore
from people.models import PersonThumbnail
from projects import services as projects
from projects.models import Project
from sessions_app.models import Session

logger = logging.getLogger(__name__)

RETENTION_MAX_DAYS = projects.RETENTION_MAX_DAYS


class PrivacyError(Exception):
    """A refused request, with a message fit to show the user."""


def settings_for(user: Any) -> Project:
    """Retention is per project: the privacy page sets the user's personal project's (shared projects' own
    are set by their owners on the project page)."""
    return projects.personal_project(user)


def update_settings(
    user: Any,
    retention_days: int | None,
    keep_results: bool,
    *,
    actor: Any = None,
    request: Any = None,
    via: str = "",
) -> Project:
    """Set the retention of ``user``'s personal project; ``actor`` (default: the user) is who did it."""
    try:
        return projects.set_retention(
            user if actor is None else actor,
            settings_for(user),
            retention_days,
            keep_results,
            request=request,
            via=via,
        )
    except projects.ProjectError as exc:
        raise PrivacyError(str(exc)) from None


def _walk(prefix: str) -> list[str]:
    """Every stored file under ``prefix`` (files the rows no longer name, e.g. of an interrupted upload)."""
    try:
        dirs, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return []
    return [f"{prefix}/{f}" for f in files] + [name for d in dirs for name in _walk(f"{prefix}/{d}")]


def _remove_user_files(names: set[str], user_id: int, keep: frozenset[str] = frozenset()) -> None:
    """Delete ``names``, then whatever else is stored under the user's folders except ``keep`` (the files
    of sessions and people they made in projects shared with others, which stay there)."""
    for name in names:
        try:
            default_storage.delete(name)
        except OSError:
            logger.warning("could not delete %s of deleted user %s", name, user_id, exc_info=True)
    for prefix in (f"sessions/{user_id}", f"people/{user_id}"):
        for name in _walk(prefix):
            if name not in keep:
                default_storage.delete(name)
        if not keep and not mediastore.is_remote():  # local storage: the empty folders go too (a bucket has none)
            shutil.rmtree(Path(default_storage.location) / prefix, ignore_errors=True)
    shutil.rmtree(Path(settings.EMOTION_STAGING_DIR) / str(user_id), ignore_errors=True)


def _hand_over(user: Any) -> None:
    """What ``user`` made in projects shared with others stays there (sessions, people, markers, answers),
    its maker now one of the project's owners; audited per project."""
    from people.models import Person, PersonMerge, PersonSuggestion
    from sessions_app.models import Marker

    for project in projects.shared_projects(user):
        heir = projects.heir(project, user.pk)
        moved = Session.objects.filter(project=project, owner=user).update(owner_id=heir)
        Person.objects.filter(project=project, owner=user).update(owner_id=heir)
        PersonSuggestion.objects.filter(person__project=project, owner=user).update(owner_id=heir)
        PersonMerge.objects.filter(keep__project=project, owner=user).update(owner_id=heir)
        Marker.objects.filter(session__project=project, author=user).update(author_id=heir)
        audit.record(
            None,
            audit.Action.CHANGED,
            project,
            owner_id=heir,
            detail=f"a member's account was deleted: {moved} sessions stay",
        )


def delete_account(user: Any, password: str, *, request: Any = None) -> None:
    """Delete the user and every row and file of theirs, after checking their password.

    Refused while they are the last owner of a project with other members. Their projects nobody else is
    in go whole (sessions with observations, tracks, segments, markers and summaries, people and
    thumbnails); in projects shared with others what they made stays, handed to an owner there. Then
    settings, LLM settings, API token, audit entries about their own data, login records and open login
    sessions. Entries they wrote about other people's data stay, pseudonymised (the user row's
    ``pre_delete`` runs audit.forget_user, whichever way the row is deleted). Files are deleted once the
    transaction has committed, so a failure leaves both rows and files in place. One anonymous audit
    entry (the user's id only) records the deletion.
    """
    if not user.check_password(password or ""):
        raise PrivacyError("The password is not correct; nothing was deleted.")
    blocking = projects.last_owned_shared(user)
    if blocking:
        names = ", ".join(f"“{p.name}”" for p in blocking)
        raise PrivacyError(
            f"You are the last owner of {names}, which others are in: make one of them an owner first. "
            "Nothing was deleted."
        )
    user_id, username = user.pk, user.get_username()
    with transaction.atomic():
        _hand_over(user)
        solo = projects.sole_projects(user)
        gone = Session.objects.filter(project__in=solo)
        names = {n for pair in gone.values_list("original", "playable") for n in pair}
        names |= set(PersonThumbnail.objects.filter(person__project__in=solo).values_list("image", flat=True))
        names.discard("")
        # files under the user's folders that stay: those of what they made in shared projects
        mine = f"sessions/{user_id}/"
        stay = Session.objects.exclude(project__in=solo).filter(
            Q(original__startswith=mine) | Q(playable__startswith=mine)
        )
        keep = {n for pair in stay.values_list("original", "playable") for n in pair}
        faces = PersonThumbnail.objects.exclude(person__project__in=solo).filter(image__startswith=f"people/{user_id}/")
        keep |= set(faces.values_list("image", flat=True))
        _delete_login_records(user_id, username)
        gone.delete()  # sessions of their projects made by members who left
        PersonThumbnail.objects.filter(person__project__in=solo).delete()
        from people.models import Person

        Person.objects.filter(project__in=solo).delete()
        user.delete()  # cascades: their settings, token, memberships, summaries' rows;
        # its pre_delete signal pseudonymises the audit trail (audit.forget_user)
        projects.delete_projects(solo)
        audit.record(None, audit.Action.ACCOUNT_DELETED, object_type="user", object_id=user_id)
        transaction.on_commit(lambda: _remove_user_files(names, user_id, frozenset(keep)))


def _delete_login_records(user_id: int, username: str) -> None:
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    for model in (AccessAttempt, AccessFailureLog, AccessLog):
        model.objects.filter(username=username).delete()
    # Login sessions store the user id in their encoded data; few rows, decoded one by one.
    stale = [s.pk for s in LoginSession.objects.all() if s.get_decoded().get("_auth_user_id") == str(user_id)]
    LoginSession.objects.filter(pk__in=stale).delete()
