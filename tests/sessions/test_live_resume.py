"""A live socket closed without Stop keeps its recording; the same user may resume it within the grace period.

Real ASGI app (channels.testing), Redis, PostgreSQL and Celery worker. The grace period is 2 s here."""

from __future__ import annotations

import io
import time
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from tests.sessions.conftest import CLIP, SEQ_CHUNK, communicator, cookie_for, wait_for_session
from tests.sessions.test_live import FRAME, _drain

GRACE = 2
FPS = 2.0  # few slots: the gap fill of a 5 s clip analyses at most 10 frames
N_CHUNKS = 8
TRUNCATE = 3000  # bytes cut off the end: the last WebM cluster is incomplete, as after a dropped connection


@pytest.fixture(autouse=True)
def short_grace(settings):
    settings.EMOTION_LIVE_RESUME_GRACE_SECONDS = GRACE


@pytest.fixture(scope="module")
def webm(media_dir) -> bytes:
    """The test clip as a VP8 WebM (what MediaRecorder sends), half size, without its last 3 kB."""
    import av

    buf = io.BytesIO()
    with av.open(str(media_dir / CLIP)) as src, av.open(buf, "w", format="webm") as out:
        stream = src.streams.video[0]
        width, height = stream.codec_context.width // 2 // 2 * 2, stream.codec_context.height // 2 // 2 * 2
        vp8 = out.add_stream("libvpx", rate=25)
        vp8.width, vp8.height, vp8.pix_fmt = width, height, "yuv420p"
        vp8.options = {"deadline": "realtime", "cpu-used": "8"}
        for frame in src.decode(stream):
            for packet in vp8.encode(frame.reformat(width=width, height=height, format="yuv420p")):
                out.mux(packet)
        for packet in vp8.encode():
            out.mux(packet)
    return buf.getvalue()[:-TRUNCATE]


def _chunks(data: bytes, n: int = N_CHUNKS) -> list[bytes]:
    size = len(data) // n + 1
    return [data[i : i + size] for i in range(0, len(data), size)]


def _frames(data: bytes, n: int) -> list[tuple[float, bytes]]:
    import tempfile

    import cv2

    from inference.media import iter_video

    out = []
    with tempfile.NamedTemporaryFile(suffix=".webm") as fh:
        fh.write(data)
        fh.flush()
        for frame in iter_video(fh.name, fps=FPS):
            ok, jpeg = cv2.imencode(".jpg", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR))
            assert ok
            out.append((frame.time, jpeg.tobytes()))
            if len(out) == n:
                break
    return out


async def _open(cookie: bytes, message: dict):
    comm = communicator("/ws/live/", cookie)
    connected, _ = await comm.connect(timeout=10)
    assert connected
    await comm.send_json_to(message)
    return comm, await comm.receive_json_from(timeout=10)


def _staged(user, session_id: int) -> Path:
    from live import services as live

    return live.staging_path(user.pk, session_id)


@pytest.mark.django_db(transaction=True)
def test_disconnect_without_stop_keeps_the_recording(client, user, webm, celery_worker_proc):
    from live import resume as live_resume
    from sessions_app.models import Observation, Session

    cookie = cookie_for(client, user)
    chunks, frames = _chunks(webm), _frames(webm, 4)

    async def run():
        comm, started = await _open(cookie, {"type": "start", "title": "Dropped <b>", "fps": FPS})
        assert started["type"] == "started", started
        messages = []
        for seq, chunk in enumerate(chunks):
            if seq < len(frames):
                t, jpeg = frames[seq]
                await comm.send_to(bytes_data=FRAME.pack(1, t, seq) + jpeg)
            await comm.send_to(bytes_data=SEQ_CHUNK.pack(3, seq) + chunk)
            messages += await _drain(comm, 0.1)
        messages += await _drain(comm, 1.0)  # the last frames' results
        await comm.disconnect()  # no Stop: the tab closed
        return started, messages

    started, messages = async_to_sync(run)()
    assert "error" not in [m["type"] for m in messages], messages
    acks = [m["received"] for m in messages if m["type"] == "chunk.ack"]
    assert acks == list(range(1, len(chunks) + 1))
    session = Session.objects.get(pk=started["session_id"])
    assert session.status == Session.Status.RECEIVING  # within the grace period nothing is finished yet

    session = wait_for_session(started["session_id"], timeout=240)
    assert session.status == Session.Status.DONE, (session.error, celery_worker_proc.log()[-3000:])
    assert session.connection_lost_at is not None and 0 < session.connection_lost_at < 60
    assert session.duration == pytest.approx(4.8, abs=0.5)  # the decodable part of the truncated WebM
    assert session.playable.name.endswith(".mp4") and session.playable.storage.exists(session.playable.name)
    stored = set(Observation.objects.filter(session=session).values_list("frame_index", flat=True))
    assert set(range(int(session.duration * FPS))) <= stored, sorted(stored)
    assert not _staged(user, session.pk).exists()
    page = client.get(session.get_absolute_url()).content.decode()
    assert f"The connection was lost at {session.connection_lost_clock}; the recording up to then was kept." in page
    assert "Dropped &lt;b&gt;" in page
    # a duplicate or late finishing task changes nothing
    assert live_resume.finish_after_disconnect(session.pk, 0, str(_staged(user, session.pk)), time.time()) == "skipped"
    assert Session.objects.get(pk=session.pk).status == Session.Status.DONE


@pytest.mark.django_db(transaction=True)
def test_disconnect_with_nothing_recorded_fails(client, user, celery_worker_proc):
    from sessions_app.models import Session

    cookie = cookie_for(client, user)

    async def run():
        comm, started = await _open(cookie, {"type": "start", "fps": FPS})
        await comm.disconnect()
        return started

    started = async_to_sync(run)()
    session = wait_for_session(started["session_id"], timeout=60)
    assert session.status == Session.Status.FAILED
    assert "before any recording arrived; nothing to analyse" in session.error, session.error
    assert session.error.startswith("The connection was lost at 00:0")


@pytest.mark.django_db(transaction=True)
def test_resume_continues_the_same_recording(client, user, webm, celery_worker_proc):
    from sessions_app.models import Session

    cookie = cookie_for(client, user)
    chunks = _chunks(webm)
    first, second = chunks[:3], chunks[3:]

    async def run():
        comm, started = await _open(cookie, {"type": "start", "title": "Resumed", "fps": FPS})
        sid = started["session_id"]
        for seq, chunk in enumerate(first):
            await comm.send_to(bytes_data=SEQ_CHUNK.pack(3, seq) + chunk)
        await _drain(comm, 0.2)
        await comm.disconnect()  # the network dropped

        comm, resumed = await _open(cookie, {"type": "resume", "session_id": sid})
        assert resumed["type"] == "resumed", resumed
        # the page resends what it kept: one chunk the server already has (ignored), then the rest
        await comm.send_to(bytes_data=SEQ_CHUNK.pack(3, len(first) - 1) + first[-1])
        replies = [await comm.receive_json_from(timeout=10)]
        await comm.send_to(bytes_data=SEQ_CHUNK.pack(3, len(first) + 1) + second[1])  # out of order: refused
        replies.append(await comm.receive_json_from(timeout=10))
        for seq, chunk in enumerate(second, start=len(first)):
            await comm.send_to(bytes_data=SEQ_CHUNK.pack(3, seq) + chunk)
        replies += await _drain(comm, 0.3)
        staged = _staged(user, sid).read_bytes()
        # the first connection's finishing task comes due now and must leave the resumed session alone
        deadline = time.monotonic() + GRACE + 20
        while "'resumed'" not in celery_worker_proc.log() and time.monotonic() < deadline:
            await _drain(comm, 0.5)
        receiving = await _status(sid)
        await comm.send_json_to({"type": "stop"})
        while not any(m.get("type") == "stopped" for m in replies):
            replies.append(await comm.receive_json_from(timeout=60))
        await comm.disconnect()
        return started, resumed, replies, staged, receiving

    started, resumed, replies, staged, receiving = async_to_sync(run)()
    assert resumed["session_id"] == started["session_id"] and resumed["chunks"] == len(first)
    assert replies[0] == {"type": "chunk.ack", "received": len(first)}  # the duplicate changed nothing
    assert replies[1]["type"] == "error" and f"chunk {len(first) + 1} arrived before" in replies[1]["message"]
    assert [m["received"] for m in replies if m["type"] == "chunk.ack"][1:] == list(
        range(len(first) + 1, len(chunks) + 1)
    )
    assert staged == webm  # both connections' chunks, in order, once each
    assert "'resumed'" in celery_worker_proc.log()  # finish_live of the first connection ran and stood down
    assert receiving == Session.Status.RECEIVING, celery_worker_proc.log()[-2000:]
    assert Session.objects.filter(owner=user).count() == 1
    session = wait_for_session(started["session_id"], timeout=240)
    assert session.status == Session.Status.DONE, (session.error, celery_worker_proc.log()[-3000:])
    assert session.connection_lost_at is None  # it ended with Stop
    assert session.duration == pytest.approx(4.8, abs=0.5)


async def _status(session_id: int) -> str:
    from channels.db import database_sync_to_async

    from sessions_app.models import Session

    return await database_sync_to_async(lambda: Session.objects.get(pk=session_id).status)()


@pytest.mark.django_db(transaction=True)
def test_resume_of_another_users_session_is_refused(client, user, password, django_user_model):
    from live import resume as live_resume
    from sessions_app.models import Session

    other = django_user_model.objects.create_user(username=f"{user.username}-2", password=password)
    owner_cookie = cookie_for(client, user)
    other_cookie = cookie_for(Client(), other)  # a second browser: logging in on the first would end its session

    async def run():
        owner, started = await _open(owner_cookie, {"type": "start", "fps": FPS})
        sid = started["session_id"]
        replies = []
        for message in (
            {"type": "resume", "session_id": sid},
            {"type": "resume", "session_id": 10**9},
            {"type": "resume", "session_id": "x"},
        ):
            comm, reply = await _open(other_cookie, message)
            replies.append(reply)
            await comm.disconnect()
        # the owner resumes while the first socket is still open (its drop not noticed): that one steps aside
        second, resumed = await _open(owner_cookie, {"type": "resume", "session_id": sid})
        closed = await owner.receive_output(timeout=10)
        await owner.disconnect()
        await second.send_json_to({"type": "stop"})  # nothing recorded: failed at once
        while (await second.receive_json_from(timeout=30))["type"] != "stopped":
            pass
        await second.disconnect()
        comm, ended = await _open(owner_cookie, {"type": "resume", "session_id": sid})
        await comm.disconnect()
        return sid, replies, resumed, closed, ended

    sid, replies, resumed, closed, ended = async_to_sync(run)()
    assert replies == [{"type": "error", "message": live_resume.NOT_FOUND}] * 3
    assert resumed["type"] == "resumed" and resumed["chunks"] == 0
    assert closed["type"] == "websocket.close"
    assert ended["type"] == "error" and "already ended" in ended["message"]
    session = Session.objects.get(pk=sid)
    assert session.live_generation == 1 and session.status == Session.Status.FAILED
    assert "No recording arrived" in session.error  # Stop's message, not a finishing task's


@pytest.mark.django_db(transaction=True)
def test_socket_gone_without_disconnect_is_reaped(client, user, webm, celery_worker_proc, monkeypatch):
    """Daphne killed: no disconnect handler runs. The beat task finds the session silent and keeps it."""
    from channels.db import database_sync_to_async

    from live import resume as live_resume
    from sessions_app.models import Session

    monkeypatch.setattr(live_resume, "QUIET_MARGIN", 0.0)  # silent for the grace period (2 s) is enough here
    cookie = cookie_for(client, user)

    async def run():
        comm, started = await _open(cookie, {"type": "start", "fps": FPS})
        for seq, chunk in enumerate(_chunks(webm)):
            await comm.send_to(bytes_data=SEQ_CHUNK.pack(3, seq) + chunk)
        await _drain(comm, 0.3)
        early = await database_sync_to_async(live_resume.reap_abandoned)()  # still sending: left alone
        last_chunk = time.time()
        await _drain(comm, GRACE + 0.5)
        reaped = await database_sync_to_async(live_resume.reap_abandoned)()
        again = await database_sync_to_async(live_resume.reap_abandoned)()
        await comm.disconnect()  # what Daphne would have done; its finishing task finds the session taken
        return started["session_id"], early, reaped, again, last_chunk

    sid, early, reaped, again, last_chunk = async_to_sync(run)()
    assert early == [] and reaped == [sid] and again == []
    session = wait_for_session(sid, timeout=240)
    assert session.status == Session.Status.DONE, (session.error, celery_worker_proc.log()[-3000:])
    created = session.created.timestamp()
    assert session.connection_lost_at == pytest.approx(last_chunk - created, abs=1.0)
    assert session.duration == pytest.approx(4.8, abs=0.5)
