"""The per-user storage quota and retention move onto personal projects (sessions_app 0020, people 0003): a
database filled the old way, migrated forward, has each user's settings on their personal project; back
brings the per-user rows again, forward again loses nothing."""

from __future__ import annotations

import pytest

from tests.test_rooms_migration import latest, migrate

BEFORE = [("sessions_app", "0019_session_original_name"), ("people", "0002_person_project")]


def personal_of(user_id: int):
    from projects.models import Membership

    return Membership.objects.get(user_id=user_id, role="owner", project__personal=True).project


def read_the_new_way(raised: int, plain: int) -> None:
    from projects.models import Project

    mine = personal_of(raised)
    assert (mine.storage_quota_mb, mine.storage_quota_note) == (5, "long study")
    assert (mine.retention_days, mine.retention_keep_results) == (30, False)
    theirs = personal_of(plain)
    assert (theirs.storage_quota_mb, theirs.retention_days, theirs.retention_keep_results) == (None, 9, True)
    # nothing else took a setting: shared projects start with none
    others = Project.objects.exclude(pk__in=[mine.pk, theirs.pk])
    assert not others.filter(storage_quota_mb__isnull=False).exists()
    assert not others.filter(retention_days__isnull=False).exists()


@pytest.mark.django_db(transaction=True)
def test_per_user_quota_and_retention_land_on_personal_projects_and_back(django_user_model):
    raised, plain = (django_user_model.objects.create_user(f"q-mig-{n}", password="pw-12345678").pk for n in range(2))
    head = latest()
    try:
        old = migrate(BEFORE)
        old.get_model("sessions_app", "StorageQuota").objects.create(user_id=raised, quota_mb=5, note="long study")
        prefs = old.get_model("people", "UserSettings")
        prefs.objects.create(user_id=raised, retention_days=30, retention_keep_results=False)
        prefs.objects.create(user_id=plain, retention_days=9)
        migrate(head)
        read_the_new_way(raised, plain)

        back = migrate(BEFORE)
        quotas = back.get_model("sessions_app", "StorageQuota").objects.values_list("user_id", "quota_mb", "note")
        assert list(quotas) == [(raised, 5, "long study")]
        kept = back.get_model("people", "UserSettings").objects.order_by("user_id")
        assert list(kept.values_list("user_id", "retention_days", "retention_keep_results")) == [
            (raised, 30, False),
            (plain, 9, True),
        ]
        migrate(head)
        read_the_new_way(raised, plain)
    finally:
        migrate(head)
