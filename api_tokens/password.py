"""Revoke a user's API tokens whenever their password changes.

Listed in AUTH_PASSWORD_VALIDATORS, though it refuses no password: Django calls each validator's
``password_changed`` after every save of a new password (the password pages, the admin, ``changepassword``),
and not when a stored hash is merely upgraded to a newer hasher at log-in, which a user-model signal could not
tell apart from a change."""

from __future__ import annotations

from typing import Any


class RevokeApiTokensOnPasswordChange:
    def validate(self, password: str, user: Any = None) -> None:
        return None

    def password_changed(self, password: str, user: Any = None) -> None:
        from api_tokens.services import revoke_all  # the app registry is ready by the time a password changes

        if user is not None and user.pk is not None:
            revoke_all(user, reason="password changed")

    def get_help_text(self) -> str:
        return "A new password revokes every API token of the account."
