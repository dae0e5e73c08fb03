"""The people pages over HTTP: owners and staff only, rename (JSON and form), consent, merge, split, delete;
names escaped; renames reach the replay API at once; the audit log records each action."""

from __future__ import annotations

import pytest
from django.urls import reverse

from audit.models import AuditEntry
from people.models import Person
from sessions_app.models import Track
from tests.people.conftest import EVIL, counts, stored_path

pytestmark = pytest.mark.django_db


def actions(**filters) -> list[str]:
    return list(AuditEntry.objects.filter(**filters).order_by("pk").values_list("action", flat=True))


def test_people_page_lists_owned_people_escaped(auth_client, people_world, other_user):
    w = people_world
    Person.objects.create(owner=other_user, number=1, name="Not yours")
    page = auth_client.get(reverse("people")).content.decode()
    assert "Alice" in page and "Person 3" in page and "Not yours" not in page
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    assert "6.0 s" in page and "2 sessions" in page  # Alice: 30 frames at 5 fps, in A and B
    thumb = w.alice.thumbnails.get()
    assert reverse("person_thumbnail", args=[thumb.pk]) in page
    detail = auth_client.get(reverse("person_detail", args=[w.alice.pk])).content.decode()
    assert reverse("session_detail", args=[w.a.pk]) in detail and reverse("session_detail", args=[w.b.pk]) in detail


def test_person_reachable_by_owner_and_staff_only(client, people_world, other_user, staff_user):
    w = people_world
    url = reverse("person_detail", args=[w.alice.pk])
    assert client.get(url).status_code == 302  # anonymous: to the login page
    client.force_login(other_user)
    assert client.get(url).status_code == 404
    for name in ("person_rename", "person_consent", "person_split", "person_delete"):
        assert client.post(reverse(name, args=[w.alice.pk]), {"name": "x", "observations": "keep"}).status_code == 404
    response = client.post(reverse("people_merge"), {"keep": w.alice.pk, "other": w.bob.pk})
    assert response.status_code == 400 and Person.objects.filter(pk=w.bob.pk).exists()  # not theirs to choose
    assert Person.objects.get(pk=w.alice.pk).name == "Alice"
    client.force_login(staff_user)
    page = client.get(url)
    assert page.status_code == 200 and b"Owner: " in page.content


def test_rename_inline_json_and_form_and_replay_uses_new_name(auth_client, people_world):
    w = people_world
    response = auth_client.post(
        reverse("person_rename", args=[w.carol.pk]), {"name": "<b>Carol</b>"}, HTTP_ACCEPT="application/json"
    )
    assert response.status_code == 200
    assert response.json() == {"id": w.carol.pk, "name": "<b>Carol</b>", "display_name": "<b>Carol</b>"}
    timeline = auth_client.get(reverse("api_session_timeline", args=[w.b.pk])).json()
    assert {p["name"] for p in timeline["people"]} == {"Alice", "<b>Carol</b>"}
    people_api = auth_client.get(reverse("api_session_people", args=[w.b.pk])).json()
    assert "<b>Carol</b>" in {p["name"] for p in people_api}
    bad = auth_client.post(
        reverse("person_rename", args=[w.carol.pk]), {"name": "x" * 200}, HTTP_ACCEPT="application/json"
    )
    assert bad.status_code == 400 and "120" in bad.json()["detail"]
    form = auth_client.post(reverse("person_rename", args=[w.carol.pk]), {"name": "Carol"}, follow=True)
    assert form.redirect_chain[-1][0] == reverse("people") and "Renamed to “Carol”" in form.content.decode()
    page = auth_client.get(reverse("session_detail", args=[w.b.pk])).content.decode()
    assert "<h3>Carol</h3>" in page
    assert actions(action="renamed") == ["renamed", "renamed"]


def test_consent_shown_and_editable(auth_client, people_world):
    w = people_world
    auth_client.post(reverse("person_consent", args=[w.bob.pk]), {"consent_given": "1", "consent_note": "asked 1 May"})
    bob = Person.objects.get(pk=w.bob.pk)
    assert bob.consent_given and bob.consent_note == "asked 1 May" and bob.consent_at
    page = auth_client.get(reverse("person_detail", args=[w.bob.pk])).content.decode()  # the form is there
    assert 'value="asked 1 May"' in page and "recorded " in page
    auth_client.post(reverse("person_consent", args=[w.bob.pk]), {"consent_note": "withdrawn"})
    assert not Person.objects.get(pk=w.bob.pk).consent_given
    assert actions(action="consent") == ["consent", "consent"]


def test_merge_split_delete_over_http(auth_client, people_world, django_capture_on_commit_callbacks):
    w = people_world
    total = sum(counts().values())
    response = auth_client.post(reverse("people_merge"), {"keep": w.alice.pk, "other": w.carol.pk}, follow=True)
    assert "4 observations" in response.content.decode()
    assert counts()[w.alice.pk] == 34 and not Person.objects.filter(pk=w.carol.pk).exists()

    detail = auth_client.get(reverse("person_detail", args=[w.alice.pk])).content.decode()
    for key in ("a-alice", "b-alice"):
        assert f'value="{w.tracks[key].pk}"' in detail
    response = auth_client.post(reverse("person_split", args=[w.alice.pk]), {"track": w.tracks["b-carol"].pk})
    new = Track.objects.get(pk=w.tracks["b-carol"].pk).person
    assert new.pk not in (w.alice.pk, w.carol.pk) and response.url == reverse("person_detail", args=[new.pk])
    assert counts()[new.pk] == 4 and counts()[w.alice.pk] == 30 and sum(counts().values()) == total
    # a track of somebody else cannot be split off through this person
    bad = auth_client.post(reverse("person_split", args=[w.alice.pk]), {"track": w.tracks["a-bob"].pk}, follow=True)
    assert "Choose one of this person" in bad.content.decode()

    thumb = stored_path(w.bob.thumbnails.get().image.name)
    refused = auth_client.post(reverse("person_delete", args=[w.bob.pk]), {}, follow=True)
    assert "Choose whether" in refused.content.decode() and Person.objects.filter(pk=w.bob.pk).exists()
    with django_capture_on_commit_callbacks(execute=True):
        auth_client.post(reverse("person_delete", args=[w.bob.pk]), {"observations": "remove"})
    assert not Person.objects.filter(pk=w.bob.pk).exists() and not thumb.exists()
    assert sum(counts().values()) == total - 5
    assert actions(actor=w.owner, action__in=["merged", "split", "deleted"]) == ["merged", "split", "deleted"]


def test_views_exports_and_api_reads_are_audited(auth_client, people_world, client, staff_user):
    """Another user's (staff) reads are in the owner's log; the owner's own reads are not (see test_read_audit)."""
    w = people_world
    client.force_login(staff_user)
    client.get(reverse("session_detail", args=[w.a.pk]))
    client.get(reverse("session_export_observations", args=[w.a.pk, "csv"]))
    client.get(reverse("session_export_people", args=[w.a.pk]))
    client.get(reverse("api_session_people", args=[w.b.pk]))
    client.get(reverse("person_detail", args=[w.alice.pk]))
    rows = list(AuditEntry.objects.order_by("pk").values_list("action", "object_type", "object_id", "detail", "ip"))
    sid = str(w.a.pk)
    assert rows == [
        ("viewed", "session", sid, "results", "127.0.0.1"),
        ("viewed", "session", sid, "summaries", "127.0.0.1"),
        ("exported", "session", sid, f"session-{sid}-observations.csv", "127.0.0.1"),
        ("exported", "session", sid, f"session-{sid}-people.csv", "127.0.0.1"),
        ("viewed", "session", str(w.b.pk), "results", "127.0.0.1"),
        ("viewed", "person", str(w.alice.pk), "faces", "127.0.0.1"),
    ]
    assert set(AuditEntry.objects.values_list("actor", "owner").distinct()) == {(staff_user.pk, w.owner.pk)}
    # the replay page's chart requests read what its page view did: within the hour, no new entry
    client.get(reverse("api_session_timeline", args=[w.a.pk]), HTTP_X_EMOTION_PAGE="1")
    assert AuditEntry.objects.count() == 6
    auth_client.get(reverse("session_detail", args=[w.a.pk]))  # the owner's own read: no entry
    log = auth_client.get(reverse("audit_log")).content.decode()
    assert log.count("<tr>") == 1 + 6 and "Exported" in log and f"session-{sid}-people.csv" in log
    assert "staff-member" in log
    client.force_login(type(w.owner).objects.create_user(username="nosy", password="nosy-pass-123"))
    assert "Exported" not in client.get(reverse("audit_log")).content.decode()  # not their log


def test_session_rename_and_delete_are_audited(auth_client, people_world, django_capture_on_commit_callbacks):
    w = people_world
    auth_client.post(reverse("session_rename", args=[w.a.pk]), {"title": "Renamed A"})
    with django_capture_on_commit_callbacks(execute=True):
        auth_client.post(reverse("session_delete", args=[w.b.pk]))
    rows = list(AuditEntry.objects.order_by("pk").values_list("action", "object_id", "object_repr", "detail"))
    assert rows == [
        ("renamed", str(w.a.pk), "Renamed A", "from 'Meeting A'"),
        ("deleted", str(w.b.pk), "Meeting B", ""),
    ]


def test_unicode_digits_are_a_clear_400_not_a_crash(client, people_world, staff_user):
    """``"²".isdigit()`` is true but ``int("²")`` raises: every id or number from a form goes through a form."""
    w = people_world
    client.raise_request_exception = False  # a crash must show as the 500 a user would get
    client.force_login(w.owner)
    split = client.post(reverse("person_split", args=[w.alice.pk]), {"track": "²"})
    assert split.status_code == 400 and "Choose one of this person" in split.content.decode()
    merge = client.post(reverse("people_merge"), {"keep": "²", "other": w.bob.pk})
    assert merge.status_code == 400 and "Choose the person to keep" in merge.content.decode()
    privacy = client.post(reverse("privacy_settings"), {"retention_days": "²"})
    assert privacy.status_code == 400 and "whole number" in privacy.content.decode()
    assert Person.objects.filter(owner=w.owner).count() == 3

    client.force_login(staff_user)
    naming = client.post(reverse("admin:people_person_name_faces"), {"name_²": "Eve", f"name_{w.carol.pk}": "C"})
    assert naming.status_code == 302 and Person.objects.get(pk=w.carol.pk).name == "C"
    assert client.get("/admin/sessions_app/session/%C2%B2/change/").status_code in (302, 404)
