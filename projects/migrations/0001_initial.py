from __future__ import annotations

from django.conf import settings
from django.db import migrations, models


def personal_projects(apps, schema_editor):
    """Every existing user gets the personal project that sign-up now makes."""
    user_model = apps.get_model(*settings.AUTH_USER_MODEL.split("."))
    project_model = apps.get_model("projects", "Project")
    membership_model = apps.get_model("projects", "Membership")
    have = set(membership_model.objects.filter(role="owner", project__personal=True).values_list("user_id", flat=True))
    for user_id, username in user_model.objects.exclude(pk__in=have).values_list("pk", "username"):
        project = project_model.objects.create(name=username[:100], personal=True)
        membership_model.objects.create(project=project, user_id=user_id, role="owner")


class Migration(migrations.Migration):
    initial = True

    dependencies = [migrations.swappable_dependency(settings.AUTH_USER_MODEL)]

    operations = [
        migrations.CreateModel(
            name="Project",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("name", models.CharField(max_length=100)),
                ("personal", models.BooleanField(default=False)),
                ("created", models.DateTimeField(auto_now_add=True)),
            ],
            options={"ordering": ["-personal", "name", "pk"]},
        ),
        migrations.CreateModel(
            name="Membership",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "role",
                    models.CharField(
                        choices=[("owner", "Owner"), ("analyst", "Analyst"), ("viewer", "Viewer")], max_length=10
                    ),
                ),
                ("created", models.DateTimeField(auto_now_add=True)),
                (
                    "project",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE, related_name="memberships", to="projects.project"
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        on_delete=models.deletion.CASCADE, related_name="memberships", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "ordering": ["project", "user__username"],
                "constraints": [
                    models.UniqueConstraint(fields=("project", "user"), name="membership_project_user_unique")
                ],
            },
        ),
        migrations.RunPython(personal_projects, migrations.RunPython.noop),
    ]
