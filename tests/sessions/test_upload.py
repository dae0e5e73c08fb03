"""The upload websocket through the real ASGI app: refusals, limits, resume, bad files."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from sessions_app.models import Session
from tests.sessions.conftest import communicator, cookie_for, ws_upload

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def no_enqueue(monkeypatch):
    """Keep these tests off the worker: sessions are created but not analysed."""
    queued: list[int] = []
    monkeypatch.setattr("sessions_app.services.analysis.enqueue_analysis", queued.append)
    return queued


def test_anonymous_is_refused():
    async def run():
        comm = communicator("/ws/upload/", None)
        connected, code = await comm.connect(timeout=5)
        assert not connected and code == 4401

    async_to_sync(run)()


def test_malformed_messages_get_errors_not_crashes(client, user):
    cookie = cookie_for(client, user)

    async def run():
        comm = communicator("/ws/upload/", cookie)
        assert (await comm.connect(timeout=5))[0]
        await comm.send_to(text_data="not json")
        assert (await comm.receive_json_from(timeout=5))["type"] == "error"
        await comm.send_to(bytes_data=b"data before start")
        assert (await comm.receive_json_from(timeout=5))["type"] == "error"
        await comm.send_json_to({"type": "start", "name": "x.mp4", "size": "big"})
        assert (await comm.receive_json_from(timeout=5))["type"] == "error"
        await comm.send_json_to({"type": "start", "name": "x.mp4", "size": 10, "upload_id": "../../etc"})
        assert (await comm.receive_json_from(timeout=5))["type"] == "error"
        await comm.disconnect()

    async_to_sync(run)()


def test_size_limit(client, user, settings):
    settings.EMOTION_UPLOAD_MAX_BYTES = 1000
    out = async_to_sync(ws_upload)(cookie_for(client, user), b"x" * 2000, "big.mp4")
    assert out["final"]["type"] == "error" and "too large" in out["final"]["message"]


@pytest.mark.parametrize("kind", ["text", "truncated"])
def test_bad_files_are_refused_and_leave_nothing(client, user, media_dir, settings, kind, no_enqueue):
    if kind == "text":
        data, name = b"hello, this is not a video\n" * 200, "notes.txt"
    else:
        data, name = (media_dir / "talking_face_retalking_2.mp4").read_bytes()[:3000], "broken.mp4"
    out = async_to_sync(ws_upload)(cookie_for(client, user), data, name)
    assert out["final"]["type"] == "error"
    assert out["final"]["message"].startswith("This file could not be read as a video or image")
    assert not Session.objects.exists()
    staged = settings.EMOTION_STAGING_DIR / str(user.pk)
    assert not list(staged.glob("*.part"))
    assert no_enqueue == []


def test_interrupted_upload_resumes_from_acked_offset(client, user, media_dir, no_enqueue, settings):
    data = (media_dir / "obama.jpg").read_bytes()
    cookie = cookie_for(client, user)
    chunk = 16 * 1024
    first = async_to_sync(ws_upload)(cookie, data, "obama.jpg", title="Obama", chunk=chunk, stop_after_chunks=2)
    assert first["final"] is None and first["offset"] == 2 * chunk
    upload_id = first["ready"]["upload_id"]
    # another user cannot resume it
    from django.contrib.auth import get_user_model

    other = get_user_model().objects.create_user(username="intruder", password="x-long-password-1")
    from django.test import Client

    stolen = async_to_sync(ws_upload)(cookie_for(Client(), other), data, "obama.jpg", upload_id=upload_id)
    assert stolen["final"]["type"] == "error"

    second = async_to_sync(ws_upload)(cookie, data, "obama.jpg", chunk=chunk, upload_id=upload_id)
    assert second["ready"]["offset"] == 2 * chunk
    assert second["final"]["type"] == "accepted"
    session = Session.objects.get(pk=second["final"]["session_id"])
    assert session.owner == user and session.title == "Obama" and session.source == Session.Source.IMAGE
    assert session.status == Session.Status.QUEUED and session.sample_fps == 2.0
    with session.original.open("rb") as fh:
        assert fh.read() == data
    assert no_enqueue == [session.pk]
    assert not list((settings.EMOTION_STAGING_DIR / str(user.pk)).glob("*"))
    from sessions_app.services.manage import delete_session

    delete_session(session)
