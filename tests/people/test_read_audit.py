"""Reads of other people's data leave an audit entry, decided on the server (issue 20, finding 5).

Staff (or anyone who is not the owner) reading another user's media, faces, results or summaries, by
page, API or admin, writes one entry per viewer, object and kind of read per hour; what the client
sends (``X-Emotion-Page``) does not matter; the owner's own reads write none.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.base import ContentFile
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from api_tokens.models import ApiToken
from audit.models import AuditEntry
from people.models import Person, PersonSuggestion
from sessions_app.models import Session
from summaries.models import Summary
from tests.people.conftest import add_thumbnail

pytestmark = pytest.mark.django_db

MP4_BYTES = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom" + b"\x00" * 100


def reads() -> list[tuple]:
    """(actor, owner, action, object type, object id, detail) of every entry, oldest first."""
    fields = ("actor_id", "owner_id", "action", "object_type", "object_id", "detail")
    return list(AuditEntry.objects.order_by("pk").values_list(*fields))


@pytest.fixture
def with_media(people_world):
    """Session A with an original and a playable file."""
    session = people_world.a
    for kind in ("original", "playable"):
        getattr(session, kind).save(f"{kind}.mp4", ContentFile(MP4_BYTES), save=False)
        setattr(session, f"{kind}_format", "mp4")
    session.save()
    return session


def api_paths(session_id: int) -> list[str]:
    base = f"/api/sessions/{session_id}/"
    return [base, base + "people/", base + "timeline/", base + "markers/"]


def test_staff_reads_of_media_and_thumbnails_are_audited_once_per_hour(client, people_world, staff_user, with_media):
    w = people_world
    client.force_login(staff_user)
    thumb = w.alice.thumbnails.get()
    for _ in range(2):  # the second round is within the hour: no entry
        assert client.get(reverse("session_media", args=[w.a.pk, "original"])).status_code == 200
        ranged = client.get(reverse("session_media", args=[w.a.pk, "playable"]), HTTP_RANGE="bytes=0-9")
        assert ranged.status_code == 206
        assert client.get(reverse("person_thumbnail", args=[thumb.pk])).status_code == 200
    me, owner = staff_user.pk, w.owner.pk
    assert reads() == [
        (me, owner, "viewed", "session", str(w.a.pk), "media"),
        (me, owner, "viewed", "person", str(w.alice.pk), "faces"),
    ]
    assert {e.ip for e in AuditEntry.objects.all()} == {"127.0.0.1"}

    # an hour later the same reads are written again, once
    AuditEntry.objects.update(created=timezone.now() - timedelta(minutes=61))
    for _ in range(2):
        client.get(reverse("session_media", args=[w.a.pk, "original"]))
        client.get(reverse("person_thumbnail", args=[thumb.pk]))
    assert [r[-1] for r in reads()] == ["media", "faces", "media", "faces"]


def test_staff_session_page_and_exports_are_audited_once_per_hour(client, people_world, staff_user):
    w = people_world
    Summary.objects.create(session=w.a, requested_by=w.owner, backend="heuristic", status="done", text="calm")
    client.force_login(staff_user)
    for _ in range(3):
        assert client.get(reverse("session_detail", args=[w.a.pk])).status_code == 200
        assert client.get(reverse("session_export_observations", args=[w.a.pk, "csv"])).status_code == 200
        assert client.get(reverse("person_detail", args=[w.alice.pk])).status_code == 200
    sid, me, owner = str(w.a.pk), staff_user.pk, w.owner.pk
    assert reads() == [
        (me, owner, "viewed", "session", sid, "results"),
        (me, owner, "viewed", "session", sid, "summaries"),  # the page shows the summaries panel
        (me, owner, "exported", "session", sid, f"session-{sid}-observations.csv"),
        (me, owner, "viewed", "person", str(w.alice.pk), "faces"),
    ]


def test_api_reads_are_audited_whatever_the_client_sends(people_world, staff_user):
    w = people_world
    Summary.objects.create(session=w.a, requested_by=w.owner, backend="heuristic", status="done", text="calm")
    summary = w.a.summaries.get()
    api = APIClient()
    api.force_login(staff_user)  # the browser session, as the replay page's scripts
    for _ in range(2):
        for path in api_paths(w.a.pk):
            assert api.get(path, HTTP_X_EMOTION_PAGE="1").status_code == 200
        assert api.get(f"/api/sessions/{w.a.pk}/summaries/", HTTP_X_EMOTION_PAGE="1").status_code == 200
        assert api.get(f"/api/sessions/{w.a.pk}/summaries/{summary.pk}/").status_code == 200
    sid, me, owner = str(w.a.pk), staff_user.pk, w.owner.pk
    assert reads() == [
        (me, owner, "viewed", "session", sid, "results"),
        (me, owner, "viewed", "session", sid, "summaries"),
    ]
    # a token client: the same rule, whatever it sends
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.objects.create(user=staff_user)[1]}")
    assert token.get(f"/api/sessions/{w.b.pk}/timeline/", HTTP_X_EMOTION_PAGE="1").status_code == 200
    assert reads()[-1] == (me, owner, "viewed", "session", str(w.b.pk), "results")
    assert len(reads()) == 3


def test_admin_person_name_faces_and_summary_pages_are_audited(client, people_world, staff_user, other_user):
    w = people_world
    theirs = Person.objects.create(owner=other_user, number=1)  # unnamed: on the Name faces page
    add_thumbnail(theirs)
    own = Person.objects.create(owner=staff_user, number=1)  # the staff member's own face: no entry
    add_thumbnail(own)
    PersonSuggestion.objects.create(owner=w.owner, person=w.alice, candidate=w.bob, score=0.5, margin=0.1)
    summary = Summary.objects.create(
        session=w.a, requested_by=w.owner, backend="local", status="done", text="calm", prompt="Alice: happy"
    )
    client.force_login(staff_user)
    person_page = reverse("admin:people_person_change", args=[w.alice.pk])
    summary_page = reverse("admin:summaries_summary_change", args=[summary.pk])
    name_faces = reverse("admin:people_person_name_faces")
    for _ in range(2):
        assert client.get(person_page).status_code == 200
        page = client.get(name_faces)
        assert page.status_code == 200 and "Possibly the same person" in page.content.decode()
        assert "Alice: happy" in client.get(summary_page).content.decode()
    me = staff_user.pk
    faces = lambda p: (me, p.owner_id, "viewed", "person", str(p.pk), "faces")  # noqa: E731
    assert reads()[0] == faces(w.alice)
    assert sorted(reads()[1:-1]) == sorted([faces(w.bob), faces(w.carol), faces(theirs)])  # one per face shown
    assert reads()[-1] == (me, w.owner.pk, "viewed", "summary", str(summary.pk), "summaries")


def test_owners_own_reads_write_no_entry(auth_client, people_world, with_media):
    w = people_world
    thumb = w.alice.thumbnails.get()
    pages = [
        reverse("session_detail", args=[w.a.pk]),
        reverse("session_media", args=[w.a.pk, "original"]),
        reverse("session_export_people", args=[w.a.pk]),
        reverse("person_detail", args=[w.alice.pk]),
        reverse("person_thumbnail", args=[thumb.pk]),
        *api_paths(w.a.pk),
        f"/api/sessions/{w.a.pk}/summaries/",
    ]
    for url in pages:
        assert auth_client.get(url).status_code == 200, url
    token = APIClient()
    token.credentials(HTTP_AUTHORIZATION=f"Token {ApiToken.objects.create(user=w.owner)[1]}")
    assert token.get(f"/api/sessions/{w.a.pk}/timeline/").status_code == 200
    assert reads() == []


@pytest.mark.django_db(transaction=True)
def test_simultaneous_reads_by_one_viewer_write_one_entry(user, staff_user):
    """The replay page loads its charts at once: one viewer's requests are checked one after the other."""
    from concurrent.futures import ThreadPoolExecutor

    from django.db import connection
    from django.test import Client

    session = Session.objects.create(owner=user, title="Theirs", status="done", progress=1.0, duration=4.0)

    def read(path: str) -> int:
        browser = Client()
        browser.force_login(staff_user)
        try:
            return browser.get(path).status_code
        finally:
            connection.close()  # each thread has its own connection

    with ThreadPoolExecutor(6) as pool:
        codes = list(pool.map(read, api_paths(session.pk) * 3))
    assert codes == [200] * 12
    assert reads() == [(staff_user.pk, user.pk, "viewed", "session", str(session.pk), "results")]
