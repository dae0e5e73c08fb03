"""Entries carry their object's project and the actor's role there. Existing entries about a session, a
person or a project get that row's project where it still exists; the rest (and every old role) stay empty:
nothing is guessed, no old value changes. Back: the two columns go (the rows stay)."""

import django.db.models.deletion
from django.db import migrations, models

# object_type -> (app, model) whose row's project the entry takes
PROJECT_OF = {"session": ("sessions_app", "Session"), "person": ("people", "Person")}


def fill_projects(apps, schema_editor):
    entry_table = apps.get_model("audit", "AuditEntry")._meta.db_table
    sources = {kind: apps.get_model(*model)._meta.db_table for kind, model in PROJECT_OF.items()}
    project_table = apps.get_model("projects", "Project")._meta.db_table
    quote = schema_editor.quote_name
    with schema_editor.connection.cursor() as cursor:
        # object_id is text: only plain numbers are compared with the rows' ids (no cast can fail)
        for kind, table in [*sources.items(), ("project", None)]:
            project = "s.project_id" if table else "s.id"
            cursor.execute(
                f"UPDATE {quote(entry_table)} AS e SET project_id = {project} "
                f"FROM {quote(table or project_table)} AS s "
                "WHERE e.project_id IS NULL AND e.object_type = %s AND e.object_id ~ '^[0-9]{1,18}$' "
                "AND s.id = e.object_id::bigint",
                [kind],
            )


class Migration(migrations.Migration):
    dependencies = [
        ("audit", "0001_moved_from_sessions_app"),
        ("projects", "0001_initial"),
        ("sessions_app", "0017_session_project"),
        ("people", "0002_person_project"),
    ]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="actor_role",
            field=models.CharField(blank=True, max_length=10),
        ),
        migrations.AddField(
            model_name="auditentry",
            name="project",
            field=models.ForeignKey(
                blank=True,
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.SET_NULL,
                related_name="+",
                to="projects.project",
            ),
        ),
        migrations.AddIndex(
            model_name="auditentry",
            index=models.Index(fields=["project", "-created"], name="audit_project_created_idx"),
        ),
        migrations.RunPython(fill_projects, migrations.RunPython.noop),
    ]
