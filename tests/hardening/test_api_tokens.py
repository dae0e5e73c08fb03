"""API tokens (issue 13, finding 9): only digests are stored, tokens expire, users see and revoke their own,
a password change revokes them all, and the clear DRF tokens of an existing database are migrated."""

from __future__ import annotations

import hashlib
import importlib
import io
import re
from datetime import timedelta
from types import SimpleNamespace

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

NEW_KEY = re.compile(r'id="new-token"[^>]*>([^<]+)<')


def _api(key: str) -> int:
    return Client(HTTP_AUTHORIZATION=f"Token {key}").get("/api/sessions/").status_code


def _create(client: Client, name: str = "laptop script") -> str:
    """Create a token on the tokens page; the key is shown in that one response only."""
    r = client.post("/settings/tokens/", {"name": name})
    assert r.status_code == 200, r.status_code
    assert "no-store" in r["Cache-Control"]
    found = NEW_KEY.search(r.content.decode())
    assert found, "the new token is not shown once"
    return found.group(1).strip()


def _stored_text() -> str:
    """Every value of every row of every table the project's models own, as one string."""
    return repr([list(model._default_manager.values_list()) for model in apps.get_models()])


@pytest.fixture
def other(db):
    return get_user_model().objects.create_user(username="someone-else", password=None)


def test_tokens_are_stored_as_digests_and_expire(auth_client, user, settings):
    from api_tokens.models import ApiToken

    key = _create(auth_client)
    assert _api(key) == 200
    assert key not in _stored_text(), "the clear key is stored"
    token = ApiToken.objects.get(user=user)
    assert token.digest == hashlib.sha512(key.encode()).hexdigest() and token.name == "laptop script"
    assert timedelta(days=89) < token.expiry - timezone.now() <= timedelta(days=90)  # EMOTION_API_TOKEN_TTL_DAYS
    assert token.last_used is not None
    page = auth_client.get("/settings/tokens/").content.decode()
    assert key not in page and key[:8] in page and "laptop script" in page  # the prefix only, never again

    ApiToken.objects.filter(pk=token.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert _api(key) == 401
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": None}  # EMOTION_API_TOKEN_TTL_DAYS=0: no expiry
    assert ApiToken.objects.get(digest=hashlib.sha512(_create(auth_client).encode()).hexdigest()).expiry is None


def test_users_see_and_revoke_only_their_own_tokens(auth_client, user, other):
    from api_tokens.models import ApiToken

    key = _create(auth_client, "mine")
    token = ApiToken.objects.get(user=user)
    intruder = Client()
    intruder.force_login(other)
    their_key = _create(intruder, "theirs")
    page = intruder.get("/settings/tokens/").content.decode()
    assert "theirs" in page and "mine" not in page
    assert intruder.post(f"/settings/tokens/{token.pk}/revoke/").status_code == 404
    assert _api(key) == 200
    r = auth_client.post(f"/settings/tokens/{token.pk}/revoke/")
    assert r.status_code == 302
    assert _api(key) == 401 and _api(their_key) == 200
    assert not ApiToken.objects.filter(pk=token.pk).exists()


def test_password_change_revokes_every_token(client, user, password):
    client.force_login(user)
    keys = [_create(client, "one"), _create(client, "two")]
    assert [_api(k) for k in keys] == [200, 200]
    r = client.post(
        "/accounts/password/",
        {"old_password": password, "new_password1": "another-Horse-77x", "new_password2": "another-Horse-77x"},
    )
    assert r.status_code == 302, r.content[:500]
    assert [_api(k) for k in keys] == [401, 401]


def test_disabling_password_log_in_in_the_admin_revokes_every_token(client, admin_client, user, other):
    from api_tokens.models import ApiToken
    from audit.models import AuditEntry

    client.force_login(user)
    keys = [_create(client, "one"), _create(client, "two")]
    bystander = Client()
    bystander.force_login(other)
    their_key = _create(bystander, "theirs")
    r = admin_client.post(f"/admin/auth/user/{user.pk}/password/", {"usable_password": "false", "unset-password": "1"})
    assert r.status_code == 302, r.content[:500]
    user.refresh_from_db()
    assert not user.has_usable_password()
    assert [_api(k) for k in keys] == [401, 401]
    assert not ApiToken.objects.filter(user=user).exists()
    assert AuditEntry.objects.filter(owner_id=user.pk, detail__contains="API tokens revoked").exists()
    assert _api(their_key) == 200  # only that user's
    # A save that leaves the password as it is (unusable) keeps tokens made since: only the switch revokes.
    ApiToken.objects.create(user=user, expiry=None)
    user.first_name = "Renamed"
    user.save()
    assert ApiToken.objects.filter(user=user).count() == 1


def test_clear_drf_tokens_are_migrated_to_digests(user):
    """An existing database holds DRF's authtoken_token rows in clear: the migration stores their digests,
    so the same keys keep working (with an expiry), and deletes the clear rows."""
    from api_tokens.models import ApiToken

    key = "0123456789abcdef0123456789abcdef01234567"  # DRF's 40 hex characters
    with connection.cursor() as cur:
        cur.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, created timestamptz NOT NULL,"
            " user_id integer NOT NULL UNIQUE)"
        )
        cur.execute("INSERT INTO authtoken_token VALUES (%s, now() - interval '3 days', %s)", [key, user.pk])
    migration = importlib.import_module("api_tokens.migrations.0002_digest_drf_tokens")
    migration.digest_drf_tokens(apps, SimpleNamespace(connection=connection))
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM authtoken_token")
        assert cur.fetchone()[0] == 0
    token = ApiToken.objects.get(user=user)
    assert token.digest == hashlib.sha512(key.encode()).hexdigest() and token.expiry is not None
    assert timezone.now() - token.created > timedelta(days=2)
    assert key not in _stored_text()
    assert _api(key) == 200


def test_api_token_command_prints_a_new_token(user):
    out = io.StringIO()
    call_command("api_token", user.username, stdout=out)
    first = out.getvalue().strip()
    assert _api(first) == 200 and first not in _stored_text()
    out = io.StringIO()
    call_command("api_token", user.username, "--reset", stdout=out)
    second = out.getvalue().strip()
    assert _api(first) == 401 and _api(second) == 200
