"""Merge, split and delete people: every observation stays accounted for; face data and files go."""

from __future__ import annotations

import pytest

from audit.models import AuditEntry
from people import services as people
from people.models import Person, PersonThumbnail
from sessions_app.models import Observation, Track
from tests.people.conftest import counts, embedding, stored_path
from tests.sessions import conftest as sessions_conftest

media_dir = sessions_conftest.media_dir  # the shared-media fixture: skips with its reason when missing

pytestmark = pytest.mark.django_db


def test_merge_moves_everything_and_keeps_counts(people_world, django_capture_on_commit_callbacks):
    w = people_world
    before = counts()
    assert before == {w.alice.pk: 30, w.bob.pk: 5, w.carol.pk: 4, None: 3}
    bob_thumb = w.bob.thumbnails.get()
    with django_capture_on_commit_callbacks(execute=True):
        moved = people.merge_people(w.alice, w.bob, actor=w.owner)
    assert moved == {"observations": 5, "tracks": 1, "thumbnails": 1, "embeddings": 1}
    after = counts()
    assert after == {w.alice.pk: 35, w.carol.pk: 4, None: 3}
    assert sum(after.values()) == sum(before.values())
    assert not Person.objects.filter(pk=w.bob.pk).exists()
    alice = Person.objects.get(pk=w.alice.pk)
    assert alice.name == "Alice"  # the kept person's name wins
    assert len(alice.embeddings) == 3
    assert set(Track.objects.filter(person=alice).values_list("key", flat=True)) == {"0:1", "0:2"}
    assert Track.objects.filter(person=alice).count() == 3
    bob_thumb.refresh_from_db()
    assert bob_thumb.person_id == alice.pk and stored_path(bob_thumb.image.name).is_file()  # file kept, moved
    entry = AuditEntry.objects.get(action="merged")
    assert entry.actor == w.owner and entry.owner == w.owner and entry.object_id == str(alice.pk)


def test_merge_refuses_other_project_and_same_person(people_world, other_user):
    w = people_world
    stranger = Person.objects.create(owner=other_user, number=1, name="Stranger")  # in their personal project
    with pytest.raises(people.PeopleError, match="same project"):
        people.merge_people(w.alice, stranger)
    with pytest.raises(people.PeopleError, match="two different"):
        people.merge_people(w.alice, w.alice)
    assert Person.objects.filter(pk=stranger.pk).exists()
    assert counts()[w.alice.pk] == 30


def test_split_track_into_new_person(people_world):
    w = people_world
    before = counts()
    new = people.split_track(w.tracks["b-alice"], actor=w.owner)
    assert new.owner == w.owner and new.number == 4 and new.name == ""
    assert new.embeddings == [embedding(0.2)]
    after = counts()
    assert after[w.alice.pk] == 10 and after[new.pk] == 20
    assert sum(after.values()) == sum(before.values())
    assert Observation.objects.filter(track=w.tracks["b-alice"]).exclude(person=new).count() == 0
    alice = Person.objects.get(pk=w.alice.pk)
    assert alice.embeddings == [embedding(0.1)]  # the split track's embedding no longer points at Alice
    assert Track.objects.get(pk=w.tracks["b-alice"].pk).person == new
    assert AuditEntry.objects.filter(action="split", object_id=str(alice.pk)).count() == 1


def test_split_refuses_only_track(people_world):
    w = people_world
    with pytest.raises(people.PeopleError, match="only track"):
        people.split_track(w.tracks["a-bob"])
    with pytest.raises(people.PeopleError, match="belongs to nobody"):
        people.split_track(w.tracks["a-none"])
    assert counts()[w.bob.pk] == 5


@pytest.mark.parametrize("keep", [True, False])
def test_delete_person_removes_face_data(people_world, django_capture_on_commit_callbacks, keep):
    w = people_world
    thumb_file = stored_path(w.alice.thumbnails.get().image.name)
    assert thumb_file.is_file()
    before = counts()
    with django_capture_on_commit_callbacks(execute=True):
        result = people.delete_person(w.alice, keep_observations=keep, actor=w.owner)
    assert result == {"observations": 30, "thumbnails": 1}
    assert not thumb_file.exists()
    assert not Person.objects.filter(pk=w.alice.pk).exists()
    assert not PersonThumbnail.objects.filter(person_id=w.alice.pk).exists()
    after = counts()
    assert w.alice.pk not in after
    assert after[w.bob.pk] == 5 and after[w.carol.pk] == 4  # others untouched
    alice_tracks = Track.objects.filter(pk__in=[w.tracks["a-alice"].pk, w.tracks["b-alice"].pk])
    if keep:
        assert after[None] == before[None] + 30
        assert list(alice_tracks.values_list("person", "embedding")) == [(None, None), (None, None)]
    else:
        assert after[None] == before[None]
        assert not alice_tracks.exists()
    entry = AuditEntry.objects.get(action="deleted")
    assert entry.object_repr == "Alice" and ("kept" in entry.detail) == keep


def test_rename_and_consent(people_world):
    w = people_world
    people.rename_person(w.carol, "  Carol   Smith ", actor=w.owner)
    assert Person.objects.get(pk=w.carol.pk).display_name == "Carol Smith"
    with pytest.raises(people.PeopleError, match="120"):
        people.rename_person(w.carol, "x" * 121)
    people.rename_person(w.carol, "")
    assert Person.objects.get(pk=w.carol.pk).display_name == "Person 3"
    people.set_consent(w.carol, True, "signed form, 3 March", actor=w.owner)
    carol = Person.objects.get(pk=w.carol.pk)
    assert carol.consent_given and carol.consent_at is not None and carol.consent_note == "signed form, 3 March"
    assert list(AuditEntry.objects.order_by("pk").values_list("action", flat=True)) == ["renamed", "renamed", "consent"]


def test_split_off_person_gets_a_thumbnail_from_the_video(people_world, media_dir):
    """With the session's video stored, the new person gets a face crop of their largest face."""
    from django.core.files import File

    from tests.sessions.conftest import CLIP

    w = people_world
    with open(media_dir / CLIP, "rb") as fh:
        w.b.original.save(CLIP, File(fh), save=True)
    box = {"box_top": 200, "box_right": 600, "box_bottom": 600, "box_left": 250}
    Observation.objects.filter(track=w.tracks["b-alice"]).update(**box)
    new = people.split_track(w.tracks["b-alice"])
    thumb = PersonThumbnail.objects.get(person=new)
    path = stored_path(thumb.image.name)
    assert path.is_file() and path.read_bytes()[:2] == b"\xff\xd8"  # a JPEG
    from PIL import Image

    with Image.open(path) as image:
        assert max(image.size) <= 160 and min(image.size) > 50
