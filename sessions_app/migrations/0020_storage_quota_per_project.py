"""The storage quota is per project: staff's per-user quotas move onto each user's personal project (where
that user's sessions were), and the per-user model goes. Reversible: a personal project's quota becomes its
owner's row again (a shared project's quota has no per-user equivalent and is dropped going back)."""

from __future__ import annotations

import importlib

from django.conf import settings
from django.db import migrations

_sessions = importlib.import_module("sessions_app.migrations.0017_session_project")


def to_projects(apps, schema_editor):
    quota_model = apps.get_model("sessions_app", "StorageQuota")
    project_model = apps.get_model("projects", "Project")
    rows = list(quota_model.objects.values_list("user_id", "quota_mb", "note"))
    personal = _sessions.personal_project_ids(apps, {user_id for user_id, _, _ in rows})
    for user_id, quota_mb, note in rows:
        project_model.objects.filter(pk=personal[user_id]).update(storage_quota_mb=quota_mb, storage_quota_note=note)


def to_users(apps, schema_editor):
    quota_model = apps.get_model("sessions_app", "StorageQuota")
    project_model = apps.get_model("projects", "Project")
    membership_model = apps.get_model("projects", "Membership")
    set_on = project_model.objects.filter(personal=True, storage_quota_mb__isnull=False)
    for project_id, quota_mb, note in set_on.values_list("pk", "storage_quota_mb", "storage_quota_note"):
        owner = membership_model.objects.filter(project_id=project_id, role="owner").values_list("user_id", flat=True)
        if owner:
            quota_model.objects.update_or_create(user_id=owner[0], defaults={"quota_mb": quota_mb, "note": note})
    project_model.objects.update(storage_quota_mb=None, storage_quota_note="")


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0019_session_original_name"),
        ("projects", "0002_project_quota_retention"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(to_projects, to_users),
        migrations.DeleteModel(name="StorageQuota"),
    ]
