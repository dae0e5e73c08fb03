"""Wrong merges already stored: ``manage.py flag_identity_conflicts`` and the admin action flag a person
whose tracks fall into groups far apart, not a consistent one; the person's page shows the groups, a
group is split off in one go (the flag resolves), and a dismissed flag stays dismissed."""

from __future__ import annotations

import io

import numpy as np
import pytest
from django.core.management import call_command
from django.urls import reverse

from audit.models import AuditEntry
from inference import identity
from people import identity_flags
from people.models import Person, PersonFlag
from sessions_app.models import Session, Track

pytestmark = pytest.mark.django_db

RNG = np.random.default_rng(14)


def face(scale: float = 0.7) -> np.ndarray:
    """A made-up identity around the population mean of the identity rule's fitted parameters, as real
    descriptors are: two of them are far beyond the rule's "possibly the same" limit."""
    v = RNG.normal(size=128)
    return identity.default_params().mean + v / np.linalg.norm(v) * scale


def near(base: np.ndarray, n: int = 1, noise: float = 0.01) -> list[list[float]]:
    """``n`` descriptors of the same identity (about 0.1-0.2 from each other)."""
    return [(base + RNG.normal(scale=noise, size=128)).tolist() for _ in range(n)]


def person_with(owner, number: int, bases: list[np.ndarray], *, references: bool = False) -> Person:
    """A person with one track per base (in its own session), as older merges stored them."""
    person = Person.objects.create(owner=owner, number=number, name=f"P{number}")
    for i, base in enumerate(bases):
        session = Session.objects.create(owner=owner, title=f"S{number}-{i}", status="done", duration=5.0)
        refs = near(base, 4) if references else []
        Track.objects.create(
            session=session, person=person, key=f"0:{i}", count=3, embedding=near(base)[0], references=refs
        )
    return person


def track_ids(person: Person) -> list[int]:
    return list(Track.objects.filter(person=person).order_by("pk").values_list("pk", flat=True))


def test_command_flags_the_mixed_person_only(user):
    one, two, three = face(), face(), face()
    mixed = person_with(user, 1, [one, one, two])  # two tracks of one human, one of another
    steady = person_with(user, 2, [three, three, three], references=True)
    a1, a2, b1 = track_ids(mixed)

    out = io.StringIO()
    call_command("flag_identity_conflicts", "--dry-run", stdout=out)
    assert "would flag 1" in out.getvalue() and not PersonFlag.objects.exists()

    out = io.StringIO()
    call_command("flag_identity_conflicts", "--user", user.username, stdout=out)
    text = out.getvalue()
    assert "P1" in text and "groups of 2 + 1" in text and "P2" not in text and "flagged 1" in text
    flag = PersonFlag.objects.get()
    assert (flag.person, flag.status, flag.groups) == (mixed, "open", [[a1, a2], [b1]])
    assert identity_flags.split_distance() < flag.distance < 2.0
    assert AuditEntry.objects.filter(action="flagged", object_id=str(mixed.pk), owner=user).count() == 1
    assert identity_flags.find_conflict(steady) is None

    call_command("flag_identity_conflicts", stdout=io.StringIO())  # again: the same flag, no second one
    assert PersonFlag.objects.count() == 1 and AuditEntry.objects.filter(action="flagged").count() == 1


def test_one_odd_reference_does_not_split_a_track_set():
    base, other = face(), face()
    sets = {1: near(base, 5), 2: [*near(base, 4), *near(other)], 3: near(other, 3)}
    groups, gap = identity_flags.reference_groups(sets)
    assert groups == [[1, 2], [3]] and gap > identity_flags.split_distance()


def test_person_page_splits_a_group_and_the_flag_resolves(auth_client, user, other_user):
    one, two = face(), face()
    mixed = person_with(user, 1, [one, two, two])
    a1, b1, b2 = track_ids(mixed)
    identity_flags.check_person(mixed)
    assert PersonFlag.objects.get().groups == [[b1, b2], [a1]]

    page = auth_client.get(reverse("person_detail", args=[mixed.pk])).content.decode()
    assert "Possibly several people" in page and "Group 2 (1 track)" in page
    assert "Possibly several people" in auth_client.get(reverse("people")).content.decode()

    # another owner cannot dismiss or split: 404
    auth_client.force_login(other_user)
    assert auth_client.post(reverse("person_flag_dismiss", args=[mixed.pk])).status_code == 404
    assert auth_client.post(reverse("person_split", args=[mixed.pk]), {"track": [b1, b2]}).status_code == 404

    auth_client.force_login(user)
    r = auth_client.post(reverse("person_split", args=[mixed.pk]), {"track": [b1, b2]}, follow=True)
    new = Track.objects.get(pk=b1).person
    assert new != mixed and Track.objects.get(pk=b2).person == new and track_ids(mixed) == [a1]
    assert "The 2 tracks are now" in r.content.decode()
    assert Person.objects.filter(owner=user).count() == 2  # the two split tracks are one new person
    assert PersonFlag.objects.get().status == "resolved"
    assert "Possibly several people" not in auth_client.get(reverse("person_detail", args=[mixed.pk])).content.decode()


def test_dismissed_flag_is_remembered_and_admin_action_flags(client, user, staff_user):
    one, two = face(), face()
    mixed = person_with(user, 1, [one, two])
    identity_flags.check_person(mixed)
    client.force_login(user)
    client.post(reverse("person_flag_dismiss", args=[mixed.pk]))
    assert PersonFlag.objects.get().status == "dismissed"
    assert AuditEntry.objects.filter(action="flag_dismissed", actor=user).count() == 1

    client.force_login(staff_user)
    changelist = reverse("admin:people_person_changelist")
    data = {"action": "flag_identity_conflicts", "_selected_action": [mixed.pk]}
    r = client.post(changelist, data, follow=True)
    assert "nothing was flagged" in r.content.decode()  # dismissed for these very tracks
    assert not PersonFlag.objects.filter(status="open").exists()

    # a new track far from both: the tracks changed, so the person is flagged again
    session = Session.objects.create(owner=user, title="later", status="done")
    Track.objects.create(session=session, person=mixed, key="0:9", count=2, embedding=near(face())[0])
    r = client.post(changelist, data, follow=True)
    assert "1 possibly several people: P1" in r.content.decode()
    assert PersonFlag.objects.get(status="open").groups == [[t] for t in track_ids(mixed)]
