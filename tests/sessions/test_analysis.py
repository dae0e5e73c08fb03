"""Analysis: idempotent segment tasks (in process) and the whole path through a real worker."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from asgiref.sync import async_to_sync
from django.core.files import File

from people.models import Person, PersonThumbnail
from sessions_app.models import Observation, Segment, Session, Track
from tests.sessions.conftest import CLIP, cookie_for, wait_for_session, ws_upload


def _stored_session(owner, path: Path, source: str, **fields) -> Session:
    from inference.media import probe
    from sessions_app.services.analysis import plan_segments

    info = probe(path)
    session = Session.objects.create(
        owner=owner, title=path.stem, source=source, status=Session.Status.QUEUED,
        duration=info.duration, width=info.width, height=info.height, **fields,
    )  # fmt: skip
    with open(path, "rb") as fh:
        session.original.save(path.name, File(fh), save=True)
    plan_segments(session)
    return session


@pytest.mark.django_db
def test_plan_segments_cuts_long_videos(user, settings):
    from sessions_app.services.analysis import plan_segments

    settings.EMOTION_SEGMENT_SECONDS = 20
    session = Session.objects.create(owner=user, title="long", duration=45.0, status=Session.Status.QUEUED)
    segments = plan_segments(session)
    assert [(s.start, s.end) for s in segments] == [(0.0, 20.0), (20.0, 40.0), (40.0, 45.0)]
    assert len(plan_segments(session)) == 3  # planning twice adds nothing


@pytest.mark.django_db
def test_repeated_segment_task_writes_nothing_twice(user, media_dir, tmp_path):
    from sessions_app.tasks import analyse_segment

    session = _stored_session(user, media_dir / "obama.jpg", Session.Source.IMAGE, sample_fps=2.0)
    assert analyse_segment(session.pk, 0) == "done"
    session.refresh_from_db()
    assert session.status == Session.Status.DONE and session.progress == 1.0
    counts = (Observation.objects.count(), Track.objects.count(), Person.objects.count())
    assert counts == (1, 1, 1)
    # the worker stores the face's quality (a large, sharp, frontal face) and the emotion's uncertainty
    obs = Observation.objects.get()
    assert obs.quality >= 0.9 and 0.0 < obs.uncertainty < 1.0
    assert PersonThumbnail.objects.filter(person__owner=user).count() == 1
    assert analyse_segment(session.pk, 0) == "skipped"
    # Force a real second run of the same segment (as after a lost acknowledgement).
    Segment.objects.filter(session=session).update(status=Segment.Status.PENDING)
    Session.objects.filter(pk=session.pk).update(status=Session.Status.ANALYSING)
    assert analyse_segment(session.pk, 0) == "done"
    assert (Observation.objects.count(), Track.objects.count(), Person.objects.count()) == counts
    assert Observation.objects.filter(person__isnull=False).count() == 1


@pytest.mark.django_db
def test_unreadable_stored_media_fails_with_a_reason(user, media_dir, tmp_path):
    from sessions_app.tasks import analyse_segment

    path = tmp_path / "clip.mp4"
    shutil.copy(media_dir / CLIP, path)
    session = _stored_session(user, path, Session.Source.UPLOAD, sample_fps=2.0)
    session.original.storage.delete(session.original.name)  # the stored file vanished
    assert analyse_segment(session.pk, 0) == "failed"
    session.refresh_from_db()
    assert session.status == Session.Status.FAILED and session.error


@pytest.mark.django_db(transaction=True)
def test_upload_analyse_and_recognise_same_person(client, user, media_dir, celery_worker_proc, settings):
    """Upload the clip in chunks twice (the second cut into 2 s segments, joined at finalize); both reach
    done with one observation per sampled frame, and the face is one person."""
    from inference.media import iter_frames

    expected = sum(1 for _ in iter_frames(media_dir / CLIP, fps=2.0))
    data = (media_dir / CLIP).read_bytes()
    cookie = cookie_for(client, user)
    sessions = []
    for title, segment_seconds in (("first", 20), ("second", 2)):
        settings.EMOTION_SEGMENT_SECONDS = segment_seconds
        out = async_to_sync(ws_upload)(cookie, data, CLIP, title=title, chunk=256 * 1024)
        assert out["final"]["type"] == "accepted", out
        session = wait_for_session(out["final"]["session_id"])
        assert session.status == Session.Status.DONE, f"{session.error}\n{celery_worker_proc.log()[-3000:]}"
        sessions.append(session)
        assert session.segments.count() == (1 if segment_seconds == 20 else 3)
        assert session.sample_fps == 2.0 and session.frames_analysed == expected
        obs = Observation.objects.filter(session=session)
        assert obs.count() == expected
        assert obs.values("frame_index").distinct().count() == expected
        assert session.face_share == 1.0
        assert not obs.filter(person__isnull=True).exists()
    people = Person.objects.filter(owner=user)
    assert people.count() == 1
    person = people.get()
    assert person.display_name == "Person 1" and person.thumbnails.count() == 1
    for session in sessions:
        assert set(Track.objects.filter(session=session).values_list("person", flat=True)) == {person.pk}
    page = client.get(f"/sessions/{sessions[0].pk}/")
    assert page.status_code == 200 and b"Person 1" in page.content
    from sessions_app.services.manage import delete_session

    for session in sessions:
        delete_session(session)


@pytest.mark.django_db
def test_expired_leases_are_reclaimed(user, monkeypatch, django_capture_on_commit_callbacks):
    from datetime import timedelta

    from django.utils import timezone

    from sessions_app.services.analysis import plan_segments, reclaim_expired_segments

    queued = []
    monkeypatch.setattr("sessions_app.tasks.analyse_segment.delay", lambda *args: queued.append(args))
    session = Session.objects.create(owner=user, title="x", duration=50.0, status=Session.Status.ANALYSING)
    plan_segments(session)
    past, future = timezone.now() - timedelta(seconds=5), timezone.now() + timedelta(seconds=60)
    Segment.objects.filter(session=session, index=0).update(status=Segment.Status.RUNNING, lease_until=past)
    Segment.objects.filter(session=session, index=1).update(status=Segment.Status.RUNNING, lease_until=future)
    with django_capture_on_commit_callbacks(execute=True):
        assert reclaim_expired_segments() == [(session.pk, 0)]
    assert queued == [(session.pk, 0)]
    assert Segment.objects.get(session=session, index=0).status == Segment.Status.PENDING
    assert Segment.objects.get(session=session, index=1).status == Segment.Status.RUNNING


@pytest.mark.django_db
def test_segment_stores_blinks_once(user, media_dir, monkeypatch):
    """The worker stores the engine's blinks (tests/inference/test_blinks.py lists them) with the tracks'
    measured seconds and says they were measured; a segment stored twice stores each event once."""
    from sessions_app import measures
    from sessions_app.models import EyeEvent
    from sessions_app.services import analysis
    from sessions_app.tasks import analyse_segment

    session = _stored_session(user, media_dir / "talking_face_tpsmm_driving.mp4", Session.Source.UPLOAD, sample_fps=5.0)
    engine, results = analysis._run_engine, []
    monkeypatch.setattr(
        analysis, "_run_engine", lambda *a: results[0] if results else results.append(engine(*a)) or results[0]
    )
    assert analyse_segment(session.pk, 0) == "done"
    session.refresh_from_db()
    assert measures.eyes_status(session) == "measured"
    starts = sorted(EyeEvent.objects.filter(session=session, kind="blink").values_list("start_frame", flat=True))
    assert len(starts) == 4 and abs(starts[0] - 19) <= 2 and abs(starts[-1] - 149) <= 2
    (eyes,) = measures.eyes_by_person(session).values()
    assert eyes["blinks"] == 4 and eyes["seconds"] == pytest.approx(6.76, abs=0.2)
    Segment.objects.filter(session=session).update(status=Segment.Status.PENDING)
    Session.objects.filter(pk=session.pk).update(status=Session.Status.ANALYSING)
    assert analyse_segment(session.pk, 0) == "done"
    assert EyeEvent.objects.filter(session=session).count() == 4
