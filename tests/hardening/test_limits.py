"""Per-user limits on expensive work (security finding 7): rates answered 429 with Retry-After on pages,
the API and websockets alike; active-work caps; the staging quota and its cleaner; the request-body
limit ahead of Django; the websocket message size; a live recording's size.

Limits are set small per test through ``settings.EMOTION_LIMITS`` (the defaults are generous); the
counters are reset before every test (root conftest), so tests never see each other's counts.
"""

from __future__ import annotations

import json
import os
import time

import pytest
from asgiref.sync import async_to_sync
from channels.testing import ApplicationCommunicator
from django.contrib.auth import get_user_model
from django.test import Client
from rest_framework.test import APIClient

from sessions_app.models import Session
from tests.sessions.conftest import communicator, cookie_for, record_two_chunks


def limit(settings, **rates: str) -> None:
    """Set some per-action rates (e.g. summaries="3/hour"), keeping the others."""
    settings.EMOTION_LIMITS = {**getattr(settings, "EMOTION_LIMITS", {}), **rates}


def retry_after(response) -> int:
    value = int(response["Retry-After"])
    assert 0 < value <= 3600
    return value


@pytest.fixture
def done_session(user):
    return Session.objects.create(owner=user, title="Done", status=Session.Status.DONE, progress=1.0, duration=12.0)


# --------------------------------------------------------------------------- summaries
@pytest.mark.django_db
def test_summary_flood_is_refused_with_429_and_retry_after(settings, user, done_session):
    from summaries.models import Summary

    limit(settings, summaries="3/hour")
    settings.EMOTION_LIMIT_ACTIVE_SUMMARIES = 100
    api = APIClient()
    api.force_login(user)
    url = f"/api/sessions/{done_session.pk}/summaries/"
    codes = [api.post(url, {"backend": "heuristic"}, format="json").status_code for _ in range(3)]
    assert codes == [201, 201, 201]
    refused = api.post(url, {"backend": "heuristic"}, format="json")
    assert refused.status_code == 429
    retry_after(refused)
    assert "summar" in refused.json()["detail"].lower()
    # the page's form answers the same way, with a plain message
    page = Client()
    page.force_login(user)
    refused_page = page.post(f"/sessions/{done_session.pk}/summaries/", {"backend": "heuristic"})
    assert refused_page.status_code == 429
    retry_after(refused_page)
    assert refused_page["Content-Type"].startswith("text/plain")
    assert "try again in" in refused_page.content.decode().lower()
    assert Summary.objects.filter(session=done_session).count() == 3


@pytest.mark.django_db
def test_active_summaries_per_user_are_capped(settings, user, done_session):
    from summaries.models import Summary

    limit(settings, summaries="100/hour")
    settings.EMOTION_LIMIT_ACTIVE_SUMMARIES = 2
    api = APIClient()
    api.force_login(user)
    url = f"/api/sessions/{done_session.pk}/summaries/"
    first, second, third = (api.post(url, {"backend": "heuristic"}, format="json") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (201, 201, 429)
    retry_after(third)
    assert api.post(f"{url}{first.json()['id']}/cancel/").status_code == 200  # one fewer active
    assert api.post(url, {"backend": "heuristic"}, format="json").status_code == 201
    assert Summary.objects.filter(session=done_session).count() == 3


# --------------------------------------------------------------------------- API, sign-ups, re-analysis
@pytest.mark.django_db
def test_api_requests_are_throttled_per_user_and_anonymous_per_address(settings, user, django_user_model):
    limit(settings, api="4/minute", api_anon="1/minute")
    api = APIClient()
    api.force_login(user)
    assert [api.get("/api/sessions/").status_code for _ in range(4)] == [200] * 4
    refused = api.get("/api/sessions/")
    assert refused.status_code == 429
    assert 0 < retry_after(refused) <= 60
    other = APIClient()
    other.force_login(django_user_model.objects.create_user(username="throttle-other", password=None))
    assert other.get("/api/sessions/").status_code == 200  # counted per user
    anonymous = APIClient()
    assert anonymous.get("/api/schema/").status_code == 200
    assert anonymous.get("/api/schema/").status_code == 429


@pytest.mark.django_db
def test_signups_are_limited_per_address(settings):
    limit(settings, signups="2/hour")
    users = get_user_model().objects

    def sign_up(name: str, address: str):
        form = {"username": name, "password1": "a-Long-pass-123", "password2": "a-Long-pass-123"}
        return Client(REMOTE_ADDR=address).post("/accounts/signup/", form)

    assert sign_up("first1", "10.1.1.1").status_code == 302
    assert sign_up("second2", "10.1.1.1").status_code == 302
    refused = sign_up("third3", "10.1.1.1")
    assert refused.status_code == 429
    retry_after(refused)
    assert not users.filter(username="third3").exists()
    assert sign_up("fourth4", "10.2.2.2").status_code == 302  # another address has its own count


@pytest.mark.django_db
def test_every_sign_up_attempt_counts(settings, user):
    """A refused form still answers whether a name is taken ("already exists"), so every attempt counts."""
    limit(settings, signups="2/hour")

    def sign_up(name: str, password2: str = "a-Long-pass-123"):
        form = {"username": name, "password1": "a-Long-pass-123", "password2": password2}
        return Client(REMOTE_ADDR="10.3.3.3").post("/accounts/signup/", form)

    probe = sign_up(user.username, "mismatched")
    assert probe.status_code == 200 and "already exists" in probe.content.decode()
    assert sign_up("nobody-yet", "mismatched").status_code == 200
    refused = sign_up(user.username, "mismatched")
    assert refused.status_code == 429
    assert "already exists" not in refused.content.decode()
    retry_after(refused)
    assert sign_up("newcomer", "a-Long-pass-123").status_code == 429
    assert not get_user_model().objects.filter(username="newcomer").exists()


@pytest.mark.django_db
def test_reanalysis_is_limited_per_actor(settings, user, done_session):
    from django.core.files.base import ContentFile

    limit(settings, reanalysis="1/hour")
    settings.MEDIA_ROOT = settings.EMOTION_STAGING_DIR.parent / "media"
    done_session.original.save("clip.mp4", ContentFile(b"x" * 64))
    staff = get_user_model().objects.create_user(username="staff-re", password=None, is_staff=True, is_superuser=True)
    admin = Client()
    admin.force_login(staff)
    action = {"action": "reanalyse_selected", "_selected_action": [done_session.pk]}
    admin.post("/admin/sessions_app/session/", action)
    Session.objects.filter(pk=done_session.pk).update(status=Session.Status.DONE)
    answer = admin.post("/admin/sessions_app/session/", action, follow=True)
    shown = " ".join(str(m) for m in answer.context["messages"])
    assert "try again in" in shown.lower()
    assert Session.objects.get(pk=done_session.pk).status == Session.Status.DONE  # not queued again


# --------------------------------------------------------------------------- uploads
@pytest.mark.django_db
def test_rest_uploads_are_limited_per_user(settings, user):
    from django.core.files.uploadedfile import SimpleUploadedFile

    limit(settings, uploads="2/hour")
    api = APIClient()
    api.force_login(user)

    def upload():
        return api.post("/api/sessions/", {"file": SimpleUploadedFile("x.mp4", b"not a video at all")})

    assert [upload().status_code for _ in range(2)] == [400, 400]  # refused files count too: the work was done
    refused = upload()
    assert refused.status_code == 429
    retry_after(refused)


@pytest.mark.django_db
def test_staging_quota_counts_unfinished_uploads(settings, user):
    from sessions_app.services import uploads

    settings.EMOTION_STAGING_QUOTA_BYTES = 1000
    first = uploads.start_upload(user.pk, "a.mp4", 600)
    with pytest.raises(uploads.UploadError) as refused:
        uploads.start_upload(user.pk, "b.mp4", 600)  # a second start does not silently pile up
    assert "unfinished uploads" in str(refused.value)
    assert uploads.start_upload(user.pk, "a.mp4", 600, upload_id=first.upload_id).offset == 0  # resuming is fine
    first.discard()
    assert uploads.start_upload(user.pk, "b.mp4", 600).size == 600


@pytest.mark.django_db
def test_staging_cleaner_removes_abandoned_parts(settings, user):
    from sessions_app import tasks
    from sessions_app.services import uploads

    settings.EMOTION_STAGING_MAX_AGE_HOURS = 2
    old = uploads.start_upload(user.pk, "old.mp4", 100)
    fresh = uploads.start_upload(user.pk, "fresh.mp4", 100)
    api_tmp = settings.EMOTION_STAGING_DIR / "api" / "tmpabandoned.mp4"
    api_tmp.parent.mkdir(parents=True)
    api_tmp.write_bytes(b"x")
    live_rec = uploads.staging_dir(user.pk) / "live-7.rec"  # live recordings are the live reaper's
    live_rec.write_bytes(b"x")
    stale = time.time() - 3 * 3600
    for path in (old.path, old.meta_path, api_tmp, live_rec):
        os.utime(path, (stale, stale))
    assert tasks.clean_staging() == 3
    assert not old.path.exists() and not old.meta_path.exists() and not api_tmp.exists()
    assert fresh.path.exists() and fresh.meta_path.exists() and live_rec.exists()
    assert settings.CELERY_BEAT_SCHEDULE["clean-staging"]["task"] == "sessions_app.clean_staging"


# --------------------------------------------------------------------------- request bodies ahead of Django
def _http_scope(path: str, headers: dict[str, str]) -> dict:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": path, "raw_path": path.encode(), "root_path": "", "query_string": b"",
        "headers": [(b"host", b"localhost"), *((k.encode(), v.encode()) for k, v in headers.items())],
        "client": ("127.0.0.1", 50000), "server": ("127.0.0.1", 8000),
    }  # fmt: skip


async def _post(path: str, headers: dict[str, str], chunks: list[bytes]) -> tuple[int, dict, bytes]:
    """Send a request through the real ASGI application; returns (status, headers, body)."""
    from emotionsite.asgi import application

    comm = ApplicationCommunicator(application, _http_scope(path, headers))
    for i, chunk in enumerate(chunks):
        await comm.send_input({"type": "http.request", "body": chunk, "more_body": i < len(chunks) - 1})
    start = await comm.receive_output(timeout=5)
    body = b""
    while True:
        message = await comm.receive_output(timeout=5)
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    await comm.wait(timeout=5)
    return start["status"], {k.decode().lower(): v.decode() for k, v in start["headers"]}, body


@pytest.mark.django_db
def test_body_over_content_length_limit_is_refused_before_it_is_read(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    form = {"content-type": "application/x-www-form-urlencoded", "content-length": str(50 * 1024 * 1024)}
    # no body is sent at all: an application that started reading it would wait, not answer
    status, headers, body = async_to_sync(_post)("/accounts/signup/", form, [])
    assert status == 413
    assert b"too large" in body.lower()
    assert headers["content-type"].startswith("text/plain")


@pytest.mark.django_db
def test_chunked_body_is_cut_off_at_the_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 4096
    fields = b"username=chunky&password1=a-Long-pass-123&password2=a-Long-pass-123&pad="
    chunks = [fields, b"x" * 3000, b"x" * 3000, b"x" * 3000]
    form = {"content-type": "application/x-www-form-urlencoded", "transfer-encoding": "chunked"}
    status, _, _ = async_to_sync(_post)("/accounts/signup/", form, chunks)
    assert status == 413
    assert not get_user_model().objects.filter(username="chunky").exists()


@pytest.mark.django_db
def test_uploads_to_the_api_have_the_upload_limit(settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    settings.EMOTION_UPLOAD_MAX_BYTES = 1024 * 1024
    multipart = {"content-type": "multipart/form-data; boundary=xyz"}
    body = b"--xyz\r\n" + b"x" * (512 * 1024) + b"\r\n--xyz--\r\n"  # over the ordinary limit, under the upload one
    status, _, _ = async_to_sync(_post)("/api/sessions/", {**multipart, "content-length": str(len(body))}, [body])
    assert status == 401  # through to the API, which wants a user
    too_big = {**multipart, "content-length": str(3 * 1024 * 1024)}
    status, headers, body = async_to_sync(_post)("/api/sessions/", too_big, [])
    assert status == 413
    assert json.loads(body)["detail"].startswith("The request is too large")


# --------------------------------------------------------------------------- websockets
@pytest.mark.django_db(transaction=True)
def test_websocket_upload_limits(client, user, settings):
    limit(settings, uploads="1/hour")
    settings.EMOTION_WS_MAX_MESSAGE_BYTES = 4096
    cookie = cookie_for(client, user)

    async def run():
        comm = communicator("/ws/upload/", cookie)
        assert (await comm.connect(timeout=10))[0]
        await comm.send_to(text_data=json.dumps({"type": "start", "name": "x" * 5000, "size": 10}))
        oversized = await comm.receive_json_from(timeout=5)
        closed = await comm.receive_output(timeout=5)
        comm = communicator("/ws/upload/", cookie)
        assert (await comm.connect(timeout=10))[0]
        await comm.send_json_to({"type": "start", "name": "a.mp4", "size": 10})
        ready = await comm.receive_json_from(timeout=5)
        await comm.send_to(bytes_data=b"y" * 5000)
        big_chunk = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        comm = communicator("/ws/upload/", cookie)
        assert (await comm.connect(timeout=10))[0]
        await comm.send_json_to({"type": "start", "name": "b.mp4", "size": 10})
        limited = await comm.receive_json_from(timeout=5)
        await comm.disconnect()
        return oversized, closed, ready, big_chunk, limited

    oversized, closed, ready, big_chunk, limited = async_to_sync(run)()
    assert oversized["type"] == "error" and "too large" in oversized["message"]
    assert closed == {"type": "websocket.close", "code": 1009}
    assert ready["type"] == "ready"
    assert big_chunk["type"] == "error" and "too large" in big_chunk["message"]
    assert limited["type"] == "error" and "try again in" in limited["message"].lower()
    assert 0 < limited["retry_after"] <= 3600


@pytest.mark.django_db(transaction=True)
def test_live_recording_size_and_rate_limits(client, user, settings, tmp_path):
    limit(settings, live="1/hour")
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMOTION_LIVE_MAX_BYTES = 1000
    cookie = cookie_for(client, user)

    async def run():
        comm = communicator("/ws/live/", cookie)
        assert (await comm.connect(timeout=10))[0]
        started, first, replies = await record_two_chunks(comm)  # the second goes past the 1000-byte bound
        await comm.disconnect()
        comm = communicator("/ws/live/", cookie)
        assert (await comm.connect(timeout=10))[0]
        await comm.send_json_to({"type": "start", "fps": 2})
        limited = await comm.receive_json_from(timeout=10)
        await comm.disconnect()
        return started, first, replies, limited

    started, first, replies, limited = async_to_sync(run)()
    assert started["type"] == "started" and first == {"type": "chunk.ack", "received": 1}
    error, stopping, stopped = replies
    assert error["type"] == "error" and "size limit" in error["message"]
    assert stopping["type"] == "stopping" and stopped["type"] == "stopped"
    session = Session.objects.get(pk=started["session_id"])
    assert session.original.size == 600  # what arrived within the bound is kept and analysed
    assert limited["type"] == "error" and 0 < limited["retry_after"] <= 3600
    assert Session.objects.filter(owner=user, source=Session.Source.LIVE).count() == 1
