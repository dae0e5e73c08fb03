"""Projects arrive without losing a row: a database filled before them, migrated forward, has every
session and person in its owner's personal project with the same ids and numbers; back and forward again
loses nothing."""

from __future__ import annotations

import pytest

from tests.test_rooms_migration import latest, migrate

BEFORE = [
    ("sessions_app", "0016_people_and_audit_moved_out"),
    ("people", "0001_moved_from_sessions_app"),
    ("projects", None),
]


def fill_the_old_way(apps, user_ids: list[int]) -> dict:
    session_model, person_model = apps.get_model("sessions_app", "Session"), apps.get_model("people", "Person")
    ids: dict = {}
    for n, user_id in enumerate(user_ids):
        s = session_model.objects.create(owner_id=user_id, title=f"old {n}", status="done")
        alice = person_model.objects.create(owner_id=user_id, number=1, name=f"Alice {n}", embeddings=[[0.5] * 4])
        bob = person_model.objects.create(owner_id=user_id, number=2)
        apps.get_model("sessions_app", "Track").objects.create(session=s, key="t1", person=alice)
        apps.get_model("people", "PersonSuggestion").objects.create(
            owner_id=user_id, person=alice, candidate=bob, score=0.4, status="rejected"
        )
        ids[user_id] = {"session": s.pk, "alice": alice.pk, "bob": bob.pk}
    return ids


def read_the_new_way(ids: dict) -> None:
    from people.models import Person
    from people.suggestions import rejected_pairs
    from projects.models import Membership
    from sessions_app.models import Session

    for user_id, rows in ids.items():
        personal = Membership.objects.get(user_id=user_id, role="owner", project__personal=True).project
        assert list(personal.memberships.values_list("user_id", flat=True)) == [user_id]
        session = Session.objects.get(pk=rows["session"])
        assert (session.project_id, session.owner_id) == (personal.pk, user_id)
        people = Person.objects.filter(pk__in=[rows["alice"], rows["bob"]]).order_by("number")
        assert [(p.pk, p.number, p.project_id) for p in people] == [
            (rows["alice"], 1, personal.pk),
            (rows["bob"], 2, personal.pk),
        ]
        assert session.tracks.get().person_id == rows["alice"]
        assert rejected_pairs(personal) == {frozenset((rows["alice"], rows["bob"]))}


@pytest.mark.django_db(transaction=True)
def test_rows_from_before_projects_land_in_personal_projects(django_user_model):
    users = [django_user_model.objects.create_user(f"before-{n}", password="pw-12345678").pk for n in range(2)]
    head = latest()
    try:
        ids = fill_the_old_way(migrate(BEFORE), users)
        migrate(head)
        read_the_new_way(ids)
        back = migrate(BEFORE)
        assert back.get_model("people", "Person").objects.get(pk=ids[users[0]]["alice"]).name == "Alice 0"
        migrate(head)
        read_the_new_way(ids)
    finally:
        migrate(head)
