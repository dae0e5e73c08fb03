"""Progress pushed by a real worker reaches the owner's progress websocket."""

from __future__ import annotations

import shutil

import pytest
from asgiref.sync import async_to_sync

from sessions_app.models import Session
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
