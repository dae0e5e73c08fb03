"""The people models and the audit log left this app (people 0001, audit 0001): state only, the tables stay.

Content types follow the models, so admin permissions and admin log entries keep pointing at them."""

import django.db.models.deletion
from django.db import migrations, models

MOVED = {
    "person": "people",
    "personthumbnail": "people",
    "personsuggestion": "people",
    "personflag": "people",
    "personmerge": "people",
    "usersettings": "people",
    "auditentry": "audit",
}


def _relabel(apps, pairs) -> None:
    content_type = apps.get_model("contenttypes", "ContentType")
    for model, old, new in pairs:
        if not content_type.objects.filter(app_label=new, model=model).exists():
            content_type.objects.filter(app_label=old, model=model).update(app_label=new)


def move_content_types(apps, schema_editor) -> None:
    _relabel(apps, [(model, "sessions_app", app) for model, app in MOVED.items()])


def move_content_types_back(apps, schema_editor) -> None:
    _relabel(apps, [(model, app, "sessions_app") for model, app in MOVED.items()])


class Migration(migrations.Migration):
    dependencies = [
        ("contenttypes", "0002_remove_content_type_name"),
        ("audit", "0001_moved_from_sessions_app"),
        ("people", "0001_moved_from_sessions_app"),
        ("sessions_app", "0015_session_people_changed_at"),
    ]

    operations = [
        # the tables stay where they are (db_table): only Django's picture of them moves
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(
                    model_name="personmerge",
                    name="audit_entry",
                ),
                migrations.RemoveField(
                    model_name="person",
                    name="owner",
                ),
                migrations.RemoveField(
                    model_name="personmerge",
                    name="keep",
                ),
                migrations.RemoveField(
                    model_name="personthumbnail",
                    name="person",
                ),
                migrations.AlterField(
                    model_name="track",
                    name="person",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="tracks",
                        to="people.person",
                    ),
                ),
                migrations.RemoveField(
                    model_name="personsuggestion",
                    name="candidate",
                ),
                migrations.RemoveField(
                    model_name="personsuggestion",
                    name="person",
                ),
                migrations.RemoveField(
                    model_name="personflag",
                    name="person",
                ),
                migrations.AlterField(
                    model_name="observation",
                    name="person",
                    field=models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="observations",
                        to="people.person",
                    ),
                ),
                migrations.RemoveField(
                    model_name="personflag",
                    name="decided_by",
                ),
                migrations.RemoveField(
                    model_name="personmerge",
                    name="owner",
                ),
                migrations.RemoveField(
                    model_name="personsuggestion",
                    name="decided_by",
                ),
                migrations.RemoveField(
                    model_name="personsuggestion",
                    name="owner",
                ),
                migrations.RemoveField(
                    model_name="usersettings",
                    name="user",
                ),
                migrations.DeleteModel(
                    name="AuditEntry",
                ),
                migrations.DeleteModel(
                    name="PersonThumbnail",
                ),
                migrations.DeleteModel(
                    name="Person",
                ),
                migrations.DeleteModel(
                    name="PersonFlag",
                ),
                migrations.DeleteModel(
                    name="PersonMerge",
                ),
                migrations.DeleteModel(
                    name="PersonSuggestion",
                ),
                migrations.DeleteModel(
                    name="UserSettings",
                ),
            ],
        ),
        migrations.RunPython(move_content_types, move_content_types_back),
    ]
