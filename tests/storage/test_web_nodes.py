"""Several web machines: a resumed upload or live recording staged on another machine's disk is refused
with a message, never started afresh (emotionsite/webnode.py). Two machines are simulated in one process:
each has its own EMOTION_WEB_NODE and staging folder; Redis is shared, as it is between real machines."""

from __future__ import annotations

import io
import os
import uuid

import pytest
from asgiref.sync import async_to_sync

from emotionsite import webnode
from sessions_app.services import uploads
from tests.sessions.conftest import SEQ_CHUNK, communicator, cookie_for, ws_upload

ELSEWHERE_UPLOAD = webnode.ELSEWHERE.format(what="upload")
ELSEWHERE_RECORDING = webnode.ELSEWHERE.format(what="recording")


def _machine(settings, tmp_path, name: str) -> None:
    settings.EMOTION_WEB_NODE = name
    settings.EMOTION_STAGING_DIR = tmp_path / name


@pytest.mark.django_db(transaction=True)
def test_upload_resumed_on_another_web_machine_is_refused(client, user, settings, tmp_path):
    cookie = cookie_for(client, user)
    data = os.urandom(30_000)
    _machine(settings, tmp_path, "web-a")
    first = async_to_sync(ws_upload)(cookie, data, "clip.mp4", chunk=10_000, stop_after_chunks=1)
    upload_id = first["ready"]["upload_id"]
    assert first["offset"] == 10_000

    _machine(settings, tmp_path, "web-b")  # the reconnect reaches the other machine
    other = async_to_sync(ws_upload)(cookie, data, "clip.mp4", upload_id=upload_id)
    unknown = async_to_sync(ws_upload)(cookie, data, "clip.mp4", upload_id=str(uuid.uuid4()))
    assert other == {"ready": None, "offset": 0, "final": {"type": "error", "message": ELSEWHERE_UPLOAD}}
    assert unknown["final"] == {"type": "error", "message": uploads.GONE}  # unknown everywhere: not "elsewhere"
    assert not list((tmp_path / "web-b").rglob("*.part"))  # nothing started afresh there

    _machine(settings, tmp_path, "web-a")  # back on its own machine it carries on where it stopped
    again = async_to_sync(ws_upload)(cookie, data, "clip.mp4", upload_id=upload_id, stop_after_chunks=0)
    assert again["ready"] == {"type": "ready", "upload_id": upload_id, "offset": 10_000}


@pytest.mark.django_db(transaction=True)
def test_live_recording_resumed_on_another_web_machine_is_refused(client, user, settings, tmp_path):
    cookie = cookie_for(client, user)

    async def open_(message: dict):
        comm = communicator("/ws/live/", cookie)
        assert (await comm.connect(timeout=10))[0]
        await comm.send_json_to(message)
        return comm, await comm.receive_json_from(timeout=10)

    async def run():
        _machine(settings, tmp_path, "web-a")
        first, started = await open_({"type": "start", "fps": 2})
        await first.send_to(bytes_data=SEQ_CHUNK.pack(3, 0) + b"a" * 600)
        ack = await first.receive_json_from(timeout=5)
        sid = started["session_id"]
        _machine(settings, tmp_path, "web-b")
        other, refused = await open_({"type": "resume", "session_id": sid})
        await other.disconnect()
        _machine(settings, tmp_path, "web-a")
        second, resumed = await open_({"type": "resume", "session_id": sid})
        await first.disconnect()
        await second.disconnect()
        return ack, refused, resumed

    ack, refused, resumed = async_to_sync(run)()
    assert ack == {"type": "chunk.ack", "received": 1}
    assert refused == {"type": "error", "message": ELSEWHERE_RECORDING}
    assert resumed["type"] == "resumed" and resumed["chunks"] == 1  # the same recording, not a fresh one
    assert not list((tmp_path / "web-b").rglob("*.rec"))


@pytest.mark.django_db
def test_clean_staging_removes_only_recordings_that_no_longer_receive(user, settings, tmp_path):
    """A web machine's ``manage.py clean_staging``: the staged file of a live session finished elsewhere goes,
    one still receiving (it may be resumed here) stays, and so does anything that is not a recording."""
    from django.core.management import call_command

    from sessions_app.models import Session

    _machine(settings, tmp_path, "web-a")
    folder = tmp_path / "web-a" / str(user.pk)
    folder.mkdir(parents=True)
    live = Session.objects.create(owner=user, source=Session.Source.LIVE, status=Session.Status.RECEIVING)
    done = Session.objects.create(owner=user, source=Session.Source.LIVE, status=Session.Status.DONE)
    for name in (f"live-{live.pk}.rec", f"live-{done.pk}.rec", "live-999999.rec", "notes.txt"):
        (folder / name).write_bytes(b"webm")
    out = io.StringIO()
    call_command("clean_staging", stdout=out)
    assert sorted(p.name for p in folder.iterdir()) == sorted([f"live-{live.pk}.rec", "notes.txt"])
    assert "2 finished recording(s)" in out.getvalue()
