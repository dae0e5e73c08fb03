"""People belong to a project: each existing one goes to its owner's personal project (ids and numbers
unchanged: numbers were per owner, so they are unique in the personal project too)."""

from __future__ import annotations

import importlib

from django.conf import settings
from django.db import migrations, models

# the same helper as the sessions' migration (one rule for "the owner's personal project")
_sessions = importlib.import_module("sessions_app.migrations.0017_session_project")


def fill(apps, schema_editor):
    model = apps.get_model("people", "Person")
    owners = set(model.objects.values_list("owner_id", flat=True).distinct())
    for owner_id, project_id in _sessions.personal_project_ids(apps, owners).items():
        model.objects.filter(owner_id=owner_id, project__isnull=True).update(project_id=project_id)


class Migration(migrations.Migration):
    dependencies = [
        ("people", "0001_moved_from_sessions_app"),
        ("sessions_app", "0017_session_project"),
        ("projects", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="person",
            name="project",
            field=models.ForeignKey(
                null=True, on_delete=models.deletion.PROTECT, related_name="people", to="projects.project"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="person",
            name="project",
            field=models.ForeignKey(on_delete=models.deletion.PROTECT, related_name="people", to="projects.project"),
        ),
        migrations.RemoveConstraint(model_name="person", name="person_owner_number_unique"),
        migrations.AddConstraint(
            model_name="person",
            constraint=models.UniqueConstraint(fields=("project", "number"), name="person_project_number_unique"),
        ),
        migrations.AlterModelOptions(
            name="person",
            options={"ordering": ["project", "number"]},
        ),
    ]
