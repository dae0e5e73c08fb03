"""Projects hold their retention setting and storage quota (sessions_app 0018 and people 0003 move the per-user
rows onto personal projects)."""

from __future__ import annotations

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="project",
            name="retention_days",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
        migrations.AddField(
            model_name="project",
            name="retention_keep_results",
            field=models.BooleanField(default=True),
        ),
        migrations.AddField(
            model_name="project",
            name="storage_quota_mb",
            field=models.PositiveIntegerField(
                blank=True,
                help_text="Megabytes this project's files may take together; empty: EMOTION_STORAGE_QUOTA_MB; 0: no limit.",
                null=True,
            ),
        ),
        migrations.AddField(
            model_name="project",
            name="storage_quota_note",
            field=models.CharField(blank=True, help_text="Why (shown to staff only).", max_length=200),
        ),
    ]
