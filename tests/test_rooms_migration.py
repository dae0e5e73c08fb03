"""Moving the people models and the audit log out of sessions_app keeps every row (people 0001, audit 0001,
sessions_app 0016 are state-only, plus content types): a database filled the old way, migrated forward,
reads the same through the new models, and migrating back and forth again loses nothing."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

BEFORE = [("sessions_app", "0015_session_people_changed_at"), ("people", None), ("audit", None)]


def migrate(targets):
    """Migrate to ``targets``; the models as they are there (the nodes that exist, with content types)."""
    executor = MigrationExecutor(connection)
    executor.migrate(targets)
    executor.loader.build_graph()
    nodes = [(app, name) for app, name in targets if name] + [("contenttypes", "0002_remove_content_type_name")]
    return executor.loader.project_state(nodes, at_end=True).apps


def latest():
    executor = MigrationExecutor(connection)
    return executor.loader.graph.leaf_nodes()


def fill_the_old_way(apps, user_id: int) -> dict:
    """Rows written through sessions_app's historic models, before the move."""
    session_model = apps.get_model("sessions_app", "Session")
    person_model = apps.get_model("sessions_app", "Person")
    session = session_model.objects.create(owner_id=user_id, title="old way", status="done")
    alice = person_model.objects.create(owner_id=user_id, number=1, name="Alice", embeddings=[[0.5] * 4])
    bob = person_model.objects.create(owner_id=user_id, number=2)
    track = apps.get_model("sessions_app", "Track").objects.create(session=session, key="t1", person=alice)
    apps.get_model("sessions_app", "PersonThumbnail").objects.create(person=alice, image="people/1/1/a.jpg", size=7)
    apps.get_model("sessions_app", "PersonSuggestion").objects.create(
        owner_id=user_id, person=alice, candidate=bob, score=0.4
    )
    apps.get_model("sessions_app", "PersonFlag").objects.create(person=alice, groups=[[track.pk]])
    entry = apps.get_model("sessions_app", "AuditEntry").objects.create(
        actor_id=user_id, owner_id=user_id, action="merged", object_type="person", object_id=str(alice.pk)
    )
    apps.get_model("sessions_app", "PersonMerge").objects.create(
        owner_id=user_id, keep=alice, audit_entry=entry, merged_id=99, merged_number=3, track_ids=[track.pk]
    )
    apps.get_model("sessions_app", "UserSettings").objects.create(user_id=user_id, retention_days=30)
    return {"session": session.pk, "alice": alice.pk, "bob": bob.pk, "track": track.pk, "entry": entry.pk}


def read_the_new_way(ids: dict, user_id: int) -> None:
    from django.contrib.auth import get_user_model

    from audit.models import AuditEntry
    from people.models import Person, PersonFlag, PersonMerge, PersonSuggestion
    from projects.services import personal_project
    from sessions_app.models import Track

    alice = Person.objects.get(pk=ids["alice"])
    assert (alice.name, alice.number, alice.embeddings) == ("Alice", 1, [[0.5] * 4])
    assert Track.objects.get(pk=ids["track"]).person == alice  # the foreign key still reaches the row
    assert list(alice.thumbnails.values_list("image", "size")) == [("people/1/1/a.jpg", 7)]
    suggestion = PersonSuggestion.objects.get(person=alice)
    assert (suggestion.candidate_id, suggestion.score) == (ids["bob"], 0.4)
    assert PersonFlag.objects.get(person=alice).groups == [[ids["track"]]]
    merge = PersonMerge.objects.get(keep=alice)
    assert (merge.merged_id, merge.audit_entry_id, merge.track_ids) == (99, ids["entry"], [ids["track"]])
    assert AuditEntry.objects.get(pk=ids["entry"]).person_merge == merge
    # retention moved on to the user's personal project (people 0003, issue 25)
    assert personal_project(get_user_model().objects.get(pk=user_id)).retention_days == 30


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_the_move_read_the_same_after_it(django_user_model):
    user = django_user_model.objects.create_user("mover", password="pw-12345678")
    head = latest()
    try:
        old_apps = migrate(BEFORE)
        # the content type rows of the moved models, as an existing database has them
        content_type = old_apps.get_model("contenttypes", "ContentType")
        for model in ("person", "auditentry"):
            content_type.objects.filter(model=model).exclude(app_label="sessions_app").delete()
            content_type.objects.get_or_create(app_label="sessions_app", model=model)
        ids = fill_the_old_way(old_apps, user.pk)
        migrate(head)
        ContentType.objects.clear_cache()
        read_the_new_way(ids, user.pk)
        assert ContentType.objects.filter(app_label="people", model="person").exists()
        assert ContentType.objects.filter(app_label="audit", model="auditentry").exists()
        assert not ContentType.objects.filter(app_label="sessions_app", model__in=["person", "auditentry"]).exists()

        # reversible: back to the old picture (content types too), then forward again, nothing lost
        back = migrate(BEFORE)
        assert back.get_model("sessions_app", "Person").objects.get(pk=ids["alice"]).name == "Alice"
        assert back.get_model("contenttypes", "ContentType").objects.filter(app_label="sessions_app", model="person")
        migrate(head)
        ContentType.objects.clear_cache()
        read_the_new_way(ids, user.pk)
    finally:
        migrate(head)
        ContentType.objects.clear_cache()
