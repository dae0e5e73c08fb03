"""Create, list and revoke API tokens. A key exists only in what create_token returns: the database holds
its digest (django-rest-knox), so a key that is lost cannot be shown again, only replaced."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone
from knox.settings import knox_settings

from api_tokens.models import ApiToken
from audit import services as audit


class TokenError(Exception):
    """A token that cannot be created; the message is meant for the user."""


def live_tokens(user: Any) -> QuerySet[ApiToken]:
    """The user's tokens that still work (knox deletes an expired one only when it is next presented)."""
    return ApiToken.objects.filter(user=user).filter(Q(expiry__isnull=True) | Q(expiry__gt=timezone.now()))


def ttl_days() -> int | None:
    """How long new tokens last, in days (None: they never expire)."""
    ttl = knox_settings.TOKEN_TTL
    return None if ttl is None else ttl.days


def create_token(user: Any, name: str = "", *, request: Any = None) -> tuple[ApiToken, str]:
    """A new token valid for REST_KNOX's TOKEN_TTL (EMOTION_API_TOKEN_TTL_DAYS); returns it and its key."""
    limit = knox_settings.TOKEN_LIMIT_PER_USER
    if limit is not None and live_tokens(user).count() >= limit:
        raise TokenError(f"You already have {limit} API tokens: revoke one you no longer use first.")
    token, key = ApiToken.objects.create(user=user, expiry=knox_settings.TOKEN_TTL, name=name.strip()[:100])
    expires = f"expires {token.expiry:%Y-%m-%d %H:%M} UTC" if token.expiry else "never expires"
    audit.record(user, audit.Action.SETTINGS, token, request=request, detail=f"API token created ({expires})")
    return token, key


def revoke_token(token: ApiToken, *, actor: Any, request: Any = None) -> None:
    audit.record(actor, audit.Action.SETTINGS, token, request=request, detail="API token revoked")
    token.delete()


def revoke_all(user: Any, *, reason: str, actor: Any = None, request: Any = None) -> int:
    """Delete every token of ``user``; how many there were."""
    count, _ = ApiToken.objects.filter(user=user).delete()
    if count:
        audit.record(
            actor or user,
            audit.Action.SETTINGS,
            object_type="apitoken",
            object_repr=f"{count} API token(s) of {user}",
            owner_id=user.pk,
            request=request,
            detail=f"API tokens revoked: {reason}",
        )
    return count
