"""Live recording over /ws/live/ with the real ASGI app, Redis and a real Celery worker."""

from __future__ import annotations

import json
import struct

import pytest
from asgiref.sync import async_to_sync

from tests.sessions.conftest import CLIP, communicator, cookie_for, wait_for_session

FRAME = struct.Struct(">BdI")
N_FRAMES = 10
FPS = 5.0


def _jpeg_frames(path, n: int) -> list[tuple[float, bytes]]:
    import cv2

    from inference.media import iter_video

    out = []
    for frame in iter_video(path, fps=FPS):
        ok, buf = cv2.imencode(".jpg", cv2.cvtColor(frame.image, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 85])
        assert ok
        out.append((frame.time, buf.tobytes()))
        if len(out) == n:
            break
    return out


async def _drain(comm, timeout: float = 0.05) -> list[dict]:
    """Everything that arrives within ``timeout`` (a timed-out receive would cancel the app)."""
    out = []
    while not await comm.receive_nothing(timeout=timeout):
        out.append(await comm.receive_json_from(timeout=10))
    return out


@pytest.mark.django_db(transaction=True)
def test_anonymous_refused():
    async def run():
        comm = communicator("/ws/live/", None)
        connected, code = await comm.connect(timeout=10)
        await comm.disconnect()
        return connected, code

    assert async_to_sync(run)() == (False, 4401)


@pytest.mark.django_db(transaction=True)
def test_malformed_messages_get_errors(client, user):
    from sessions_app.models import Session

    cookie = cookie_for(client, user)

    async def run():
        comm = communicator("/ws/live/", cookie)
        connected, _ = await comm.connect(timeout=10)
        assert connected
        replies = []
        await comm.send_to(text_data="not json")
        replies.append(await comm.receive_json_from(timeout=10))
        await comm.send_to(bytes_data=b"\x01" + b"\x00" * 20)  # a frame before start
        replies.append(await comm.receive_json_from(timeout=10))
        await comm.send_json_to({"type": "start", "fps": "fast"})
        replies.append(await comm.receive_json_from(timeout=10))
        await comm.send_json_to({"type": "start", "title": "bad", "fps": 5})
        started = await comm.receive_json_from(timeout=10)
        await comm.send_to(bytes_data=b"\x07garbage")
        replies.append(await comm.receive_json_from(timeout=10))
        await comm.send_to(bytes_data=FRAME.pack(1, float("nan"), 0) + b"x")
        replies.append(await comm.receive_json_from(timeout=10))
        await comm.send_json_to({"type": "dance"})
        replies.append(await comm.receive_json_from(timeout=10))
        await comm.send_json_to({"type": "stop"})  # no recording arrived
        stopping = await comm.receive_json_from(timeout=10)
        stopped = await comm.receive_json_from(timeout=30)
        while stopped["type"] == "session.state":  # the failed session's push to its group may come first
            stopped = await comm.receive_json_from(timeout=30)
        await comm.disconnect()
        return replies, started, stopping, stopped

    replies, started, stopping, stopped = async_to_sync(run)()
    assert [r["type"] for r in replies] == ["error"] * 6, replies
    assert all(r["message"] for r in replies)
    assert started["type"] == "started"
    assert stopping["type"] == "stopping" and stopped["type"] == "stopped"
    session = Session.objects.get(pk=started["session_id"])
    assert session.status == Session.Status.FAILED and "No recording" in session.error


@pytest.mark.django_db(transaction=True)
def test_live_session_end_to_end(client, user, media_dir, celery_worker_proc):
    import av

    from sessions_app.models import Observation, Session

    clip = media_dir / CLIP
    frames = _jpeg_frames(clip, N_FRAMES)
    recording = clip.read_bytes()
    cookie = cookie_for(client, user)

    async def run():
        comm = communicator("/ws/live/", cookie)
        connected, _ = await comm.connect(timeout=10)
        assert connected
        await comm.send_json_to({"type": "start", "title": "Live test", "fps": FPS})
        started = await comm.receive_json_from(timeout=10)
        assert started["type"] == "started", started
        messages = []
        chunk = len(recording) // 4 + 1
        left = recording
        for i, (t, jpeg) in enumerate(frames):
            await comm.send_to(bytes_data=FRAME.pack(1, t, i) + jpeg)
            if i % 3 == 0 and left:  # recording chunks interleaved with frames, as MediaRecorder sends them
                await comm.send_to(bytes_data=b"\x02" + left[:chunk])
                left = left[chunk:]
            messages += await _drain(comm, 0.2)  # about the sampling interval
        while left:
            await comm.send_to(bytes_data=b"\x02" + left[:chunk])
            left = left[chunk:]
        await comm.send_json_to({"type": "stop"})
        while not any(m.get("type") == "stopped" for m in messages):
            messages.append(await comm.receive_json_from(timeout=120))
        messages += await _drain(comm, 0.5)
        await comm.disconnect()
        return started, messages

    started, messages = async_to_sync(run)()
    types = [m.get("type") for m in messages]
    assert "error" not in types, messages
    results = [m for m in messages if m.get("type") == "live.result"]
    skipped = max([m["count"] for m in messages if m.get("type") == "skipped"], default=0)
    assert len(results) + skipped == N_FRAMES, (types, skipped)
    assert any(r["faces"] for r in results), results
    face = next(f for r in results for f in r["faces"])
    assert face["emotion"] and 0 < face["confidence"] <= 1 and 0 <= face["attention"] <= 1
    assert face["low"] is False  # a large, sharp, frontal talking face is above the quality bar

    session = wait_for_session(started["session_id"], timeout=300)
    assert session.status == Session.Status.DONE, (session.error, celery_worker_proc.log()[-3000:])
    assert session.source == Session.Source.LIVE
    live_indexes = {round(r["time"] * FPS) for r in results if r["faces"]}
    stored = set(Observation.objects.filter(session=session).values_list("frame_index", flat=True))
    assert live_indexes <= stored
    # the skipped and unsent slots of the 5 s recording were filled from it: one observation per slot
    grid = set(range(int(round(session.duration * FPS))))
    assert grid <= stored, sorted(grid - stored)
    assert Observation.objects.filter(session=session).count() == len(stored)  # one face per slot
    assert not Observation.objects.filter(session=session, quality__isnull=True).exists()  # live rows scored too
    people = set(Observation.objects.filter(session=session).values_list("person", flat=True))
    assert len(people) == 1 and None not in people
    assert session.playable.name.endswith(".mp4") and session.original.name == session.playable.name
    with session.playable.open("rb") as fh, av.open(fh) as container:
        stream = container.streams.video[0]
        assert stream.codec_context.name == "h264"
        container.seek(int(2.0 / stream.time_base), stream=stream)
        first = next(container.decode(stream))
        assert first.time is not None and first.time <= 2.0 + 1e-6
    assert session.duration == pytest.approx(5.0, abs=0.3)
    assert json.dumps(session.model_versions)


def test_back_pressure_counts_frames_in_flight():
    from live import state as live_state

    session_id = 10**9  # no row needed: the counter lives in Redis
    live_state.cleanup(session_id)
    try:
        assert [live_state.reserve_frame(session_id) for _ in range(live_state.MAX_PENDING + 2)] == [
            True
        ] * live_state.MAX_PENDING + [
            False,
            False,
        ]
        assert live_state.pending_frames(session_id) == live_state.MAX_PENDING
        live_state.release_frame(session_id)
        assert live_state.reserve_frame(session_id) is True
        for _ in range(live_state.MAX_PENDING + 1):
            live_state.release_frame(session_id)
        assert live_state.pending_frames(session_id) == 0  # never below zero
    finally:
        live_state.cleanup(session_id)
