"""A stored LLM API key is bound to the URL it was entered with (finding 4 of the security issue).

Changing the URL, from the settings page, the admin or a shell, never sends the key elsewhere: the
service drops it, and the backend refuses a key whose binding does not match. A key is never sent over
plain http unless staff allow-listed the host. Admin changes of LLM settings are audited, ``user`` is
read-only there.
"""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from emotionsite import crypto
from summaries.backends.remote import RemoteLLM, remote_llm_for
from summaries.base import SummaryError
from summaries.models import AllowedLLMHost, LLMSettings
from tests.summaries.test_netguard import fake_dns
from tests.summaries.test_remote import MESSAGES, ChatHandler, llm_server  # noqa: F401 - the fixture

API_KEY = "sk-bound-secret-2718-xyz"
PUBLIC = {"llm.example": ["93.184.216.34"], "evil.example": ["93.184.216.35"], "public.test": ["93.184.216.36"]}


@pytest.fixture
def public_dns(monkeypatch):
    fake_dns(monkeypatch, PUBLIC)


def stored(user, url: str) -> LLMSettings:
    row = LLMSettings(user=user, remote_url=url, remote_model="m")
    row.set_api_key(API_KEY)
    row.save()
    return row


@pytest.mark.django_db
def test_admin_url_change_drops_the_key_keeps_the_user_and_is_audited(client, user, django_user_model, public_dns):
    staff = django_user_model.objects.create_user(username="staff-llm", password="x-pass-123", is_staff=True)
    other = django_user_model.objects.create_user(username="other-llm", password="x-pass-123")
    row = stored(user, "https://llm.example/v1")
    client.force_login(staff)
    url = reverse("admin:summaries_llmsettings_change", args=[row.pk])
    page = client.get(url).content.decode()
    assert 'name="user"' not in page  # read-only: shown, not a field
    response = client.post(
        url, {"user": other.pk, "remote_url": "https://evil.example/v1", "remote_model": "m", "_save": "Save"}
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    row.refresh_from_db()
    assert row.user_id == user.pk  # posting another user id changes nothing
    assert row.remote_url == "https://evil.example/v1"
    assert not row.has_api_key  # the key was entered for llm.example: it does not follow the URL
    entry = AuditEntry.objects.get(actor=staff, object_type="llmsettings")
    assert entry.owner_id == user.pk and entry.action == "settings"
    assert "remote_url" in entry.detail and "API key dropped" in entry.detail
    assert API_KEY not in entry.detail and "evil.example" not in entry.detail  # field names, never values

    # deleting the row from the admin is audited too
    client.post(reverse("admin:summaries_llmsettings_delete", args=[row.pk]), {"post": "yes"})
    assert not LLMSettings.objects.filter(pk=row.pk).exists()
    assert AuditEntry.objects.filter(actor=staff, owner=user, action="deleted", object_type="llmsettings").exists()


@pytest.mark.django_db
def test_a_key_is_never_sent_to_another_url(llm_server, user):  # noqa: F811 - the fixture
    """Changed behind the service's back (a shell, a raw update): the backend refuses the key."""
    port = llm_server.rsplit(":", 1)[1]
    AllowedLLMHost.objects.create(host="127.0.0.1")
    AllowedLLMHost.objects.create(host="localhost")
    row = stored(user, f"{llm_server}/ok/v1")
    assert remote_llm_for(user).generate(MESSAGES, max_new_tokens=8).text  # bound to this URL: sent
    ChatHandler.seen.clear()
    LLMSettings.objects.filter(pk=row.pk).update(remote_url=f"http://localhost:{port}/ok/v1")
    with pytest.raises(SummaryError, match="entered for another URL"):
        remote_llm_for(user)
    assert ChatHandler.seen == []


@pytest.mark.django_db
def test_key_over_plain_http_refused_unless_allow_listed(auth_client, user, public_dns, settings):
    page = reverse("llm_settings")
    form = {"remote_url": "http://llm.example/v1", "remote_model": "m", "api_key": API_KEY}
    response = auth_client.post(page, form)
    assert response.status_code == 200 and "https" in response.content.decode()
    assert API_KEY not in response.content.decode()
    assert not LLMSettings.objects.filter(user=user).exists()
    # without a key, plain http is fine; a key over https is fine
    assert auth_client.post(page, form | {"api_key": ""}).status_code == 302
    assert auth_client.post(page, form | {"remote_url": "https://llm.example/v1"}).status_code == 302
    assert LLMSettings.objects.get(user=user).get_api_key() == API_KEY
    AllowedLLMHost.objects.create(host="llm.example")
    assert auth_client.post(page, form).status_code == 302
    assert LLMSettings.objects.get(user=user).remote_url == "http://llm.example/v1"

    # the backend checks before each request too, before any connection is tried
    settings.EMOTION_LLM_CONNECT_TIMEOUT = 0.5
    with pytest.raises(SummaryError, match="https"):
        RemoteLLM(url="http://public.test/v1", model="m", api_key=API_KEY).generate(MESSAGES, max_new_tokens=8)


@pytest.mark.django_db
def test_migration_binds_existing_keys_to_their_url(user):
    from importlib import import_module

    from django.apps import apps

    row = LLMSettings.objects.create(
        user=user, remote_url="https://llm.example/v1", remote_model="m", api_key_encrypted=crypto.encrypt(API_KEY)
    )
    import_module("summaries.migrations.0002_bind_llm_keys").bind_keys(apps, None)
    row.refresh_from_db()
    assert row.get_api_key() == API_KEY
    LLMSettings.objects.filter(pk=row.pk).update(remote_url="https://evil.example/v1")
    with pytest.raises(SummaryError, match="entered for another URL"):
        remote_llm_for(user)
