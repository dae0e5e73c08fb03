"""Progress pushed by a real worker reaches the owner's progress websocket; the live recording's messages
to the same group leave it open."""

from __future__ import annotations

import shutil

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async
from channels.layers import get_channel_layer

from sessions_app.models import Session
from sessions_app.services.progress import group_name, send_state
from tests.sessions.conftest import CLIP, communicator, cookie_for
from tests.sessions.test_analysis import _stored_session


@pytest.mark.django_db(transaction=True)
def test_worker_progress_reaches_the_websocket(client, user, media_dir, celery_worker_proc, tmp_path):
    path = tmp_path / "clip.mp4"
    shutil.copy(media_dir / CLIP, path)
    session = _stored_session(user, path, Session.Source.UPLOAD, sample_fps=2.0)
    session.original.storage.delete(session.original.name)  # the worker will fail it, and say so
    cookie = cookie_for(client, user)

    async def follow() -> list[dict]:
        from sessions_app.tasks import analyse_segment

        comm = communicator(f"/ws/sessions/{session.pk}/", cookie)
        connected, _ = await comm.connect(timeout=10)
        assert connected
        seen = [await comm.receive_json_from(timeout=10)]  # the stored state
        analyse_segment.delay(session.pk, 0)
        while seen[-1]["status"] not in ("failed", "done"):
            seen.append(await comm.receive_json_from(timeout=60))
        await comm.disconnect()
        return seen

    seen = async_to_sync(follow)()
    assert seen[0]["status"] == "queued"
    assert seen[-1]["status"] == "failed" and seen[-1]["error"]


@pytest.mark.django_db(transaction=True)
def test_progress_socket_stays_open_through_live_messages(client, user):
    """The live consumer sends its results (and its resume hand-over) to the session's group, which the
    progress page's socket is in: they used to have no handler there, and the first one closed it."""
    session = Session.objects.create(owner=user, title="Recording", source=Session.Source.LIVE)
    cookie = cookie_for(client, user)

    async def follow() -> list[dict]:
        comm = communicator(f"/ws/sessions/{session.pk}/", cookie)
        connected, _ = await comm.connect(timeout=5)
        assert connected
        seen = [await comm.receive_json_from(timeout=5)]
        layer, group = get_channel_layer(), group_name(session.pk)
        result = {"type": "live.result", "seq": 1, "time": 0.2, "frame_index": 1, "faces": []}
        await layer.group_send(group, {"type": "live.result", "result": result})
        await layer.group_send(group, {"type": "live.superseded", "generation": 1})
        session.status, session.progress = Session.Status.ANALYSING, 0.5
        await database_sync_to_async(send_state)(session)
        seen.append(await comm.receive_json_from(timeout=5))
        assert await comm.receive_nothing(timeout=0.2)
        await comm.disconnect()
        return seen

    first, later = async_to_sync(follow)()
    assert (first["type"], first["status"]) == ("session.state", "receiving")
    # the page has no use for live results (the recording page has its own socket): not forwarded
    assert (later["type"], later["status"], later["progress"]) == ("session.state", "analysing", 0.5)
