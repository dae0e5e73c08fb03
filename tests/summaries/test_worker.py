"""A heuristic summary end to end: requested through the service, made by the real Celery worker on the
summaries queue, stored, and its states pushed to the session's websocket as ``summary.state``."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync
from channels.db import database_sync_to_async

from summaries import heuristic
from summaries.digest import build_digest
from summaries.models import Summary
from summaries.services import request_summary
from tests.sessions.conftest import communicator, cookie_for
from tests.summaries.conftest import make_summary_session


@pytest.mark.django_db(transaction=True)
def test_heuristic_summary_through_the_worker(client, user, celery_worker_proc):
    session = make_summary_session(user)
    cookie = cookie_for(client, user)

    async def follow() -> tuple[int, list[dict]]:
        comm = communicator(f"/ws/sessions/{session.pk}/", cookie)
        connected, _ = await comm.connect(timeout=10)
        assert connected
        assert (await comm.receive_json_from(timeout=10))["type"] == "session.state"
        summary = await database_sync_to_async(request_summary)(session, "heuristic", user)
        seen: list[dict] = []
        while not seen or seen[-1]["status"] not in ("done", "failed", "cancelled"):
            msg = await comm.receive_json_from(timeout=60)
            if msg.get("type") == "summary.state" and msg["summary"]["id"] == summary.pk:
                assert msg["session_id"] == session.pk
                seen.append(msg["summary"])
        await comm.disconnect()
        return summary.pk, seen

    summary_id, seen = async_to_sync(follow)()
    statuses = [m["status"] for m in seen]
    assert statuses[0] in ("queued", "running") and "running" in statuses and statuses[-1] == "done", statuses
    row = Summary.objects.get(pk=summary_id)
    assert row.status == "done" and row.progress == 1.0 and row.started and row.finished
    assert row.text == heuristic.summarize(build_digest(session)).text
    assert seen[-1]["text"] == row.text and "00:08.0 happy → sad" in row.text
