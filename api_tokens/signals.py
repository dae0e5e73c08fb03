"""Revoke a user's API tokens when password-based log-in is switched off for them (``set_unusable_password``:
the admin's "Password-based authentication: Disabled", a shell). Django calls no ``password_changed`` for it,
so api_tokens.password never hears of it; the saved row is compared with the stored one instead. Only the
switch revokes: tokens made later for a password-less account (a script's) survive its later saves."""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import is_password_usable
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from api_tokens.services import revoke_all

User = get_user_model()
_REVOKE = "_api_tokens_revoke"


def _disables_password(user: Any, update_fields: Any) -> bool:
    new = user.__dict__.get("password")  # from __dict__: a deferred field is not being saved
    if user._state.adding or new is None or is_password_usable(new):
        return False
    if update_fields is not None and "password" not in update_fields:
        return False
    # read from the database, not a snapshot taken at load: refresh_from_db would leave one stale
    stored = User._default_manager.filter(pk=user.pk).values_list("password", flat=True).first()
    return stored is not None and is_password_usable(stored)


@receiver(pre_save, sender=User, dispatch_uid="api-tokens-note-unusable-password")
def note_password_disabled(sender: Any, instance: Any, raw: bool = False, update_fields: Any = None, **kw: Any) -> None:
    setattr(instance, _REVOKE, not raw and _disables_password(instance, update_fields))


@receiver(post_save, sender=User, dispatch_uid="api-tokens-revoke-on-unusable-password")
def revoke_when_password_disabled(sender: Any, instance: Any, **kwargs: Any) -> None:
    if getattr(instance, _REVOKE, False):
        setattr(instance, _REVOKE, False)
        revoke_all(instance, reason="password-based authentication disabled")
