"""Merging as a researcher does it: pick two faces, see both sides and which name stays, confirm; then undo
the merge from the person page (linked from the audit log), which gives back everything that moved."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from people import services as people
from people.models import Person, PersonMerge, PersonThumbnail
from sessions_app.models import Track
from tests.people.conftest import add_thumbnail, counts
from tests.replay.conftest import add_observations

pytestmark = pytest.mark.django_db


def test_undo_gives_back_everything_the_merge_moved(people_world):
    w = people_world
    people.set_consent(w.carol, True, "signed form", actor=w.owner)
    carol = Person.objects.get(pk=w.carol.pk)
    # one observation on Carol's track is Alice's, one of Carol's is on no track of hers: exact both ways
    w.tracks["b-carol"].observations.filter(frame_index=0).update(person=w.alice)
    w.tracks["a-none"].observations.filter(frame_index=0).update(person=carol)
    before = counts()
    carol_thumbs = set(carol.thumbnails.values_list("pk", flat=True))
    carol_tracks = set(Track.objects.filter(person=carol).values_list("pk", flat=True))

    people.merge_people(w.bob, carol, actor=w.owner)
    merge = PersonMerge.objects.get()
    assert merge.keep_id == w.bob.pk and merge.merged_id == carol.pk and merge.audit_entry.action == "merged"
    assert counts()[w.bob.pk] == 9 and not Person.objects.filter(pk=carol.pk).exists()
    assert len(merge.foreign_observation_ids) == 1 and len(merge.loose_observation_ids) == 1

    back = people.undo_merge(merge, actor=w.owner)
    assert back.pk == carol.pk and back.number == 3 and back.name == ""
    assert back.consent_given and back.consent_note == "signed form" and back.consent_at == carol.consent_at
    assert back.embeddings == carol.embeddings
    assert counts() == before
    assert set(back.thumbnails.values_list("pk", flat=True)) == carol_thumbs
    assert set(Track.objects.filter(person=back).values_list("pk", flat=True)) == carol_tracks
    bob = Person.objects.get(pk=w.bob.pk)
    assert bob.embeddings == w.bob.embeddings  # the merged references left with their person
    entry = AuditEntry.objects.get(action="unmerged")
    assert entry.actor == w.owner and entry.object_id == str(w.bob.pk) and f"(#{carol.pk}) back" in entry.detail
    merge.refresh_from_db()
    assert merge.undone_at is not None
    with pytest.raises(people.PeopleError, match="already undone"):
        people.undo_merge(merge)


def test_undo_after_later_changes(people_world):
    """An unnamed kept person gives the taken name back; rows split off since stay; a taken number is not reused."""
    w = people_world
    people.merge_people(w.carol, w.alice, actor=w.owner)  # Carol has no name: she takes "Alice"
    assert Person.objects.get(pk=w.carol.pk).name == "Alice"
    merge = PersonMerge.objects.get()
    split_off = people.split_track(Track.objects.get(pk=w.tracks["b-alice"].pk), actor=w.owner)
    Person.objects.filter(pk=split_off.pk).update(number=1)  # someone now holds Alice's old number
    back = people.undo_merge(merge, actor=w.owner)
    assert back.pk == w.alice.pk and back.name == "Alice" and back.number == 4
    assert Person.objects.get(pk=w.carol.pk).name == ""
    assert counts()[back.pk] == 10 and counts()[split_off.pk] == 20  # the split-off track stays where it is
    assert PersonThumbnail.objects.filter(person=back).count() == 1


def test_pick_two_faces_confirm_then_undo_over_http(auth_client, people_world):
    w = people_world
    add_thumbnail(w.carol)
    grid = auth_client.get(reverse("people")).content.decode()
    assert 'name="pick"' in grid and "consent_note" not in grid  # forms moved to the person page

    page = auth_client.get(reverse("people_merge"), {"pick": [w.carol.pk, w.bob.pk]})
    html = page.content.decode()
    assert page.status_code == 200 and Person.objects.filter(pk=w.carol.pk).exists()  # nothing happened yet
    assert page.context["keep"].pk == w.bob.pk and page.context["other"].pk == w.carol.pk  # lower number stays
    assert html.count(f"{reverse('person_thumbnail', args=[0])[:-2]}") >= 3  # both sides' faces (1 + 2)
    assert "Person 3</strong>” goes" in html and "and takes the name" not in html
    assert f"?keep={w.carol.pk}&amp;other={w.bob.pk}" in html  # the swap

    swapped = auth_client.get(reverse("people_merge"), {"keep": w.carol.pk, "other": w.alice.pk})
    assert "stays and takes the name “Alice”" in swapped.content.decode()

    done = auth_client.post(reverse("people_merge"), {"keep": w.bob.pk, "other": w.carol.pk}, follow=True)
    assert done.redirect_chain[-1][0] == reverse("person_detail", args=[w.bob.pk])
    merge = PersonMerge.objects.get()
    assert reverse("merge_undo", args=[merge.pk]) in done.content.decode()
    log = auth_client.get(reverse("audit_log")).content.decode()
    assert f"{reverse('person_detail', args=[w.bob.pk])}#merges" in log

    undone = auth_client.post(reverse("merge_undo", args=[merge.pk]), follow=True)
    assert undone.redirect_chain[-1][0] == reverse("person_detail", args=[w.carol.pk])
    assert "Merge undone" in undone.content.decode() and counts()[w.carol.pk] == 4
    assert "Undo…" not in auth_client.get(reverse("audit_log")).content.decode()


def test_merge_pages_refuse_bad_and_foreign_choices(client, people_world, other_user):
    w = people_world
    client.force_login(w.owner)
    one = client.get(reverse("people_merge"), {"pick": [w.bob.pk]})
    assert one.status_code == 400 and "Pick exactly two" in one.content.decode()
    same = client.get(reverse("people_merge"), {"keep": w.bob.pk, "other": w.bob.pk})
    assert same.status_code == 400 and "two different people" in same.content.decode()
    people.merge_people(w.alice, w.bob, actor=w.owner)
    merge = PersonMerge.objects.get()
    client.force_login(other_user)
    assert client.get(reverse("people_merge"), {"pick": [w.alice.pk, w.carol.pk]}).status_code == 400
    assert client.post(reverse("merge_undo", args=[merge.pk])).status_code == 404
    assert not Person.objects.filter(pk=w.bob.pk).exists()


def test_people_grid_search_and_sort(auth_client, people_world):
    w = people_world

    def order(**params) -> list[int]:
        return [p.pk for p in auth_client.get(reverse("people"), params).context["people"]]

    add_observations(w.b, w.carol, [(f, "neutral", 0.9, 0.5) for f in range(40)], 3, "0:4")
    assert order() == [w.alice.pk, w.bob.pk, w.carol.pk]
    assert order(sort="time") == [w.carol.pk, w.alice.pk, w.bob.pk]  # 8.8 s, 6 s, 1 s
    assert order(sort="seen") == [w.alice.pk, w.carol.pk, w.bob.pk]  # session B is newer than A
    assert order(sort="name") == [w.bob.pk, w.alice.pk, w.carol.pk]  # "<img…", "Alice", "Person 3"
    assert order(q="  person 3 ") == [w.carol.pk]
    assert order(q="ALI") == [w.alice.pk]
    empty = auth_client.get(reverse("people"), {"q": "nobody", "sort": "bogus"})
    assert empty.status_code == 200 and "contains “nobody”" in empty.content.decode()


# the notice shown (every item also carries it hidden, for the page's script to show when people change)
STALE = '<p class="summary-stale notice">Made before people in this session were merged, split or deleted'


def test_summaries_made_before_a_merge_or_split_say_so(auth_client, people_world):
    from django.utils import timezone

    from summaries.models import Summary

    w = people_world

    def summary(session) -> Summary:
        now = timezone.now()
        return Summary.objects.create(
            session=session, backend="heuristic", status="done", text="3 people seen.", started=now, finished=now
        )

    def stale(session) -> list[bool]:
        page = auth_client.get(reverse("session_detail", args=[session.pk])).content.decode()
        return [
            s.made_before_people_changed for s in Summary.objects.filter(session=session).order_by("pk")
        ], STALE in page

    summary(w.a)
    old_b = summary(w.b)
    assert stale(w.a) == ([False], False) and stale(w.b) == ([False], False)
    people.merge_people(w.alice, w.bob, actor=w.owner)  # Bob is seen in session A only
    assert stale(w.a) == ([True], True) and stale(w.b) == ([False], False)
    summary(w.a)  # a new summary knows the current people
    assert stale(w.a) == ([True, False], True)
    people.split_track(Track.objects.get(pk=w.tracks["b-alice"].pk))  # Alice is in both sessions: B changes
    assert stale(w.b) == ([True], True)
    merge = PersonMerge.objects.get()
    Summary.objects.filter(pk=old_b.pk).update(started=timezone.now())  # as if made just now
    people.undo_merge(merge, actor=w.owner)
    assert stale(w.a) == ([True, True], True) and stale(w.b) == ([False], False)
