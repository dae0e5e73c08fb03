"""Ownership everywhere (pages, websocket, media) and byte ranges on media."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.test import Client

from sessions_app.models import Session
from tests.sessions.conftest import communicator, cookie_for
from tests.streamed import read_body

DATA = bytes(range(256)) * 40


@pytest.fixture
def stored_session(user):
    session = Session.objects.create(owner=user, title="Mine", status=Session.Status.DONE, progress=1.0)
    session.original.save("clip.mp4", ContentFile(DATA), save=False)
    session.playable.name = session.original.name
    session.save()
    yield session
    from sessions_app.services.manage import delete_session

    if Session.objects.filter(pk=session.pk).exists():
        delete_session(session)


@pytest.fixture
def other_client(db):
    other = get_user_model().objects.create_user(username="someone-else", password="another-pass-123")
    c = Client()
    c.force_login(other)
    return c


def test_owner_sees_pages_and_media(auth_client, stored_session):
    assert auth_client.get("/").status_code == 200
    assert b"Mine" in auth_client.get("/").content
    assert auth_client.get(f"/sessions/{stored_session.pk}/").status_code == 200
    assert auth_client.get("/sessions/new/").status_code == 200
    r = auth_client.get(f"/sessions/{stored_session.pk}/media/original/")
    assert r.status_code == 200 and read_body(r) == DATA


def test_range_request_gives_206(auth_client, stored_session):
    url = f"/sessions/{stored_session.pk}/media/playable/"
    r = auth_client.get(url, HTTP_RANGE="bytes=100-199")
    assert r.status_code == 206
    assert r["Content-Range"] == f"bytes 100-199/{len(DATA)}"
    assert read_body(r) == DATA[100:200]
    r = auth_client.get(url, HTTP_RANGE="bytes=-10")
    assert r.status_code == 206 and read_body(r) == DATA[-10:]
    r = auth_client.get(url, HTTP_RANGE=f"bytes={len(DATA)}-")
    assert r.status_code == 416


def test_other_user_gets_404(other_client, stored_session):
    pk = stored_session.pk
    assert other_client.get(f"/sessions/{pk}/").status_code == 404
    assert other_client.get(f"/sessions/{pk}/media/original/").status_code == 404
    assert other_client.post(f"/sessions/{pk}/rename/", {"title": "x"}).status_code == 404
    assert other_client.post(f"/sessions/{pk}/delete/").status_code == 404
    assert Session.objects.filter(pk=pk, title="Mine").exists()
    assert b"Mine" not in other_client.get("/").content


def test_rename_and_delete(auth_client, stored_session, django_capture_on_commit_callbacks):
    from django.core.files.storage import default_storage

    pk, name = stored_session.pk, stored_session.original.name
    assert auth_client.post(f"/sessions/{pk}/rename/", {"title": "Renamed"}).status_code == 302
    assert Session.objects.get(pk=pk).title == "Renamed"
    with django_capture_on_commit_callbacks(execute=True):
        assert auth_client.post(f"/sessions/{pk}/delete/").status_code == 302
    assert not Session.objects.filter(pk=pk).exists()
    assert not default_storage.exists(name)


@pytest.mark.django_db(transaction=True)
def test_progress_socket_owner_only(client, user):
    session = Session.objects.create(owner=user, title="Mine", status=Session.Status.ANALYSING, progress=0.25)
    other = get_user_model().objects.create_user(username="peeker", password="another-pass-123")
    other_cookie, owner_cookie = cookie_for(Client(), other), cookie_for(client, user)

    async def run():
        comm = communicator(f"/ws/sessions/{session.pk}/", other_cookie)
        connected, code = await comm.connect(timeout=5)
        assert not connected and code == 4404
        comm = communicator(f"/ws/sessions/{session.pk}/", owner_cookie)
        connected, _ = await comm.connect(timeout=5)
        assert connected
        state = await comm.receive_json_from(timeout=5)
        assert state["status"] == "analysing" and state["progress"] == 0.25
        from channels.db import database_sync_to_async

        from sessions_app.services.progress import send_state

        session.progress = 0.5
        await database_sync_to_async(send_state)(session)
        assert (await comm.receive_json_from(timeout=5))["progress"] == 0.5
        await comm.disconnect()

    async_to_sync(run)()


def test_running_session_pages_show_progress(auth_client, user):
    session = Session.objects.create(owner=user, title="Busy", status=Session.Status.ANALYSING, progress=0.4)
    page = auth_client.get(f"/sessions/{session.pk}/").content.decode()
    # the page's script (static, no inline code under the CSP) follows /ws/sessions/<data-follow>/
    assert f'data-follow="{session.pk}"' in page and "<progress" in page and "js/session_progress.js" in page
    assert "<progress" in auth_client.get("/").content.decode()
