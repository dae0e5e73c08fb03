"""Log-in changes that end a user's open websockets (services/socket_auth.py sends the close).

Log-out closes the sockets of that browser's log-in; a password change, deactivation, removal of
``is_staff`` (a staff socket may be on another user's session, and ownership is checked on connect
only) or deletion closes all of the user's. Changes are read from the row as loaded (``post_init``) and
as saved, and the close is sent after the commit, so a socket that reconnects at once sees the new
state (a former staff member's own sessions open again, others' are refused 4404). Bulk
``QuerySet.update`` sends no signals: the admin and the services save rows one by one.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_out
from django.db import transaction
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver

from accounts import socket_auth

User = get_user_model()


def _snapshot(user: Any) -> tuple[Any, Any, Any]:
    # from __dict__: a deferred field must not cost a query here
    return user.__dict__.get("password"), user.__dict__.get("is_active"), user.__dict__.get("is_staff")


def _close_later(group: str) -> None:
    transaction.on_commit(lambda: socket_auth.close_sockets(group))


@receiver(user_logged_out, dispatch_uid="emotion-close-sockets-on-logout")
def close_on_logout(sender: Any, request: Any = None, user: Any = None, **kwargs: Any) -> None:
    session = getattr(request, "session", None)
    key = getattr(session, "session_key", None)
    if key:
        _close_later(socket_auth.login_group(key))


@receiver(post_init, sender=User, dispatch_uid="emotion-user-auth-snapshot")
def remember_auth_state(sender: Any, instance: Any, **kwargs: Any) -> None:
    instance._emotion_auth_state = _snapshot(instance)


@receiver(post_save, sender=User, dispatch_uid="emotion-close-sockets-on-user-change")
def close_on_user_change(sender: Any, instance: Any, created: bool, **kwargs: Any) -> None:
    before, after = getattr(instance, "_emotion_auth_state", (None, None, None)), _snapshot(instance)
    instance._emotion_auth_state = after
    if created:
        return
    password_changed = after[0] is not None and before[0] != after[0]
    deactivated = after[1] is False and before[1] is not False
    no_longer_staff = after[2] is False and before[2] is not False
    if password_changed or deactivated or no_longer_staff:
        _close_later(socket_auth.user_group(instance.pk))


@receiver(post_delete, sender=User, dispatch_uid="emotion-close-sockets-on-user-delete")
def close_on_delete(sender: Any, instance: Any, **kwargs: Any) -> None:
    if instance.pk is not None:
        _close_later(socket_auth.user_group(instance.pk))
