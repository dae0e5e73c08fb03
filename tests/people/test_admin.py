"""The Django admin: every model's pages for staff (refused to others), thumbnails as escaped images,
the people and session actions, and the face-naming view."""

from __future__ import annotations

import pytest
from django.contrib import admin
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.core.files.base import ContentFile
from django.urls import reverse

from audit.models import AuditEntry
from people.models import Person
from sessions_app.models import Marker, Segment, Session
from summaries.models import AllowedLLMHost, LLMSettings, Summary
from tests.people.conftest import EVIL, counts, stored_path

pytestmark = pytest.mark.django_db

APPS = ("sessions_app", "summaries", "projects", "studies")
INLINE_ONLY = {("projects", "membership")}  # edited on its project's page


def registered() -> list[type]:
    return [m for m in admin.site._registry if m._meta.app_label in APPS]


@pytest.fixture
def staff(client, staff_user):
    client.force_login(staff_user)
    return client


@pytest.fixture
def full_world(people_world, other_user):
    """One row of every model, so that every changelist and change page renders something."""
    w = people_world
    Marker.objects.create(session=w.a, author=w.owner, time=1.0, note="<script>x</script>")
    Segment.objects.create(session=w.a, index=0, start=0, end=2)
    Summary.objects.create(session=w.a, requested_by=w.owner, backend="heuristic", status="done", text="fine")
    settings = LLMSettings(user=w.owner, remote_url="https://llm.example/v1", remote_model="m")
    settings.set_api_key("sk-secret-123")
    settings.save()
    AllowedLLMHost.objects.create(host="llm.internal", note="lab")
    from projects.models import Project
    from projects.services import personal_project

    Project.objects.filter(pk=personal_project(w.owner).pk).update(retention_days=30)  # per project (issue 25)
    AuditEntry.objects.create(actor=w.owner, owner=w.owner, action="viewed", object_type="session", object_id="1")
    from sessions_app.models import Heartbeat

    Heartbeat.objects.create(note="beat")
    Person.objects.create(owner=other_user, number=1, name="Other's person")
    from people.models import PersonFlag, PersonSuggestion

    PersonSuggestion.objects.create(owner=w.owner, person=w.alice, candidate=w.carol, score=0.4)
    PersonFlag.objects.create(person=w.alice, groups=[[w.tracks["a-alice"].pk], [w.tracks["b-alice"].pk]])
    from people.models import PersonMerge

    PersonMerge.objects.create(owner=w.owner, keep=w.alice, merged_id=10**6, merged_number=9, merged_name="Gone")
    Project.objects.filter(pk=personal_project(other_user).pk).update(
        storage_quota_mb=100, storage_quota_note="raised for a long study"
    )
    from sessions_app.models import AnalysisRun

    AnalysisRun.objects.create(session=w.b, weights_version="0-old", status="failed")  # not current: no effect
    from sessions_app.models import EyeEvent

    track = w.tracks["a-alice"]
    EyeEvent.objects.create(session=w.a, track=track, kind="blink", start_frame=25, end_frame=29, start=1.0, end=1.2)
    from projects.invitations import create_invitation
    from studies.models import Condition, Participant, ParticipantLink, SessionCondition, StudySettings

    project = personal_project(w.owner)
    team = Project.objects.create(name="Admin team")
    team.memberships.create(user=w.owner, role="owner")
    create_invitation(w.owner, team, "viewer")
    code = Participant.objects.create(project=project, code="P01")
    ParticipantLink.objects.create(person=w.alice, participant=code)
    condition = Condition.objects.create(project=project, label="rest")
    SessionCondition.objects.create(session=w.a, condition=condition)
    StudySettings.objects.create(project=project, mode="first")
    return w


def test_every_model_registered_and_listed_for_staff(staff, full_world):
    from django.apps import apps

    models = {m for a in APPS for m in apps.get_app_config(a).get_models()}
    assert {m for m in models if (m._meta.app_label, m._meta.model_name) not in INLINE_ONLY} == set(registered())
    for model in registered():
        opts = model._meta
        listing = staff.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_changelist"))
        assert listing.status_code == 200, opts.label
        obj = model._default_manager.first()
        assert obj is not None, opts.label
        change = staff.get(reverse(f"admin:{opts.app_label}_{opts.model_name}_change", args=[obj.pk]))
        assert change.status_code == 200, opts.label
        assert b"sk-secret-123" not in change.content and b"gAAAA" not in change.content  # never the key
    search = staff.get(reverse("admin:people_person_changelist"), {"q": "Alice"})
    assert b"Alice" in search.content and b"Other&#x27;s person" not in search.content


def test_admin_escapes_names_and_shows_thumbnails(staff, full_world):
    w = full_world
    page = staff.get(reverse("admin:people_person_changelist")).content.decode()
    assert EVIL not in page and "&lt;img src=x onerror=alert(1)&gt;" in page
    thumb = w.bob.thumbnails.get()
    assert f'<img src="{reverse("person_thumbnail", args=[thumb.pk])}" alt="&lt;img src=x' in page
    assert staff.get(reverse("person_thumbnail", args=[thumb.pk])).status_code == 200  # staff may load it
    change = staff.get(reverse("admin:people_person_change", args=[w.bob.pk])).content.decode()
    assert EVIL not in change and reverse("person_thumbnail", args=[thumb.pk]) in change
    markers = staff.get(reverse("admin:sessions_app_marker_changelist")).content.decode()
    assert "<script>x</script>" not in markers and "&lt;script&gt;x&lt;/script&gt;" in markers


def test_admin_refused_to_non_staff(client, user, full_world):
    w = full_world
    targets = [reverse("admin:index"), reverse("admin:people_person_name_faces")]
    targets += [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in registered()]
    for signed_in in (False, True):
        if signed_in:
            client.force_login(user)  # the owner of every row, but not staff
        for url in targets:
            response = client.get(url)
            assert response.status_code == 302 and "/admin/login/" in response.url, url
    action = client.post(
        reverse("admin:people_person_changelist"),
        {"action": "merge_selected", ACTION_CHECKBOX_NAME: [w.alice.pk, w.bob.pk]},
    )
    assert action.status_code == 302 and "/admin/login/" in action.url
    assert Person.objects.filter(pk=w.bob.pk).exists()
    named = client.post(reverse("admin:people_person_name_faces"), {f"name_{w.carol.pk}": "Hacked"})
    assert named.status_code == 302 and Person.objects.get(pk=w.carol.pk).name == ""


def post_action(client, model: str, action: str, ids, **extra):
    app = "people" if model == "person" else "sessions_app"
    return client.post(
        reverse(f"admin:{app}_{model}_changelist"),
        {"action": action, ACTION_CHECKBOX_NAME: [str(i) for i in ids], **extra},
        follow=True,
    )


def test_merge_action_same_owner_only(staff, full_world, other_user, staff_user):
    w = full_world
    theirs = Person.objects.get(owner=other_user)
    refused = post_action(staff, "person", "merge_selected", [w.alice.pk, theirs.pk])
    assert "Only people of the same owner" in refused.content.decode()
    assert Person.objects.filter(pk=theirs.pk).exists()
    before = counts()
    done = post_action(staff, "person", "merge_selected", [w.carol.pk, w.bob.pk, w.alice.pk])
    assert "Merged 2 people into “Alice” (9 observations moved)" in done.content.decode()
    assert counts() == {w.alice.pk: 39, None: before[None]}
    assert AuditEntry.objects.filter(action="merged", actor=staff_user, owner=w.owner).count() == 2


def test_reanalyse_action(staff, full_world, staff_user, django_capture_on_commit_callbacks):
    w = full_world
    w.a.original.save("clip.mp4", ContentFile(b"video"), save=True)
    shown = w.a.observations.count()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:  # the queueing is not run here
        response = post_action(staff, "session", "reanalyse_selected", [w.a.pk, w.b.pk])
    text = response.content.decode()
    assert "Analysis queued again for 1 session(s)." in text and "“Meeting B” has no stored media" in text
    a = Session.objects.get(pk=w.a.pk)
    # the results stay current until the new run completes (services.runs)
    assert a.status == "queued" and a.progress == 0 and a.observations.count() == shown > 0 and a.tracks.exists()
    assert list(a.segments.values_list("index", "status")) == [(0, "pending")]
    assert list(a.runs.values_list("status", flat=True)) == ["running"] and a.current_run_id is None
    assert len(callbacks) == 1  # enqueue_analysis, once committed
    assert Session.objects.get(pk=w.b.pk).observations.count() == 24  # untouched
    assert AuditEntry.objects.filter(action="reanalysed", actor=staff_user, object_id=str(w.a.pk)).exists()


def test_summarize_action_with_chosen_backend(staff, full_world, staff_user, django_capture_on_commit_callbacks):
    w = full_world
    form = post_action(staff, "session", "summarize_selected", [w.a.pk, w.b.pk])
    page = form.content.decode()
    assert form.status_code == 200 and 'name="backend"' in page and "Meeting A" in page and "Meeting B" in page
    before = Summary.objects.count()
    with django_capture_on_commit_callbacks(execute=False):
        done = post_action(staff, "session", "summarize_selected", [w.a.pk, w.b.pk], backend="heuristic", apply="1")
    assert "Summary requested for 2 session(s) with the heuristic backend." in done.content.decode()
    new = Summary.objects.order_by("-pk")[:2]
    assert Summary.objects.count() == before + 2
    assert {(s.session_id, s.backend, s.requested_by_id) for s in new} == {
        (w.a.pk, "heuristic", staff_user.pk),
        (w.b.pk, "heuristic", staff_user.pk),
    }
    bad = post_action(staff, "session", "summarize_selected", [w.a.pk], backend="nope", apply="1")
    assert "Select a valid choice" in bad.content.decode() and Summary.objects.count() == before + 2


def test_delete_media_action(staff, full_world, django_capture_on_commit_callbacks):
    w = full_world
    w.a.original.save("clip.mp4", ContentFile(b"video"), save=True)
    path = stored_path(w.a.original.name)
    assert path.is_file()
    with django_capture_on_commit_callbacks(execute=True):
        response = post_action(staff, "session", "delete_media_selected", [w.a.pk])
    assert "Deleted the media of 1 session(s)" in response.content.decode()
    a = Session.objects.get(pk=w.a.pk)
    assert not path.exists() and not a.original.name and a.media_deleted is not None
    assert a.observations.count() == 18  # results kept


def test_admin_delete_person_removes_thumbnail_file(staff, full_world, django_capture_on_commit_callbacks):
    w = full_world
    path = stored_path(w.carol.thumbnails.get().image.name)
    with django_capture_on_commit_callbacks(execute=True):
        staff.post(reverse("admin:people_person_delete", args=[w.carol.pk]), {"post": "yes"})
    assert not Person.objects.filter(pk=w.carol.pk).exists() and not path.exists()
    assert counts()[None] == 3 + 4  # kept, unattributed


def test_face_naming_view_names_a_person(staff, full_world, other_user, staff_user):
    w = full_world
    unnamed = Person.objects.create(owner=other_user, number=2)
    url = reverse("admin:people_person_name_faces")
    page = staff.get(url).content.decode()
    assert page.count('class="face"') == 2  # Carol (Person 3) and the other user's Person 2
    assert f'name="name_{w.carol.pk}"' in page and f'name="name_{unnamed.pk}"' in page
    assert w.owner.username in page and other_user.username in page
    thumb = w.carol.thumbnails.get()
    assert reverse("person_thumbnail", args=[thumb.pk]) in page
    assert f'name="name_{w.alice.pk}"' not in page  # named people are not in the grid
    response = staff.post(url, {f"name_{w.carol.pk}": "Carol", f"name_{unnamed.pk}": "  "}, follow=True)
    assert "Named 1 person." in response.content.decode()
    assert Person.objects.get(pk=w.carol.pk).name == "Carol" and Person.objects.get(pk=unnamed.pk).name == ""
    assert AuditEntry.objects.filter(action="renamed", actor=staff_user, owner=w.owner).count() == 1
    listing = staff.get(reverse("admin:people_person_changelist")).content.decode()
    assert url in listing  # linked from the people changelist
