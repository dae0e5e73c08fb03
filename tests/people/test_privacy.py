"""Retention (task function and the real worker), privacy settings and "delete my account and all my data"."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import models
from django.urls import reverse
from django.utils import timezone

from audit.models import AuditEntry
from people import retention
from people.models import Person, PersonThumbnail
from people.tasks import apply_retention
from sessions_app.models import Marker, Observation, Session, Track
from tests.people.conftest import add_thumbnail, embedding, stored_path
from tests.replay.conftest import add_observations


def retention_of(user, **fields) -> None:
    """Retention is per project (issue 25): a user's own setting is their personal project's."""
    from projects.models import Project
    from projects.services import personal_project

    Project.objects.filter(pk=personal_project(user).pk).update(**fields)


VIDEO = b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 4


def stored_session(owner, title: str, age_days: float) -> Session:
    session = Session.objects.create(owner=owner, title=title, status="done", progress=1.0, duration=2, sample_fps=5)
    session.original.save("clip.mp4", ContentFile(VIDEO), save=False)
    session.playable.save("clip-play.mp4", ContentFile(VIDEO), save=True)
    Session.objects.filter(pk=session.pk).update(created=timezone.now() - timedelta(days=age_days))
    add_observations(session, None, [(f, "happy", 0.8, 0.5) for f in range(4)], 0, "0:1")
    session.refresh_from_db()
    return session


def files_of(session: Session) -> list[Path]:
    return [stored_path(session.original.name), stored_path(session.playable.name)]


@pytest.mark.django_db
def test_retention_deletes_old_media_and_nothing_newer(
    user, other_user, media_root, django_capture_on_commit_callbacks
):
    retention_of(user, retention_days=30, retention_keep_results=True)
    old = stored_session(user, "old", 31)
    new = stored_session(user, "new", 29)
    running = stored_session(user, "running", 40)
    Session.objects.filter(pk=running.pk).update(status="analysing")
    theirs = stored_session(other_user, "no setting", 400)  # a user without a retention setting keeps all
    seen = Person.objects.create(owner=user, number=1, embeddings=[embedding(0.3)])  # only in the old session
    add_observations(old, seen, [(0, "happy", 0.8, 0.5)], 1, "0:2")
    thumb = stored_path(add_thumbnail(seen).image.name)
    paths = {s.title: files_of(s) for s in (old, new, running, theirs)}
    assert all(p.is_file() for ps in paths.values() for p in ps)
    with django_capture_on_commit_callbacks(execute=True):
        result = apply_retention()  # the task function, called directly
    assert result == {"media_deleted": 1, "sessions_deleted": 0, "people_deleted": 0}
    assert not any(p.exists() for p in paths["old"])
    assert all(p.is_file() for t in ("new", "running", "no setting") for p in paths[t])
    old.refresh_from_db()
    assert old.media_deleted is not None and not old.original.name and not old.playable.name
    assert Observation.objects.filter(session=old).count() == 5  # results kept
    # and the people seen, with their face thumbnails and descriptors (the privacy page says so)
    assert Person.objects.get(pk=seen.pk).embeddings == [embedding(0.3)] and thumb.is_file()
    assert Session.objects.get(pk=new.pk).media_deleted is None
    entry = AuditEntry.objects.get()
    assert (entry.action, entry.object_id, entry.actor) == ("media_deleted", str(old.pk), None)
    with django_capture_on_commit_callbacks(execute=True):
        assert apply_retention() == {"media_deleted": 0, "sessions_deleted": 0, "people_deleted": 0}  # idempotent


@pytest.mark.django_db
def test_session_page_says_its_media_was_deleted(client, user, media_root, django_capture_on_commit_callbacks):
    retention_of(user, retention_days=30, retention_keep_results=True)
    old = stored_session(user, "old", 31)
    client.force_login(user)
    assert b'id="media-deleted"' not in client.get(f"/sessions/{old.pk}/").content
    with django_capture_on_commit_callbacks(execute=True):
        apply_retention()
    page = client.get(f"/sessions/{old.pk}/")
    assert page.status_code == 200
    assert b'id="media-deleted"' in page.content and b"its results are kept" in page.content
    assert f"/sessions/{old.pk}/export/people.csv".encode() in page.content


@pytest.mark.django_db
def test_retention_without_results_deletes_the_session(user, media_root, django_capture_on_commit_callbacks):
    retention_of(user, retention_days=7, retention_keep_results=False)
    old, new = stored_session(user, "old", 8), stored_session(user, "new", 6)
    old_files = files_of(old)
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.apply_retention() == {"media_deleted": 0, "sessions_deleted": 1, "people_deleted": 0}
    assert not Session.objects.filter(pk=old.pk).exists() and not any(p.exists() for p in old_files)
    assert not Observation.objects.filter(session_id=old.pk).exists()
    assert Session.objects.filter(pk=new.pk).exists() and all(p.is_file() for p in files_of(new))


@pytest.mark.django_db
def test_retention_without_results_deletes_people_left_in_no_session(
    user, other_user, media_root, django_capture_on_commit_callbacks
):
    retention_of(user, retention_days=7, retention_keep_results=False)
    retention_of(other_user, retention_days=7, retention_keep_results=False)
    old, new = stored_session(user, "old", 8), stored_session(user, "new", 6)
    gone = Person.objects.create(owner=user, number=1, embeddings=[embedding(0.1)])  # only in the old one
    stays = Person.objects.create(owner=user, number=2, embeddings=[embedding(0.5)])  # in both
    add_observations(old, gone, [(f, "happy", 0.8, 0.5) for f in range(3)], 1, "0:2")
    add_observations(old, stays, [(f, "sad", 0.7, 0.5) for f in range(3)], 2, "0:3")
    kept_track = add_observations(new, stays, [(f, "sad", 0.7, 0.5) for f in range(3)], 1, "0:2")
    Track.objects.filter(pk=kept_track.pk).update(embedding=embedding(0.5))
    theirs = stored_session(other_user, "theirs", 1)  # another owner's person, in a kept session
    their_person = Person.objects.create(owner=other_user, number=1, embeddings=[embedding(0.9)])
    add_observations(theirs, their_person, [(0, "fear", 0.6, 0.5)], 1, "0:2")
    thumbs = {p.pk: stored_path(add_thumbnail(p).image.name) for p in (gone, stays, their_person)}
    assert all(t.is_file() for t in thumbs.values())

    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention()

    assert not Person.objects.filter(pk=gone.pk).exists()  # the descriptors (embeddings) with the row
    assert not PersonThumbnail.objects.filter(person_id=gone.pk).exists() and not thumbs[gone.pk].exists()
    assert Person.objects.get(pk=stays.pk).embeddings == [embedding(0.5)]
    assert thumbs[stays.pk].is_file() and thumbs[their_person.pk].is_file()
    assert Track.objects.get(pk=kept_track.pk).embedding == embedding(0.5)
    assert Person.objects.filter(pk=their_person.pk).exists()
    assert result == {"media_deleted": 0, "sessions_deleted": 1, "people_deleted": 1}
    entry = AuditEntry.objects.get(object_type="person", action="deleted")
    assert (entry.object_id, entry.owner_id, entry.actor) == (str(gone.pk), user.pk, None)
    assert "retention" in entry.detail and "no session" in entry.detail
    with django_capture_on_commit_callbacks(execute=True):
        assert retention.apply_retention() == {"media_deleted": 0, "sessions_deleted": 0, "people_deleted": 0}


@pytest.mark.django_db
def test_privacy_page_says_what_retention_keeps(auth_client):
    import re

    page = auth_client.get(reverse("privacy_settings")).content.decode()
    kept = re.search(r'id="retention-kept"[^>]*>(.*?)</p>', page, re.S)
    not_kept = re.search(r'id="retention-not-kept"[^>]*>(.*?)</p>', page, re.S)
    assert kept and not_kept, page
    assert "people" in kept[1] and "face pictures and the face data kept to recognise them stay" in kept[1]
    assert "whole session is deleted" in not_kept[1]
    assert (
        "people seen in no other session are deleted with their face pictures and the face data kept to recognise them"
        in not_kept[1]
    )


@pytest.mark.django_db(transaction=True)
def test_retention_through_the_real_worker(user, celery_worker_proc):
    """The beat schedule names this task; a real worker runs it against the test database."""
    assert settings.CELERY_BEAT_SCHEDULE["apply-retention"]["task"] == "sessions_app.apply_retention"
    retention_of(user, retention_days=1, retention_keep_results=True)
    old, new = stored_session(user, "old", 2), stored_session(user, "new", 0)  # the worker's MEDIA_ROOT
    old_files, new_files = files_of(old), files_of(new)
    try:
        result = apply_retention.delay().get(timeout=60)
        assert result["media_deleted"] >= 1
        assert not any(p.exists() for p in old_files) and all(p.is_file() for p in new_files)
        assert Session.objects.get(pk=old.pk).media_deleted is not None
        assert Session.objects.get(pk=new.pk).media_deleted is None
    finally:
        for name in (new.original.name, new.playable.name, old.original.name, old.playable.name):
            default_storage.delete(name)


@pytest.mark.django_db
def test_privacy_settings_page(auth_client, user):
    from projects.services import personal_project

    page = auth_client.get(reverse("privacy_settings"))
    assert page.status_code == 200 and b"Delete my account" in page.content
    bad = auth_client.post(reverse("privacy_settings"), {"retention_days": "abc"}, follow=True)
    assert "whole number" in bad.content.decode() and personal_project(user).retention_days is None
    zero = auth_client.post(reverse("privacy_settings"), {"retention_days": "0"}, follow=True)
    assert "between 1 and" in zero.content.decode()
    auth_client.post(reverse("privacy_settings"), {"retention_days": "90"})
    prefs = personal_project(user)  # the privacy page sets the personal project's retention
    assert prefs.retention_days == 90 and prefs.retention_keep_results is False
    assert AuditEntry.objects.filter(action="settings", actor=user).count() == 1


def user_rows(user_id: int) -> dict[str, int]:
    """Rows of every model that point at the user through a foreign key (directly)."""
    found = {}
    for model in apps.get_models():
        for f in model._meta.get_fields():
            if isinstance(f, models.ForeignKey | models.OneToOneField) and f.related_model is get_user_model():
                n = model._default_manager.filter(**{f.name: user_id}).count()
                if n:
                    found[f"{model._meta.label}.{f.name}"] = n
    return found


@pytest.mark.django_db
def test_delete_account_leaves_no_row_or_file(
    client, user, password, people_world, settings, tmp_path, other_user, media_root, django_capture_on_commit_callbacks
):
    from api_tokens.models import ApiToken
    from summaries.models import LLMSettings, Summary

    w = people_world
    session = stored_session(user, "with media", 1)
    Marker.objects.create(session=session, author=user, time=0.5, note="note")
    summary = Summary.objects.create(session=session, requested_by=user, backend="heuristic", text="…")
    LLMSettings.objects.create(user=user, remote_url="https://llm.example/v1", remote_model="m")
    retention_of(user, retention_days=10)
    ApiToken.objects.create(user=user)
    theirs = stored_session(other_user, "theirs", 1)
    their_thumb = add_thumbnail(type(w.alice).objects.create(owner=other_user, number=1, name="Theirs"))
    settings.EMOTION_STAGING_DIR = tmp_path / "staging"
    client.force_login(user)
    client.post(reverse("session_rename", args=[session.pk]), {"title": "renamed"})  # an audit entry about them
    (Path(settings.EMOTION_STAGING_DIR) / str(user.pk)).mkdir(parents=True, exist_ok=True)
    (Path(settings.EMOTION_STAGING_DIR) / str(user.pk) / "live-1.rec").write_bytes(b"partial")
    before = user_rows(user.pk)
    assert {"sessions_app.Session.owner", "people.Person.owner", "audit.AuditEntry.actor"} <= set(before)
    user_dirs = [media_root / "sessions" / str(user.pk), media_root / "people" / str(user.pk)]
    assert all(any(d.rglob("*")) for d in user_dirs)

    wrong = client.post(reverse("account_delete"), {"password": "nope"}, follow=True)
    assert "not correct" in wrong.content.decode() and user_rows(user.pk) == before

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_delete"), {"password": password})
    assert response.status_code == 302 and response.url == reverse("login")
    assert not get_user_model().objects.filter(pk=user.pk).exists()
    assert user_rows(user.pk) == {}
    # rows linked through their session or person, not to the user directly
    assert not Session.objects.filter(pk__in=[w.a.pk, w.b.pk, session.pk]).exists()
    assert not Summary.objects.filter(pk=summary.pk).exists()
    assert not Observation.objects.filter(session_id__in=[w.a.pk, w.b.pk, session.pk]).exists()
    assert not PersonThumbnail.objects.filter(person_id__in=[w.alice.pk, w.bob.pk, w.carol.pk]).exists()
    assert list(AuditEntry.objects.values_list("action", "object_id", "actor", "owner")) == [
        ("account_deleted", str(user.pk), None, None)
    ]
    assert not any(d.exists() for d in user_dirs)  # every file and folder of theirs
    assert not (Path(settings.EMOTION_STAGING_DIR) / str(user.pk)).exists()
    # the other user's data is untouched
    assert all(p.is_file() for p in files_of(theirs)) and stored_path(their_thumb.image.name).is_file()
    assert client.get(reverse("home")).status_code == 302  # signed out
