"""The workspace (the sessions list, ``/``): project switcher, search, filters, sorting, pages, faces at a
glance with their dominant emotion, the query bound, and isolation between projects."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from inference.classes import EMOTIONS
from people.models import Person, PersonThumbnail
from projects.models import Membership, Project
from sessions_app.models import AnalysisRun, Observation, Session, Track

pytestmark = pytest.mark.django_db

BASE = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def probs(main: str) -> dict[str, float]:
    return {e: (0.7 if e == main else 0.05) for e in EMOTIONS}


def seen(session: Session, person: Person, main: str, frames: int, slot: int = 0) -> None:
    """``person`` on ``frames`` frames of the session's current run (made if missing), mostly ``main``."""
    if session.current_run_id is None:
        session.current_run = AnalysisRun.objects.create(session=session, status=AnalysisRun.Status.DONE)
        session.save(update_fields=["current_run"])
    track = Track.objects.create(session=session, run_id=session.current_run_id, person=person, key=f"0:{person.pk}")
    Observation.objects.bulk_create(
        Observation(
            session=session,
            run_id=session.current_run_id,
            track=track,
            person=person,
            time=i / 2,
            frame_index=i,
            slot=slot,
            box_top=0,
            box_right=10,
            box_bottom=10,
            box_left=0,
            attention=0.5,
            yaw=0,
            pitch=0,
            roll=0,
            eye_openness=0.3,
            **probs(main),
        )
        for i in range(frames)
    )


def make(owner, project, title, *, days=0, status="done", source="upload", duration=0.0) -> Session:
    s = Session.objects.create(
        owner=owner, project=project, title=title, status=status, source=source, duration=duration
    )
    Session.objects.filter(pk=s.pk).update(created=BASE + timedelta(days=days))
    return s


def titles(response) -> list[str]:
    return [s.title for s in response.context["sessions"]]


@pytest.fixture
def study(db, user, settings, tmp_path):
    """A team project (the user owns it) with sessions of several statuses, kinds, dates and people, the
    user's personal project with one session, and another user's project the user is not in."""
    settings.MEDIA_ROOT = tmp_path / "media"
    users = get_user_model().objects
    team = Project.objects.create(name="Study A")
    Membership.objects.create(project=team, user=user, role="owner")
    viewer = users.create_user(username="study-viewer", password=None)
    Membership.objects.create(project=team, user=viewer, role="viewer")
    alice = Person.objects.create(owner=user, project=team, number=1, name="Alice")
    bob = Person.objects.create(owner=user, project=team, number=2, name="Bob")
    thumb = PersonThumbnail(person=alice)
    thumb.image.save("a.jpg", ContentFile(b"\xff\xd8\xff\xe0alice"), save=True)
    s = {
        "interview": make(user, team, "Interview one", days=0, duration=30),
        "walk": make(user, team, "Walk outside", days=1, status="failed", duration=5),
        "photo": make(user, team, "Group photo", days=2, source="image"),
        "live": make(user, team, "Live panel", days=3, source="live", status="analysing", duration=90),
        "interview2": make(user, team, "interview two", days=4, duration=60),
    }
    seen(s["interview"], alice, "happy", 6)
    seen(s["interview"], bob, "sad", 3, slot=1)
    seen(s["photo"], bob, "angry", 1)
    seen(s["interview2"], alice, "surprise", 2)
    personal = Project.objects.get(memberships__user=user, personal=True)
    mine = make(user, personal, "My own interview", days=5)
    stranger = users.create_user(username="stranger", password=None)
    foreign = Project.objects.create(name="Not yours")
    Membership.objects.create(project=foreign, user=stranger, role="owner")
    hidden = make(stranger, foreign, "Secret interview", days=6)
    carol = Person.objects.create(owner=stranger, project=foreign, number=1, name="Carol")
    seen(hidden, carol, "fear", 2)
    return {
        "team": team,
        "viewer": viewer,
        "alice": alice,
        "bob": bob,
        "thumb": thumb,
        "personal": personal,
        "mine": mine,
        "foreign": foreign,
        "hidden": hidden,
        "carol": carol,
        **s,
    }


def get(client, **params):
    return client.get(reverse("home"), params)


def test_filters_search_and_sorts_return_exactly_these_titles(auth_client, study):
    team = study["team"].pk
    everything = ["My own interview", "interview two", "Live panel", "Group photo", "Walk outside", "Interview one"]
    assert titles(get(auth_client)) == everything  # all my projects, newest first
    assert titles(get(auth_client, project=team)) == everything[1:]
    assert titles(get(auth_client, project=team, q="INTERVIEW")) == ["interview two", "Interview one"]
    assert titles(get(auth_client, q="interview")) == ["My own interview", "interview two", "Interview one"]
    assert titles(get(auth_client, project=team, status="failed")) == ["Walk outside"]
    assert titles(get(auth_client, project=team, status="done", kind="upload")) == ["interview two", "Interview one"]
    assert titles(get(auth_client, project=team, kind="image")) == ["Group photo"]
    assert titles(get(auth_client, project=team, kind="live")) == ["Live panel"]
    assert titles(get(auth_client, project=team, since="2026-03-02", until="2026-03-04")) == [
        "Live panel",
        "Group photo",
        "Walk outside",
    ]
    assert titles(get(auth_client, project=team, person=study["alice"].pk)) == ["interview two", "Interview one"]
    assert titles(get(auth_client, project=team, person=study["bob"].pk, sort="oldest")) == [
        "Interview one",
        "Group photo",
    ]
    assert titles(get(auth_client, project=team, sort="oldest")) == everything[1:][::-1]
    assert titles(get(auth_client, project=team, sort="title")) == [
        "Group photo",
        "Interview one",
        "interview two",
        "Live panel",
        "Walk outside",
    ]
    assert titles(get(auth_client, project=team, sort="duration")) == [
        "Live panel",
        "interview two",
        "Interview one",
        "Walk outside",
        "Group photo",
    ]


def test_faces_and_dominant_emotions_at_a_glance(auth_client, study):
    response = get(auth_client, project=study["team"].pk)
    rows = {s.title: s.faces for s in response.context["sessions"]}
    interview = rows["Interview one"]  # most on screen first
    assert [(f["name"], f["dominant"]) for f in interview] == [("Alice", "happy"), ("Bob", "sad")]
    assert interview[0]["thumbnail"] == study["thumb"].pk and interview[1]["thumbnail"] is None
    assert [(f["name"], f["dominant"]) for f in rows["Group photo"]] == [("Bob", "angry")]
    assert rows["Walk outside"] == []
    html = response.content.decode()
    assert reverse("person_thumbnail", args=[study["thumb"].pk]) in html
    assert re.search(r'class="dominant dominant-surprise">surprise<', html)


def test_at_most_four_faces_per_session(auth_client, study, user):
    session = study["walk"]
    for n in range(6):
        person = Person.objects.create(owner=user, project=study["team"], number=10 + n, name=f"P{n}")
        seen(session, person, "neutral", 10 - n, slot=n)
    faces = {s.title: s.faces for s in get(auth_client, project=study["team"].pk).context["sessions"]}
    assert [f["name"] for f in faces["Walk outside"]] == ["P0", "P1", "P2", "P3"]


def test_pages_of_twenty_keep_the_filters(auth_client, study, user):
    for n in range(45):
        make(user, study["team"], f"Clip {n:02d}", days=10 + n)
    response = get(auth_client, project=study["team"].pk, q="clip", sort="oldest")
    assert titles(response) == [f"Clip {n:02d}" for n in range(20)]
    page = response.context["page"]
    assert (page.number, page.paginator.num_pages, page.paginator.count) == (1, 3, 45)
    html = response.content.decode()
    next_link = re.search(r'href="\?([^"]+)" rel="next"', html).group(1).replace("&amp;", "&")
    assert next_link == f"project={study['team'].pk}&q=clip&sort=oldest&page=2"
    response = auth_client.get(reverse("home") + "?" + next_link)
    assert titles(response) == [f"Clip {n:02d}" for n in range(20, 40)]
    assert titles(get(auth_client, project=study["team"].pk, q="clip", sort="oldest", page=3)) == [
        f"Clip {n:02d}" for n in range(40, 45)
    ]
    # a page past the end or not a number: the last or the first page, never an error
    assert titles(get(auth_client, project=study["team"].pk, q="clip", sort="oldest", page=99))[0] == "Clip 40"
    assert titles(get(auth_client, project=study["team"].pk, q="clip", sort="oldest", page="x"))[0] == "Clip 00"


BAD_VALUES = [
    ({"status": "exploded"}, "Ignored the status “exploded”"),
    ({"kind": "hologram"}, "Ignored the kind “hologram”"),
    ({"since": "2026-13-45"}, "Ignored the from date “2026-13-45”"),
    ({"until": "yesterday"}, "Ignored the to date “yesterday”"),
    ({"sort": "random"}, "Ignored the sort “random”"),
    ({"q": "x" * 101}, "Ignored the search “xxxxxxxx"),
    ({"q": "nul\x00byte"}, "Ignored the search"),
    ({"project": "abc"}, "Ignored the project “abc”"),
    ({"person": "-3"}, "Ignored the person “-3”"),
    ({"since": "2026-03-04", "until": "2026-03-01"}, "Ignored the date range"),
]


def test_bad_values_are_ignored_with_a_note(auth_client, study):
    for params, note in BAD_VALUES:
        response = get(auth_client, **params)
        assert response.status_code == 200, params
        assert len(titles(response)) == 6, params  # the filter was dropped, not applied
        assert note in " ".join(response.context["notes"]), (params, response.context["notes"])
        assert b'id="workspace-notes"' in response.content


def test_other_projects_never_listed(auth_client, study):
    listed = {s.pk for s in get(auth_client).context["sessions"]}
    assert study["hidden"].pk not in listed
    assert b"Secret interview" not in get(auth_client, q="secret").content
    # a forged project id is unknown (404), as an id that does not exist
    assert get(auth_client, project=study["foreign"].pk).status_code == 404
    assert get(auth_client, project=10**7).status_code == 404
    # a foreign person: the filter is ignored, never a way into their sessions or to learn their name
    response = get(auth_client, person=study["carol"].pk)
    assert "Secret interview" not in titles(response) and len(titles(response)) == 6
    assert b"Carol" not in response.content
    assert "no such person" in " ".join(response.context["notes"])
    # a person of my team while my personal project is chosen: ignored too
    response = get(auth_client, project=study["personal"].pk, person=study["alice"].pk)
    assert titles(response) == ["My own interview"] and response.context["person"] is None


def test_viewer_sees_the_team_but_no_upload_control(auth_client, study):
    client = Client()
    client.force_login(study["viewer"])
    response = get(client, project=study["team"].pk)
    assert titles(response) == ["interview two", "Live panel", "Group photo", "Walk outside", "Interview one"]
    assert b'id="new-session"' not in response.content
    assert b"delete" not in response.content.lower()
    # the owner gets the control, preselecting the project on the upload page
    owner_page = get(auth_client, project=study["team"].pk).content.decode()
    assert f'href="/sessions/new/?project={study["team"].pk}"' in owner_page
    new_page = auth_client.get(reverse("session_new"), {"project": study["team"].pk}).content.decode()
    assert re.search(rf'<option value="{study["team"].pk}" selected>', new_page)


def test_query_count_does_not_grow_with_the_page(auth_client, study, user, django_assert_max_num_queries):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    people = [Person.objects.create(owner=user, project=study["team"], number=20 + n) for n in range(6)]

    def add(first: int, count: int) -> None:
        for n in range(first, first + count):
            session = make(user, study["team"], f"Busy {n}", days=20 + n)
            for slot, person in enumerate(people[: 1 + n % 6]):
                seen(session, person, EMOTIONS[slot], 2, slot=slot)

    add(0, 1)
    with CaptureQueriesContext(connection) as one:
        assert len(titles(get(auth_client, project=study["team"].pk, person=people[0].pk))) >= 1
    add(1, 24)
    # the session list, its faces and emotions, the switcher and the chosen project's storage line
    with django_assert_max_num_queries(14):
        response = get(auth_client, project=study["team"].pk, person=people[0].pk)
    assert len(titles(response)) == 20 and all(s.faces for s in response.context["sessions"])
    with CaptureQueriesContext(connection) as full:
        get(auth_client, project=study["team"].pk, person=people[0].pk)
    assert len(full) == len(one), "a page of 20 sessions asks more queries than a page of one"
