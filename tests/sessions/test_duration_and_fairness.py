"""Durations, gaps and fair scheduling of uploads (security finding 2).

A file may claim any duration through its timestamps: a 1.3 KB MKV with two frames 1,000,000 s apart used
to become 50,001 segment rows and tasks inside the request. Such files are refused on both upload paths;
gaps over 10 s between frames get no segment and no padded frames; and one user's long analysis does not
hold back another user's.
"""

from __future__ import annotations

import re
from fractions import Fraction
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from rest_framework.test import APIClient

from sessions_app.models import Segment, Session
from tests.sessions.conftest import cookie_for, wait_for_session, ws_upload


def timed_video(path: Path, times: list[float], size: int = 64) -> Path:
    """An H.264 video of black ``size``-square frames shown at ``times`` (seconds; millisecond time base)."""
    import av
    import numpy as np

    with av.open(str(path), "w") as out:
        stream = out.add_stream("libx264", rate=25)
        stream.width = stream.height = size
        stream.pix_fmt = "yuv420p"
        stream.codec_context.time_base = Fraction(1, 1000)
        black = np.zeros((size, size, 3), np.uint8)
        for t in times:
            frame = av.VideoFrame.from_ndarray(black, format="rgb24")
            frame.pts, frame.time_base = round(t * 1000), Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    return path


def frame_times(path: Path) -> list[float]:
    """Presentation times (s) of a file's video packets, sorted: what a player shows when."""
    import av

    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        return sorted(float(p.pts * stream.time_base) for p in container.demux(stream) if p.pts is not None)


def lying_mkv(tmp_path: Path) -> bytes:
    """The reported file: two black 64x64 frames, the second stamped 1,000,000 s after the first."""
    data = timed_video(tmp_path / "lie.mkv", [0.0, 1_000_000.0]).read_bytes()
    assert len(data) < 2000
    return data


@pytest.mark.django_db
def test_a_lying_duration_is_refused_over_the_api(user, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    api = APIClient()
    api.force_authenticate(user)
    r = api.post("/api/sessions/", {"file": SimpleUploadedFile("lie.mkv", lying_mkv(tmp_path))}, format="multipart")
    assert r.status_code == 400, r.content[:300]
    detail = r.json()["detail"]
    assert "too long" in detail and "240 minutes" in detail, detail
    assert not Session.objects.exists() and not Segment.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_lying_duration_is_refused_over_the_upload_socket(client, user, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMOTION_MAX_DURATION_SECONDS = 90 * 60  # the limit is a setting; the message names it
    out = async_to_sync(ws_upload)(cookie_for(client, user), lying_mkv(tmp_path), "lie.mkv")
    final = out["final"]
    assert final["type"] == "error" and "too long" in final["message"] and "90 minutes" in final["message"], final
    assert "lie.mkv" in final["message"] and "Traceback" not in final["message"]
    assert not Session.objects.exists() and not Segment.objects.exists()
    assert not list((settings.EMOTION_STAGING_DIR / str(user.pk)).glob("*"))


@pytest.mark.django_db
def test_a_long_gap_gets_no_segment_and_no_padded_frames(user, tmp_path, settings):
    """3 s of frames, 30 s of nothing, 3 s of frames: segments cover only the frames, at their own times,
    and the playable copy holds 30 frames, the second run still starting at 33 s."""
    from inference.media import probe, transcode_to_mp4

    settings.MEDIA_ROOT = tmp_path / "media"
    settings.EMOTION_SEGMENT_SECONDS = 20
    times = [i / 5 for i in range(15)] + [33 + i / 5 for i in range(15)]
    src = timed_video(tmp_path / "gap.mkv", times)
    assert 35.8 < probe(src).duration <= 36.05  # the last frame's time plus its own duration

    api = APIClient()
    api.force_authenticate(user)
    r = api.post("/api/sessions/", {"file": SimpleUploadedFile("gap.mkv", src.read_bytes())}, format="multipart")
    assert r.status_code == 201, r.content[:300]
    session = Session.objects.get(pk=r.json()["id"])
    bounds = [(s.start, s.end) for s in session.segments.order_by("index")]
    assert len(bounds) == 2, bounds
    (start1, end1), (start2, end2) = bounds
    assert start1 == 0.0 and 2.8 < end1 <= 3.05 and start2 == pytest.approx(33.0) and 35.8 < end2 <= 36.05, bounds

    out = transcode_to_mp4(src, tmp_path / "gap.mp4", fps=5)
    shown = frame_times(out)
    assert len(shown) <= 31, f"{len(shown)} frames: the gap was padded"
    after = [t for t in shown if t > 10]
    assert after and after[0] == pytest.approx(33.0, abs=0.21), shown  # still aligned with the source


@pytest.mark.django_db
def test_a_live_recording_stamped_past_the_limit_fails_with_the_reason(user, tmp_path, settings):
    """The client stamps its recording: the finishing task checks it like an upload, before transcoding."""
    from django.core.files import File

    from live.services import finish

    settings.MEDIA_ROOT = tmp_path / "media"
    session = Session.objects.create(owner=user, title="rec", source=Session.Source.LIVE, status=Session.Status.QUEUED)
    with open(timed_video(tmp_path / "rec.mkv", [0.0, 1_000_000.0]), "rb") as fh:
        session.original.save("recording.webm", File(fh), save=True)
    assert finish(session.pk) == "failed"
    session.refresh_from_db()
    assert session.status == Session.Status.FAILED
    assert session.error.startswith("The recording is too long") and "240 minutes" in session.error, session.error
    assert not session.segments.exists() and not session.playable.name


def _segment_log(worker_log: str) -> list[tuple[int, int]]:
    """(session id, segment index) of each segment the worker finished, in order."""
    return [(int(s), int(i)) for i, s in re.findall(r"segment (\d+) of session (\d+) done", worker_log)]


@pytest.mark.django_db(transaction=True)
def test_a_long_analysis_does_not_hold_back_another_users(celery_worker_proc, tmp_path, settings):
    """User A's session has 30 segments; user B's upload, made right after, is done before A's third segment:
    at most a few segments per user wait in the queue, and each finished segment queues the next."""
    import redis
    from django.conf import settings as live_settings

    from emotionsite.celery import app
    from emotionsite.queues import Queue
    from sessions_app.services.manage import delete_session

    settings.EMOTION_SEGMENT_SECONDS = 1
    make = get_user_model().objects.create_user
    a, b = make(username="busy-a", password=None), make(username="quick-b", password=None)
    long_video = timed_video(tmp_path / "a.mp4", [float(i) for i in range(30)])
    short_video = timed_video(tmp_path / "b.mp4", [0.0, 0.5])
    broker = redis.Redis.from_url(live_settings.CELERY_BROKER_URL)
    queue = Queue.INFERENCE.value
    name = celery_worker_proc.name
    # Hold the worker's inference queue so both uploads are queued before any segment runs.
    app.control.cancel_consumer(queue, destination=[name], reply=True, timeout=10)
    try:
        before = broker.llen(queue)
        sessions = []
        for owner, video in ((a, long_video), (b, short_video)):
            api = APIClient()
            api.force_authenticate(owner)
            r = api.post("/api/sessions/", {"file": SimpleUploadedFile(video.name, video.read_bytes())})
            assert r.status_code == 201, r.content[:300]
            sessions.append(Session.objects.get(pk=r.json()["id"]))
        session_a, session_b = sessions
        assert session_a.segments.count() == 30 and session_b.segments.count() == 1
        assert broker.llen(queue) - before == 3, "tasks queued: A's first two segments and B's one"
    finally:
        app.control.add_consumer(queue, destination=[name], reply=True, timeout=10)
    try:
        done_b = wait_for_session(session_b.pk, timeout=180)
        assert done_b.status == Session.Status.DONE, done_b.error
        finished = _segment_log(celery_worker_proc.log())
        order = [key for key in finished if key[0] in (session_a.pk, session_b.pk)]
        assert (session_b.pk, 0) in order, order
        before_b = [key for key in order[: order.index((session_b.pk, 0))] if key[0] == session_a.pk]
        assert len(before_b) <= 2, f"B finished after A's segments {before_b}"
    finally:
        for session in Session.objects.filter(pk__in=[s.pk for s in sessions]):
            delete_session(session)
