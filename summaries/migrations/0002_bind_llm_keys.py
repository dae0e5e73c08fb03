"""Bind every stored API key to the row's current URL (keys were stored alone before).

A key that cannot be decrypted (its Fernet key is gone) is left as it is: it could not be used before
either, and the settings page asks for it again.
"""

from __future__ import annotations

from cryptography.fernet import InvalidToken
from django.db import migrations

from emotionsite import crypto
from summaries import key_binding


def bind_keys(apps, schema_editor):
    LLMSettings = apps.get_model("summaries", "LLMSettings")
    for row in LLMSettings.objects.exclude(api_key_encrypted=""):
        try:
            key, bound = key_binding.unpack(crypto.decrypt(row.api_key_encrypted))
        except InvalidToken:
            continue
        if bound is None:
            row.api_key_encrypted = crypto.encrypt(key_binding.pack(key, row.remote_url))
            row.save(update_fields=["api_key_encrypted"])


def unbind_keys(apps, schema_editor):
    LLMSettings = apps.get_model("summaries", "LLMSettings")
    for row in LLMSettings.objects.exclude(api_key_encrypted=""):
        try:
            key, bound = key_binding.unpack(crypto.decrypt(row.api_key_encrypted))
        except InvalidToken:
            continue
        if bound is not None:
            row.api_key_encrypted = crypto.encrypt(key)
            row.save(update_fields=["api_key_encrypted"])


class Migration(migrations.Migration):
    dependencies = [("summaries", "0001_initial")]

    operations = [migrations.RunPython(bind_keys, unbind_keys)]
