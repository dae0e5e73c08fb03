"""People, their thumbnails, suggestions, flags, merges and privacy settings moved here from sessions_app:
same tables (sessions_app_person, ...), no data touched."""

import django.db.models.deletion
import django.db.models.functions.comparison
from django.conf import settings
from django.db import migrations, models

import people.models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("sessions_app", "0015_session_people_changed_at"),
        ("audit", "0001_moved_from_sessions_app"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        # the tables stay where they are (db_table): only Django's picture of them moves
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="Person",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("number", models.PositiveIntegerField()),
                        ("name", models.CharField(blank=True, max_length=120)),
                        ("embeddings", models.JSONField(blank=True, default=list)),
                        ("consent_given", models.BooleanField(default=False)),
                        ("consent_at", models.DateTimeField(blank=True, null=True)),
                        ("consent_note", models.CharField(blank=True, max_length=500)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        (
                            "owner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="people",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "sessions_app_person",
                        "ordering": ["owner", "number"],
                    },
                ),
                migrations.CreateModel(
                    name="PersonFlag",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        (
                            "kind",
                            models.CharField(
                                choices=[("split", "Possibly several people")], default="split", max_length=10
                            ),
                        ),
                        (
                            "status",
                            models.CharField(
                                choices=[("open", "Open"), ("dismissed", "Dismissed"), ("resolved", "Resolved")],
                                default="open",
                                max_length=10,
                            ),
                        ),
                        ("groups", models.JSONField(blank=True, default=list)),
                        ("distance", models.FloatField(default=0.0)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        ("decided_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "decided_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "person",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE, related_name="flags", to="people.person"
                            ),
                        ),
                    ],
                    options={
                        "db_table": "sessions_app_personflag",
                        "ordering": ["person", "-created", "-pk"],
                    },
                ),
                migrations.CreateModel(
                    name="PersonMerge",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("merged_id", models.PositiveBigIntegerField()),
                        ("merged_number", models.PositiveIntegerField()),
                        ("merged_name", models.CharField(blank=True, max_length=120)),
                        ("merged_consent", models.JSONField(blank=True, default=dict)),
                        ("merged_embeddings", models.JSONField(blank=True, default=list)),
                        ("keep_embeddings", models.JSONField(blank=True, default=list)),
                        ("keep_took_name", models.BooleanField(default=False)),
                        ("loose_observation_ids", models.JSONField(blank=True, default=list)),
                        ("foreign_observation_ids", models.JSONField(blank=True, default=list)),
                        ("track_ids", models.JSONField(blank=True, default=list)),
                        ("thumbnail_ids", models.JSONField(blank=True, default=list)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        ("undone_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "audit_entry",
                            models.OneToOneField(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="person_merge",
                                to="audit.auditentry",
                            ),
                        ),
                        (
                            "keep",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="merges_in",
                                to="people.person",
                            ),
                        ),
                        (
                            "owner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="person_merges",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "sessions_app_personmerge",
                        "ordering": ["-created", "-pk"],
                    },
                ),
                migrations.CreateModel(
                    name="PersonSuggestion",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("score", models.FloatField(default=0.0)),
                        ("margin", models.FloatField(default=0.0)),
                        (
                            "status",
                            models.CharField(
                                choices=[("open", "Open"), ("confirmed", "Confirmed"), ("rejected", "Rejected")],
                                default="open",
                                max_length=10,
                            ),
                        ),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        ("decided_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "candidate",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="suggestions_as_candidate",
                                to="people.person",
                            ),
                        ),
                        (
                            "decided_by",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.SET_NULL,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "owner",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="person_suggestions",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                        (
                            "person",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="suggestions_as_person",
                                to="people.person",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "sessions_app_personsuggestion",
                        "ordering": ["owner", "-created", "-pk"],
                    },
                ),
                migrations.CreateModel(
                    name="PersonThumbnail",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("image", models.FileField(max_length=300, upload_to=people.models.thumbnail_path)),
                        ("size", models.PositiveBigIntegerField(default=0)),
                        ("created", models.DateTimeField(auto_now_add=True)),
                        (
                            "person",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="thumbnails",
                                to="people.person",
                            ),
                        ),
                    ],
                    options={
                        "db_table": "sessions_app_personthumbnail",
                        "ordering": ["created"],
                    },
                ),
                migrations.CreateModel(
                    name="UserSettings",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                            ),
                        ),
                        ("retention_days", models.PositiveIntegerField(blank=True, null=True)),
                        ("retention_keep_results", models.BooleanField(default=True)),
                        ("updated", models.DateTimeField(auto_now=True)),
                        (
                            "user",
                            models.OneToOneField(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="privacy_settings",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "user settings",
                        "verbose_name_plural": "user settings",
                        "db_table": "sessions_app_usersettings",
                    },
                ),
                migrations.AddConstraint(
                    model_name="person",
                    constraint=models.UniqueConstraint(fields=("owner", "number"), name="person_owner_number_unique"),
                ),
                migrations.AddConstraint(
                    model_name="personflag",
                    constraint=models.UniqueConstraint(
                        condition=models.Q(("status", "open")),
                        fields=("person", "kind"),
                        name="person_flag_open_unique",
                    ),
                ),
                migrations.AddIndex(
                    model_name="personsuggestion",
                    index=models.Index(fields=["owner", "status"], name="sessions_ap_owner_i_14f7c0_idx"),
                ),
                migrations.AddConstraint(
                    model_name="personsuggestion",
                    constraint=models.UniqueConstraint(
                        models.F("owner"),
                        django.db.models.functions.comparison.Least("person", "candidate"),
                        django.db.models.functions.comparison.Greatest("person", "candidate"),
                        name="suggestion_pair_unique",
                    ),
                ),
                migrations.AddConstraint(
                    model_name="personsuggestion",
                    constraint=models.CheckConstraint(
                        condition=models.Q(("person", models.F("candidate")), _negated=True),
                        name="suggestion_two_people",
                    ),
                ),
            ],
        ),
    ]
