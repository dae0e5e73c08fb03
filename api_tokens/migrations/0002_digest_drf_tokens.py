"""Replace DRF's clear tokens (table ``authtoken_token``, from before django-rest-knox) by knox digests.

knox finds a token by its first 15 characters and checks the SHA-512 of the whole key, which works for any
key, so each old 40-character key keeps working unchanged: clients need not be given new ones. Migrated
tokens get the usual lifetime from now on (they never expired before), and the clear rows are deleted. The
emptied table stays: ``rest_framework.authtoken`` is no longer installed, and its migrations stay recorded."""

from __future__ import annotations

from django.conf import settings
from django.db import migrations
from django.utils import timezone
from knox.crypto import hash_token
from knox.settings import CONSTANTS, knox_settings

DRF_TABLE = "authtoken_token"


def digest_drf_tokens(apps, schema_editor) -> None:
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if DRF_TABLE not in connection.introspection.table_names(cursor):
            return  # a database made after the switch: nothing to migrate
        cursor.execute(f"SELECT key, user_id, created FROM {DRF_TABLE}")
        rows = cursor.fetchall()
    ApiToken = apps.get_model("api_tokens", "ApiToken")
    ttl = knox_settings.TOKEN_TTL
    expiry = timezone.now() + ttl if ttl is not None else None
    for key, user_id, created in rows:
        token = ApiToken(
            digest=hash_token(key),
            token_key=key[: CONSTANTS.TOKEN_KEY_LENGTH],
            user_id=user_id,
            expiry=expiry,
            name="migrated token",
        )
        token.save()
        ApiToken.objects.filter(pk=token.pk).update(created=created)  # auto_now_add ignores a given value
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {DRF_TABLE}")


class Migration(migrations.Migration):
    dependencies = [
        ("api_tokens", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [migrations.RunPython(digest_drf_tokens, migrations.RunPython.noop)]
