"""AuditEntry moved here from sessions_app: same table (sessions_app_auditentry), no data touched."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("sessions_app", "0015_session_people_changed_at"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # the tables stay where they are (db_table): only Django's picture of them moves
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEntry",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("actor_pseudonym", models.CharField(blank=True, max_length=40)),
                        (
                            "action",
                            models.CharField(
                                choices=[
                                    ("viewed", "Viewed"),
                                    ("exported", "Exported"),
                                    ("renamed", "Renamed"),
                                    ("merged", "Merged"),
                                    ("unmerged", "Merge undone"),
                                    ("not_same", "Marked not the same"),
                                    ("flagged", "Flagged as possibly several people"),
                                    ("flag_dismissed", "Flag dismissed"),
                                    ("split", "Split"),
                                    ("deleted", "Deleted"),
                                    ("consent", "Consent changed"),
                                    ("settings", "Settings changed"),
                                    ("media_deleted", "Media deleted"),
                                    ("reanalysed", "Re-analysed"),
                                    ("summarized", "Summary requested"),
                                    ("changed", "Changed"),
                                    ("account_deleted", "Account deleted"),
                                ],
                                max_length=20,
                            ),
                        ),
                        ("object_type", models.CharField(max_length=40)),
                        ("object_id", models.CharField(blank=True, max_length=40)),
                        ("object_repr", models.CharField(blank=True, max_length=200)),
                        ("detail", models.CharField(blank=True, max_length=500)),
                        ("ip", models.GenericIPAddressField(blank=True, null=True)),
                        ("created", models.DateTimeField(auto_now_add=True, db_index=True)),
                        (
                            "actor",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="audit_actions",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "owner",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="audit_about",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name_plural": "audit entries",
                        "db_table": "sessions_app_auditentry",
                        "ordering": ["-created", "-pk"],
                        "indexes": [
                            models.Index(fields=["actor", "-created"], name="sessions_ap_actor_i_eafa2b_idx"),
                            models.Index(fields=["owner", "-created"], name="sessions_ap_owner_i_6335bc_idx"),
                        ],
                    },
                ),
            ],
        ),
    ]
