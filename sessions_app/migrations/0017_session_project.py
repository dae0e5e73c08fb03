"""Sessions belong to a project: each existing one goes to its owner's personal project (ids unchanged)."""

from __future__ import annotations

from django.conf import settings
from django.db import migrations, models


def personal_project_ids(apps, user_ids) -> dict[int, int]:
    """user id -> personal project id, made where missing (a user created between the two migrations)."""
    project_model = apps.get_model("projects", "Project")
    membership_model = apps.get_model("projects", "Membership")
    user_model = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    found = dict(
        membership_model.objects.filter(role="owner", project__personal=True, user_id__in=user_ids).values_list(
            "user_id", "project_id"
        )
    )
    for user_id in set(user_ids) - found.keys():
        username = user_model.objects.filter(pk=user_id).values_list("username", flat=True).first() or ""
        project = project_model.objects.create(name=username[:100], personal=True)
        membership_model.objects.create(project=project, user_id=user_id, role="owner")
        found[user_id] = project.pk
    return found


def fill(apps, schema_editor):
    model = apps.get_model("sessions_app", "Session")
    owners = set(model.objects.values_list("owner_id", flat=True).distinct())
    for owner_id, project_id in personal_project_ids(apps, owners).items():
        model.objects.filter(owner_id=owner_id, project__isnull=True).update(project_id=project_id)


class Migration(migrations.Migration):
    dependencies = [
        ("sessions_app", "0016_people_and_audit_moved_out"),
        ("projects", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="session",
            name="project",
            field=models.ForeignKey(
                null=True, on_delete=models.deletion.PROTECT, related_name="sessions", to="projects.project"
            ),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="session",
            name="project",
            field=models.ForeignKey(on_delete=models.deletion.PROTECT, related_name="sessions", to="projects.project"),
        ),
        migrations.AddIndex(
            model_name="session",
            index=models.Index(fields=["project", "-created"], name="sessions_ap_project_idx"),
        ),
    ]
