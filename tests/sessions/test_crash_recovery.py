"""Nothing is lost when a worker dies: SIGKILL a pool process, or the whole worker, mid-analysis.

Each test runs its own worker subprocess (prefork, -c 1) on dedicated queue names, so the session-wide
worker of ``celery_worker_proc`` (if another test started it) never takes these segments. After the
crash and the product's own recovery (acks_late redelivery, void leases of dead processes, the
reclaim at worker start) the stored observations must equal an undisturbed run's on
(frame index, face slot): the same keys, the same person per track, values within 1e-4.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from contextlib import suppress
from pathlib import Path

import pytest
from django.contrib.auth import get_user_model

from conftest import ROOT, VENV_BIN, WorkerHandle, _stop
from sessions_app.models import Observation, Segment, Session
from tests.sessions.conftest import CLIP, wait_for_session
from tests.sessions.test_analysis import _stored_session

FPS = 5.0
SEGMENT_SECONDS = 1
LEASE_SECONDS = 5
VALUE_FIELDS = (
    "time", "box_top", "box_right", "box_bottom", "box_left",
    "angry", "disgust", "fear", "happy", "sad", "surprise", "neutral",
    "attention", "yaw", "pitch", "roll", "eye_openness",
)  # fmt: skip

_reference: dict[str, object] = {}


class Workers:
    """Starts worker subprocesses on this test's own queues; each in its own process group."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        tag = uuid.uuid4().hex[:8]
        self.inference, self.default = f"crash-{tag}-inference", f"crash-{tag}-default"
        self.env = dict(
            env,
            EMOTION_QUEUE_INFERENCE=self.inference,
            EMOTION_QUEUE_DEFAULT=self.default,
            EMOTION_SEGMENT_SECONDS=str(SEGMENT_SECONDS),
            EMOTION_SEGMENT_LEASE_SECONDS=str(LEASE_SECONDS),
            EMOTION_WORKER_WARMUP="1",
        )
        self.log_dir, self.handles = log_dir, []

    def start(self) -> WorkerHandle:
        from emotionsite.celery import app

        name = f"crash-{uuid.uuid4().hex[:8]}@{socket.gethostname()}"
        log_path = self.log_dir / f"{name.split('@')[0]}.log"
        cmd = [
            str(VENV_BIN / "celery"), "-A", "emotionsite", "worker",
            "-Q", f"{self.inference},{self.default}", "--pool=prefork", "-c", "1", "-n", name,
            "--without-gossip", "--without-mingle", "-l", "info",
        ]  # fmt: skip
        with open(log_path, "wb") as log_file:
            proc = subprocess.Popen(
                cmd, cwd=ROOT, env=self.env, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
            )
        handle = WorkerHandle(proc, name, log_path)
        self.handles.append(handle)
        deadline = time.monotonic() + 90
        while not app.control.ping(destination=[name], timeout=0.5):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"celery worker did not start:\n{handle.log()[-4000:]}")
        return handle

    def logs(self) -> str:
        return "\n".join(h.log()[-2500:] for h in self.handles)

    def stop_all(self) -> None:
        for handle in self.handles:
            _stop(handle.proc)
            if handle.proc.poll() is not None:
                with suppress(ProcessLookupError):
                    os.killpg(handle.proc.pid, signal.SIGKILL)  # leftovers of a killed group


@pytest.fixture
def workers(service_env, tmp_path) -> Iterator[Workers]:
    w = Workers(service_env, tmp_path)
    try:
        yield w
    finally:
        w.stop_all()


@pytest.fixture(autouse=True)
def short_segments(settings):
    settings.EMOTION_SEGMENT_SECONDS = SEGMENT_SECONDS
    settings.EMOTION_SEGMENT_LEASE_SECONDS = LEASE_SECONDS


def _new_user():
    return get_user_model().objects.create_user(username=f"crash{uuid.uuid4().hex[:6]}", password="x-9-correct")


def _start_session(workers: Workers, media_dir: Path) -> Session:
    from sessions_app.tasks import analyse_segment

    session = _stored_session(_new_user(), media_dir / CLIP, Session.Source.UPLOAD, sample_fps=FPS)
    for index in session.segments.values_list("index", flat=True):
        analyse_segment.apply_async((session.pk, index), queue=workers.inference)
    return session


def _snapshot(session: Session) -> dict:
    """Observations keyed by (frame index, slot); the partition of keys by person; all values."""
    rows = list(Observation.objects.filter(session=session).values("frame_index", "slot", "person_id", *VALUE_FIELDS))
    by_person: dict[int, set] = {}
    for r in rows:
        by_person.setdefault(r["person_id"], set()).add((r["frame_index"], r["slot"]))
    return {
        "values": {(r["frame_index"], r["slot"]): tuple(float(r[f]) for f in VALUE_FIELDS) for r in rows},
        "partition": sorted(sorted(keys) for keys in by_person.values()),
        "unassigned": any(pid is None for pid in by_person),
    }


def _assert_equal(got: dict, ref: dict) -> None:
    assert not got["unassigned"] and not ref["unassigned"]
    assert set(got["values"]) == set(ref["values"])
    assert got["partition"] == ref["partition"]
    for key, values in ref["values"].items():
        for name, a, b in zip(VALUE_FIELDS, got["values"][key], values, strict=True):
            assert abs(a - b) <= 1e-4, f"{key} {name}: {a} != {b}"


def _reference_snapshot(workers: Workers, media_dir: Path) -> dict:
    """The undisturbed run (computed once per test session, kept as plain data across DB flushes)."""
    if "snapshot" not in _reference:
        if not workers.handles:
            workers.start()
        session = wait_for_session(_start_session(workers, media_dir).pk, timeout=120)
        assert session.status == Session.Status.DONE, f"{session.error}\n{workers.logs()}"
        assert session.segments.count() == 5 and not session.segments.filter(attempts__gt=1).exists()
        snap = _snapshot(session)
        assert len(snap["values"]) == session.frames_analysed > 0
        _reference["snapshot"] = snap
    return _reference["snapshot"]


def _wait_mid_analysis(session: Session, timeout: float = 120) -> Segment:
    """Wait until one segment is running after another finished (so some observations exist)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if Observation.objects.filter(session=session).exists():
            seg = Segment.objects.filter(session=session, status=Segment.Status.RUNNING).first()
            if seg is not None and seg.worker:
                return seg
        time.sleep(0.03)
    raise AssertionError("no segment was running after the first one finished")


def _lines_about(session: Session, root: Path) -> str:
    """Every worker log line under the test run's folder that names this session (with the traceback
    after it): which process failed it, when it was not one of this test's workers."""
    found = []
    for log in sorted(root.rglob("*.log")):
        lines = log.read_text(errors="replace").splitlines()
        for i, line in enumerate(lines):
            if f"session {session.pk}" in line:
                found.append(f"{log}: " + "\n".join(lines[i : i + 25]))
    return "\n".join(found)[-8000:]


def _check_recovered(session: Session, killed: Segment, workers: Workers, ref: dict) -> None:
    session = wait_for_session(session.pk, timeout=120)
    assert session.status == Session.Status.DONE, (
        f"{session.error}\n{workers.logs()}\n--- other logs about this session:\n"
        f"{_lines_about(session, workers.log_dir.parent)}"
    )
    killed.refresh_from_db()
    assert killed.status == Segment.Status.DONE and killed.attempts >= 2  # it really was cut and redone
    _assert_equal(_snapshot(session), ref)


@pytest.mark.django_db(transaction=True)
def test_undisturbed_runs_agree(workers, media_dir):
    """The reference: a second undisturbed run stores exactly the same observations."""
    ref = _reference_snapshot(workers, media_dir)
    if len(workers.handles) == 0:
        workers.start()
    session = wait_for_session(_start_session(workers, media_dir).pk, timeout=120)
    assert session.status == Session.Status.DONE, f"{session.error}\n{workers.logs()}"
    _assert_equal(_snapshot(session), ref)


@pytest.mark.django_db(transaction=True)
def test_killed_pool_process_loses_nothing(workers, media_dir):
    ref = _reference_snapshot(workers, media_dir)
    worker = workers.handles[0] if workers.handles else workers.start()
    session = _start_session(workers, media_dir)
    seg = _wait_mid_analysis(session)
    child = int(seg.worker.rsplit(":", 1)[1])
    assert child != worker.proc.pid
    os.kill(child, signal.SIGKILL)
    assert Segment.objects.get(pk=seg.pk).status != Segment.Status.DONE, "the kill came too late"
    _check_recovered(session, seg, workers, ref)
    assert worker.proc.poll() is None  # the worker replaced its pool process and went on


@pytest.mark.django_db(transaction=True)
def test_killed_worker_loses_nothing(workers, media_dir):
    ref = _reference_snapshot(workers, media_dir)
    worker = workers.handles[0] if workers.handles else workers.start()
    session = _start_session(workers, media_dir)
    seg = _wait_mid_analysis(session)
    os.killpg(worker.proc.pid, signal.SIGKILL)  # the main process and its pool, at once
    worker.proc.wait(10)
    assert Segment.objects.get(pk=seg.pk).status != Segment.Status.DONE, "the kill came too late"
    workers.start()  # a fresh worker reclaims the dead one's segment at start
    _check_recovered(session, seg, workers, ref)


@pytest.mark.django_db
def test_segment_whose_worker_always_dies_fails_the_session(user, settings):
    """A redelivered segment whose process died on every try is not retried forever."""
    from datetime import timedelta

    from django.utils import timezone

    from sessions_app.services.analysis import analyse_segment, plan_segments

    settings.EMOTION_SEGMENT_MAX_ATTEMPTS = 3
    session = Session.objects.create(owner=user, title="x", duration=3.0, status=Session.Status.ANALYSING)
    plan_segments(session)
    past = timezone.now() - timedelta(seconds=1)
    Segment.objects.filter(session=session, index=1).update(
        status=Segment.Status.RUNNING, lease_until=past, attempts=3, worker="elsewhere:1"
    )
    assert analyse_segment(session.pk, 1) == "skipped"
    session.refresh_from_db()
    assert session.status == Session.Status.FAILED and "died 3 times" in session.error
    assert Segment.objects.get(session=session, index=1).status == Segment.Status.FAILED


@pytest.mark.django_db
def test_a_worker_that_lost_its_lease_writes_nothing(user):
    """Two analyses of one segment never mix: a worker whose lease went to another (it was thought dead)
    discards its results under the segment's row lock; the holder's are stored."""
    from datetime import timedelta
    from types import SimpleNamespace

    from django.utils import timezone

    from sessions_app.models import AnalysisRun
    from sessions_app.services.analysis import plan_segments, store_segment

    session = Session.objects.create(owner=user, title="x", duration=3.0, status=Session.Status.ANALYSING)
    plan_segments(session)
    lease = timezone.now() + timedelta(seconds=60)
    Segment.objects.filter(session=session, index=0).update(status=Segment.Status.RUNNING, lease_until=lease)
    seg = Segment.objects.get(session=session, index=0)
    seg.worker = "host:1"  # what this worker claimed; the row says someone else holds it now
    Segment.objects.filter(pk=seg.pk).update(worker="host:2")
    nothing = SimpleNamespace(frames=[], n_frames=7)
    tracker, classifier = SimpleNamespace(all_tracks=list), SimpleNamespace(version="v1")
    engine = SimpleNamespace(identities=dict, tracker=tracker, classifier=classifier, detector="d")
    assert store_segment(session, seg, nothing, engine, "host:1") is False
    row = Segment.objects.get(pk=seg.pk)
    assert (row.status, row.worker, row.frames) == (Segment.Status.RUNNING, "host:2", 0)
    assert not AnalysisRun.objects.filter(session=session, weights_version="v1").exists()

    seg.worker = "host:2"  # the holder stores
    assert store_segment(session, seg, nothing, engine, "host:2") is True
    row = Segment.objects.get(pk=seg.pk)
    assert (row.status, row.frames) == (Segment.Status.DONE, 7)
