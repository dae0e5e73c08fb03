"""Retention is per project: each user's setting moves onto their personal project (the only project it
covered), and the per-user model goes. Reversible: a personal project's setting becomes its owner's row
again (a shared project's setting has no per-user equivalent and is dropped going back)."""

from __future__ import annotations

import importlib

from django.conf import settings
from django.db import migrations

_sessions = importlib.import_module("sessions_app.migrations.0017_session_project")


def to_projects(apps, schema_editor):
    prefs_model = apps.get_model("people", "UserSettings")
    project_model = apps.get_model("projects", "Project")
    rows = list(prefs_model.objects.values_list("user_id", "retention_days", "retention_keep_results"))
    personal = _sessions.personal_project_ids(apps, {user_id for user_id, _, _ in rows})
    for user_id, days, keep in rows:
        project_model.objects.filter(pk=personal[user_id]).update(retention_days=days, retention_keep_results=keep)


def to_users(apps, schema_editor):
    prefs_model = apps.get_model("people", "UserSettings")
    project_model = apps.get_model("projects", "Project")
    membership_model = apps.get_model("projects", "Membership")
    chosen = project_model.objects.filter(personal=True).exclude(
        retention_days__isnull=True, retention_keep_results=True
    )
    for project_id, days, keep in chosen.values_list("pk", "retention_days", "retention_keep_results"):
        owner = membership_model.objects.filter(project_id=project_id, role="owner").values_list("user_id", flat=True)
        if owner:
            prefs_model.objects.update_or_create(
                user_id=owner[0], defaults={"retention_days": days, "retention_keep_results": keep}
            )
    project_model.objects.update(retention_days=None, retention_keep_results=True)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0002_person_project"),
        ("projects", "0002_project_quota_retention"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RunPython(to_projects, to_users),
        migrations.DeleteModel(name="UserSettings"),
    ]
