"""Storage quota and retention per project (issue 25): a project's usage is what its sessions (whoever recorded
them), its people's thumbnails and the uploads and recordings under way into it take; each project has its
own quota (a shared one is independent of its members' personal ones) and its own retention, set by its
owners on the project page."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.utils import timezone
from rest_framework.test import APIClient

from audit.models import AuditEntry
from live import services as live
from people import retention
from people.models import Person, PersonThumbnail
from projects import services
from projects.models import Project
from sessions_app.models import Session
from sessions_app.services import storage_quota, uploads
from tests.hardening.test_storage_quota import png_bytes, stored_files
from tests.sessions.conftest import communicator, cookie_for

PASSWORD = "a-long-enough-password-1"


@pytest.fixture
def lab(settings, tmp_path):
    """A shared project "Lab": ``owner``, ``analyst`` and ``viewer``; media and staging in tmp."""
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMOTION_STAGING_DIR = tmp_path / "staging"
    settings.EMOTION_DISK_MIN_FREE_BYTES = 0
    users = get_user_model().objects
    people = {n: users.create_user(username=f"q-{n}", password=PASSWORD) for n in ("owner", "analyst", "viewer")}
    project = services.create_project(people["owner"], "Lab")
    for name in ("analyst", "viewer"):
        services.add_member(people["owner"], project, f"q-{name}", name)
    return project, people


def stored(owner, size: int, project=None, **fields) -> Session:
    """A session whose files take ``size`` bytes (recorded as the ingest does)."""
    fields = {"status": "done", **fields}
    return Session.objects.create(owner=owner, project=project, title="s", stored_bytes=size, **fields)


@pytest.mark.django_db
def test_a_projects_usage_and_quota_are_its_own(settings, lab):
    project, p = lab
    settings.EMOTION_STORAGE_QUOTA_BYTES = 50_000  # each project's, the personal ones too
    owner_personal = services.personal_project(p["owner"])
    stored(p["owner"], 45_000)  # the owner's personal project: nearly full
    stored(p["analyst"], 20_000, project)  # sessions of the project by any member count
    stored(p["owner"], 10_000, project)
    seen = Person.objects.create(owner=p["viewer"], project=project, number=1)
    PersonThumbnail.objects.create(person=seen, image="people/x/face.jpg", size=500)
    uploads.start_upload(p["analyst"].pk, "a.mp4", 4000, project_id=project.pk)  # under way into the project
    uploads.start_upload(p["analyst"].pk, "b.mp4", 1000)  # under way into the analyst's personal project
    recording = stored(p["owner"], 0, project, source=Session.Source.LIVE, status=Session.Status.RECEIVING)
    uploads.staging_dir(p["owner"].pk).mkdir(parents=True, exist_ok=True)
    (uploads.staging_dir(p["owner"].pk) / f"live-{recording.pk}.rec").write_bytes(b"r" * 300)

    assert storage_quota.usage(project).used == 20_000 + 10_000 + 500 + 4000 + 300
    assert storage_quota.usage(owner_personal).used == 45_000
    assert storage_quota.usage(services.personal_project(p["analyst"])).used == 1000

    # the owner's full personal project does not stop an upload into the shared one, nor the reverse
    with pytest.raises(uploads.UploadError, match="your storage holds 43.9 KB of your 48.8 KB quota"):
        uploads.start_upload(p["owner"].pk, "c.mp4", 10_000)
    uploads.start_upload(p["owner"].pk, "c.mp4", 10_000, project_id=project.pk)
    assert storage_quota.usage(project).used == 44_800

    # the analyst's upload into the now nearly full project is refused, naming it, before anything is written
    data = png_bytes()
    before = Session.objects.filter(project=project).count()
    api = APIClient()
    api.force_login(p["analyst"])
    answer = api.post("/api/sessions/", {"file": SimpleUploadedFile("face.png", data), "project": project.pk})
    assert answer.status_code == 413, answer.content
    message = answer.json()["detail"]
    assert "project “Lab” holds 43.8 KB of its 48.8 KB storage quota" in message
    assert f"needs {storage_quota.human(len(data))}" in message
    early = api.post(f"/api/sessions/?project={project.pk}", {"file": SimpleUploadedFile("face.png", data)})
    assert early.status_code == 413 and "“Lab”" in early.json()["detail"]  # from the declared length
    with pytest.raises(uploads.UploadError, match="“Lab”"):
        uploads.start_upload(p["analyst"].pk, "face.png", len(data), project_id=project.pk)
    assert Session.objects.filter(project=project).count() == before
    assert stored_files(settings.MEDIA_ROOT) == []
    # into the analyst's own project the same file goes (its quota is untouched by the Lab's)
    mine = api.post("/api/sessions/", {"file": SimpleUploadedFile("face.png", data)})
    assert mine.status_code == 201
    assert Session.objects.get(pk=mine.json()["id"]).project_id == services.personal_project(p["analyst"]).pk

    # full: a recording into the project is refused too; staff's quota for the project lets it in
    Session.objects.filter(project=project, stored_bytes=10_000).update(stored_bytes=20_000)
    with pytest.raises(live.LiveError, match="project “Lab” holds"):
        live.start_session(p["analyst"], "rec", 2, project=project.pk)
    Project.objects.filter(pk=project.pk).update(storage_quota_mb=1)
    assert storage_quota.usage(project).text == "53.5 KB of 1.0 MB"
    assert live.start_session(p["analyst"], "rec", 2, project=project.pk).project_id == project.pk


@pytest.mark.django_db(transaction=True)
def test_two_starts_into_one_project_near_its_quota_pass_one_at_a_time(settings, lab, monkeypatch, client):
    """Two members start uploads into the project at once: each alone fits, both together do not. The
    project's lock makes the second see the first's staged upload; without it both would pass (the usage is
    read slowly here, so both would read it before either wrote)."""
    project, p = lab
    settings.EMOTION_STORAGE_QUOTA_BYTES = 10_000
    read_usage = storage_quota.usage

    def slow_usage(proj):
        found = read_usage(proj)
        time.sleep(0.5)
        return found

    monkeypatch.setattr(storage_quota, "usage", slow_usage)
    results: dict[str, object] = {}
    barrier = threading.Barrier(2)

    def start(name: str) -> None:
        try:
            barrier.wait(timeout=10)
            results[name] = uploads.start_upload(p[name].pk, f"{name}.mp4", 6000, project_id=project.pk)
        except uploads.UploadError as exc:
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=start, args=(n,)) for n in ("owner", "analyst")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    passed = [r for r in results.values() if isinstance(r, uploads.StagedUpload)]
    refused = [r for r in results.values() if isinstance(r, uploads.UploadError)]
    assert len(passed) == 1 and len(refused) == 1, results
    assert "project “Lab”" in str(refused[0]) and "needs 5.9 KB" in str(refused[0])
    monkeypatch.setattr(storage_quota, "usage", read_usage)
    assert storage_quota.usage(project).used == 6000

    # the websocket's start message checks the project it names, and says which one is full
    cookie = cookie_for(client, p["analyst"])

    async def start_over_websocket():
        comm = communicator("/ws/upload/", cookie)
        assert (await comm.connect(timeout=10))[0]
        await comm.send_json_to({"type": "start", "name": "x.mp4", "size": 5000, "project": project.pk})
        reply = await comm.receive_json_from(timeout=10)
        await comm.disconnect()
        return reply

    reply = async_to_sync(start_over_websocket)()
    assert reply["type"] == "error" and "project “Lab” holds 5.9 KB of its 9.8 KB" in reply["message"], reply


def old_session(owner, project, age_days: float) -> Session:
    session = Session.objects.create(owner=owner, project=project, title=f"{age_days} days", status="done")
    session.original.save("clip.mp4", ContentFile(b"v" * 100), save=True)
    Session.objects.filter(pk=session.pk).update(created=timezone.now() - timedelta(days=age_days))
    return session


@pytest.mark.django_db
def test_each_projects_retention_covers_its_own_sessions(lab, django_capture_on_commit_callbacks):
    project, p = lab
    other = services.create_project(p["owner"], "No retention")
    services.set_retention(p["owner"], project, 7, False)  # the Lab: whole sessions go after 7 days
    services.set_retention(p["owner"], services.personal_project(p["owner"]), 30, True)  # media only, 30 days
    lab_old, lab_new = old_session(p["analyst"], project, 8), old_session(p["owner"], project, 6)
    mine_old, mine_mid = old_session(p["owner"], None, 31), old_session(p["owner"], None, 8)
    theirs = old_session(p["owner"], other, 400)
    with django_capture_on_commit_callbacks(execute=True):
        result = retention.apply_retention()
    assert result == {"media_deleted": 1, "sessions_deleted": 1, "people_deleted": 0}
    assert not Session.objects.filter(pk=lab_old.pk).exists()  # recorded by the analyst: the Lab's rule
    assert Session.objects.get(pk=lab_new.pk).media_deleted is None
    assert Session.objects.get(pk=mine_old.pk).media_deleted is not None  # the personal rule: media only
    assert Session.objects.get(pk=mine_mid.pk).media_deleted is None  # 8 days: the Lab's 7 do not reach it
    assert Session.objects.get(pk=theirs.pk).media_deleted is None


@pytest.mark.django_db
def test_owners_set_the_retention_on_the_project_page(lab):
    project, p = lab
    owner, analyst = Client(), Client()
    owner.force_login(p["owner"])
    analyst.force_login(p["analyst"])
    stored(p["analyst"], 2048, project)
    page = owner.get(f"/projects/{project.pk}/").content.decode()
    assert 'id="project-storage"' in page and "2.0 KB of" in page and 'id="retention-form"' in page

    url = f"/projects/{project.pk}/retention/"
    assert analyst.post(url, {"retention_days": "3"}).status_code == 403
    bad = owner.post(url, {"retention_days": "0"}, follow=True).content.decode()
    assert "between 1 and 36500 days" in bad
    assert Project.objects.get(pk=project.pk).retention_days is None
    assert owner.post(url, {"retention_days": "14"}).status_code == 302
    project.refresh_from_db()
    assert (project.retention_days, project.retention_keep_results) == (14, False)
    entry = AuditEntry.objects.get(action="settings", object_type="project")
    assert (entry.actor_id, entry.owner_id, entry.object_id) == (p["owner"].pk, p["owner"].pk, str(project.pk))
    assert "14 days" in entry.detail

    seen = analyst.get(f"/projects/{project.pk}/").content.decode()
    assert 'id="retention-form"' not in seen
    assert "older than 14 days is deleted, with the whole session" in seen
    home = analyst.get("/").content.decode()  # the sessions page: each project's use
    assert f'data-project="{project.pk}"' in home and "2.0 KB of" in home
    privacy = analyst.get("/privacy/").content.decode()  # the personal project's form, a link to the Lab's
    assert f'href="/projects/{project.pk}/"' in privacy
