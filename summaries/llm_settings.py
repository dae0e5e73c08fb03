"""Every write of a user's LLM settings and of the allowed LLM hosts: page, admin and shell come through here.

A stored API key is bound to the URL it was entered with (see :mod:`summaries.key_binding`): a changed
URL drops the key unless a new key comes with it, and a key is accepted only for an https URL or a host
staff allow-listed. The row's user never changes. Every change and deletion writes an audit entry with
the names of what changed, never the values (the URL may name a private host, the key is a secret).
A user's saves of their own settings are rate limited (``llm_settings``): each one resolves a host name,
and refusals would otherwise let anyone probe the network as fast as they can post.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction

from audit import services as audit
from emotionsite import ratelimit
from summaries import netguard
from summaries.models import AllowedLLMHost, LLMSettings

KEY_DROPPED = "API key dropped (URL changed)"


class LLMSettingsError(Exception):
    """A refused change, with a message fit to show the user and the form field it concerns (or None)."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def settings_row(user: Any) -> LLMSettings:
    """The user's row, or a new unsaved one."""
    return LLMSettings.objects.filter(user=user).first() or LLMSettings(user=user)


def check_llm_settings(
    remote_url: str, remote_model: str, api_key: str = "", clear_api_key: bool = False
) -> tuple[str, str, str]:
    """The cleaned (url, model, key), or LLMSettingsError; forms call it to show errors on their fields."""
    url, model, api_key = (remote_url or "").strip(), (remote_model or "").strip(), (api_key or "").strip()
    if api_key and clear_api_key:
        raise LLMSettingsError("Either enter a new key or remove the stored one, not both.", "api_key")
    if url and not model:
        raise LLMSettingsError("Enter the model name the server should use.", "remote_model")
    if url:
        try:
            url = netguard.validate_llm_url(url)
        except netguard.UnsafeURLError as exc:
            raise LLMSettingsError(str(exc), "remote_url") from None
    if api_key:
        if not url:
            raise LLMSettingsError("Enter the URL this API key is for.", "remote_url")
        problem = netguard.key_transport_problem(url)
        if problem:
            raise LLMSettingsError(problem, "api_key")
    return url, model, api_key


def save_llm_settings(
    row: LLMSettings,
    *,
    remote_url: str,
    remote_model: str,
    api_key: str = "",
    clear_api_key: bool = False,
    actor: Any = None,
    request: Any = None,
    via: str = "",
) -> list[str]:
    """Check and store URL, model and (optionally) a new key; returns what changed ([] when nothing did).

    :class:`~emotionsite.ratelimit.RateLimited` when the owner saves too often (refused saves count too)."""
    if actor is not None and actor.pk == row.user_id:  # staff editing others' rows in the admin are not counted
        ratelimit.hit("llm_settings", actor.pk)
    url, model, api_key = check_llm_settings(remote_url, remote_model, api_key, clear_api_key)
    with transaction.atomic():
        if row.pk:  # the stored state, not what a form may have put on the instance
            row = LLMSettings.objects.select_for_update().get(pk=row.pk)
        changed = [name for name, new in (("remote_url", url), ("remote_model", model)) if getattr(row, name) != new]
        row.remote_url, row.remote_model = url, model
        notes = []
        if api_key:
            notes.append("API key replaced" if row.has_api_key else "API key set")
            row.set_api_key(api_key)  # bound to the new URL
        elif clear_api_key and row.has_api_key:
            row.set_api_key("")
            notes.append("API key removed")
        elif "remote_url" in changed and row.has_api_key:
            row.set_api_key("")  # it was entered for the old URL: never send it to the new one
            notes.append(KEY_DROPPED)
        if not (changed or notes or row.pk is None):
            return []
        row.save()
        what = ", ".join(changed) + " changed" if changed else "saved"
        detail = "; ".join([f"LLM settings: {what}", *notes]) + (f" ({via})" if via else "")
        audit.record(actor, audit.Action.SETTINGS, row, request=request, owner_id=row.user_id, detail=detail)
    return changed + notes


def delete_llm_settings(row: LLMSettings, *, actor: Any = None, request: Any = None, via: str = "") -> None:
    with transaction.atomic():
        audit.record(
            actor, audit.Action.DELETED, row, request=request, owner_id=row.user_id, detail=via or "LLM settings"
        )
        row.delete()


def save_allowed_host(host: AllowedLLMHost, fields: list[str], *, actor: Any = None, request: Any = None) -> None:
    """Store a staff allow-list row (``fields``: the names the form changed); audited, no owner."""
    created = host.pk is None
    if created:
        host.created_by = actor if getattr(actor, "is_authenticated", False) else None
    with transaction.atomic():
        host.save()
        audit.record_change(actor, host, fields, request=request, created=created)


def delete_allowed_host(host: AllowedLLMHost, *, actor: Any = None, request: Any = None) -> None:
    with transaction.atomic():
        audit.record(actor, audit.Action.DELETED, host, request=request, detail="allowed LLM host (admin)")
        host.delete()
