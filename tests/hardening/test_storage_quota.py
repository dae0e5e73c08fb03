"""Storage quota and the disk low-water mark (issue 20, finding 4; per project since issue 25).

Sign-up is open and uploads/recordings had rates but no total: the disk filled. Each project's stored bytes
(originals, playable copies, recordings, thumbnails, and what unfinished uploads and recordings are
staging into it) are held against a quota (a setting; staff raise it per project in the admin); uploads and
recordings that would pass it are refused with a clear message before anything is written. Here a user's
own uploads go to their personal project, so its quota is what they meet (tests/projects/test_quota.py:
shared projects). Under a
free-disk low-water mark new uploads and recordings are refused for everyone, and /healthz says so.
"""

from __future__ import annotations

import io

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from audit.models import AuditEntry
from people.models import Person, PersonThumbnail
from projects.models import Project
from projects.services import personal_project
from sessions_app.models import Session
from tests.people.test_audit_trail import form_of as admin_form
from tests.sessions.conftest import communicator, cookie_for, record_two_chunks


def png_bytes(side: int = 96) -> bytes:
    """A PNG of noise (it does not compress): a real image the ingest accepts, some tens of KB."""
    import numpy as np
    from PIL import Image

    pixels = np.random.default_rng(7).integers(0, 256, (side, side, 3), dtype=np.uint8)
    buf = io.BytesIO()
    Image.fromarray(pixels).save(buf, format="PNG")
    return buf.getvalue()


def stored_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMOTION_DISK_MIN_FREE_BYTES = 0
    return settings.MEDIA_ROOT


@pytest.mark.django_db
def test_usage_counts_every_stored_file_once(settings, user, media, tmp_path):
    from sessions_app.services import storage_quota, uploads
    from sessions_app.services.ingest import ingest_file

    image = tmp_path / "face.png"
    image.write_bytes(png_bytes())
    picture = ingest_file(user, image, "face.png")  # an image is its own playable file: counted once
    assert picture.playable.name == picture.original.name
    video = Session.objects.create(owner=user, title="clip", status=Session.Status.DONE)
    video.original.save("original.mkv", ContentFile(b"o" * 1000), save=False)
    video.playable.save("playable.mp4", ContentFile(b"p" * 700), save=True)  # the playable copy
    storage_quota.measure_session(video)
    thumb = PersonThumbnail(person=Person.objects.create(owner=user, number=1))
    thumb.image.save("face.jpg", ContentFile(b"t" * 50), save=True)
    uploads.start_upload(user.pk, "next.mp4", 500)  # unfinished: counted at its announced size
    recording = Session.objects.create(owner=user, title="live", source=Session.Source.LIVE)
    (uploads.staging_dir(user.pk) / f"live-{recording.pk}.rec").write_bytes(b"r" * 300)  # a recording under way
    other = get_user_model().objects.create_user(username="other-user", password=None)
    stranger = Session.objects.create(owner=other, title="theirs")
    stranger.original.save("original.mp4", ContentFile(b"x" * 4000), save=True)
    storage_quota.measure_session(stranger)

    used = storage_quota.usage(personal_project(user)).used
    assert used == len(image.read_bytes()) + 1000 + 700 + 50 + 500 + 300
    assert storage_quota.usage(personal_project(other)).used == 4000
    assert Session.objects.get(pk=video.pk).stored_bytes == 1700


@pytest.mark.django_db
def test_uploads_over_the_quota_are_refused_before_anything_is_written(settings, user, media):
    from sessions_app.services import uploads

    settings.EMOTION_STORAGE_QUOTA_BYTES = 10_000
    data = png_bytes()
    assert len(data) > 10_000
    with pytest.raises(uploads.UploadError) as refused:  # the websocket's start message
        uploads.start_upload(user.pk, "face.png", len(data))
    assert "storage" in str(refused.value).lower() and "9.8 KB" in str(refused.value)
    assert stored_files(uploads.staging_dir(user.pk)) == []
    api = APIClient()
    api.force_login(user)
    answer = api.post("/api/sessions/", {"file": SimpleUploadedFile("face.png", data)})
    assert answer.status_code == 413
    assert "storage" in answer.json()["detail"].lower()
    assert not Session.objects.filter(owner=user).exists()
    assert stored_files(media) == [] and stored_files(settings.EMOTION_STAGING_DIR / "api") == []

    # staff raise the quota of this user's (personal) project in the admin (audited); the upload then goes
    staff = get_user_model().objects.create_user(username="quota-staff", password=None, is_staff=True)
    admin = Client()
    admin.force_login(staff)
    project = personal_project(user)
    url = f"/admin/projects/project/{project.pk}/change/"
    form = admin_form(admin, url) | {"storage_quota_mb": "1", "storage_quota_note": "lab"}
    form["memberships-0-role"] = "owner"  # the members inline's select (form_of reads inputs only)
    added = admin.post(url, form)
    assert added.status_code == 302, added.content[:2000]
    project.refresh_from_db()
    assert (project.storage_quota_mb, project.storage_quota_note) == (1, "lab")
    entry = AuditEntry.objects.get(actor=staff, object_type="project", owner=user)
    assert "storage_quota_mb" in entry.detail
    assert api.post("/api/sessions/", {"file": SimpleUploadedFile("face.png", data)}).status_code == 201
    assert Session.objects.get(owner=user).stored_bytes == len(data)


@pytest.mark.django_db
def test_sessions_page_shows_the_storage_used(settings, user, media, tmp_path):
    from sessions_app.services.ingest import ingest_file

    image = tmp_path / "face.png"
    image.write_bytes(png_bytes(64))
    ingest_file(user, image, "face.png")
    Project.objects.filter(pk=personal_project(user).pk).update(storage_quota_mb=2)
    page = Client()
    page.force_login(user)
    html = page.get("/").content.decode()
    assert 'id="storage-use"' in html
    used_kb = f"{len(image.read_bytes()) / 1024:.1f} KB"
    assert f"{used_kb} of 2.0 MB" in html


@pytest.mark.django_db(transaction=True)
def test_live_recordings_are_refused_when_full_and_bounded_by_what_is_left(client, user, settings, media):
    from live import services as live

    settings.EMOTION_STORAGE_QUOTA_BYTES = 1000
    settings.EMOTION_LIVE_MAX_BYTES = 1_000_000
    cookie = cookie_for(client, user)

    async def record():
        comm = communicator("/ws/live/", cookie)
        assert (await comm.connect(timeout=10))[0]
        started, first, replies = await record_two_chunks(comm)  # the second goes past the 400 bytes left
        await comm.disconnect()
        return started, first, replies

    started, first, replies = async_to_sync(record)()
    assert started["type"] == "started" and first == {"type": "chunk.ack", "received": 1}
    error, stopping, stopped = replies
    assert error["type"] == "error" and "storage" in error["message"].lower()
    assert stopping["type"] == "stopping" and stopped["type"] == "stopped"
    session = Session.objects.get(pk=started["session_id"])
    assert session.original.size == 600 and session.stored_bytes == 600  # what fitted is kept and counted

    settings.EMOTION_STORAGE_QUOTA_BYTES = 600  # now full: a new recording is refused before a row exists
    with pytest.raises(live.LiveError) as refused:
        live.start_session(user, "more", 2)
    assert "storage" in str(refused.value).lower()
    assert Session.objects.filter(owner=user).count() == 1


@pytest.mark.django_db
def test_disk_low_water_mark_refuses_everyone_and_healthz_says_so(settings, user, media):
    from live import services as live
    from sessions_app.services import uploads

    settings.EMOTION_DISK_MIN_FREE_BYTES = 1 << 60  # more than any disk has free
    with pytest.raises(uploads.UploadError) as upload_refused:
        uploads.start_upload(user.pk, "a.mp4", 100)
    assert "disk" in str(upload_refused.value).lower()
    with pytest.raises(live.LiveError) as live_refused:
        live.start_session(user, "rec", 2)
    assert "disk" in str(live_refused.value).lower()
    api = APIClient()
    api.force_login(user)
    answer = api.post("/api/sessions/", {"file": SimpleUploadedFile("face.png", png_bytes(32))})
    assert answer.status_code == 507 and "disk" in answer.json()["detail"].lower()
    assert not Session.objects.filter(owner=user).exists()
    low = Client().get("/healthz").json()
    assert low["disk"] == "low" and low["status"] == "degraded"

    settings.EMOTION_DISK_MIN_FREE_BYTES = 0
    assert Client().get("/healthz").json()["disk"] == "ok"
    assert uploads.start_upload(user.pk, "a.mp4", 100).size == 100
