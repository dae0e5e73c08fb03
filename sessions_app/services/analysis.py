"""Analysis of a stored session: segments under a lease, idempotent writes, a final identity step.

A video is cut into segments of ``EMOTION_SEGMENT_SECONDS`` over the stretches that hold frames; each is
one ``analyse_segment`` task, and only ``EMOTION_SEGMENTS_PER_USER`` of one user's are queued at a time.
A task claims its segment row (``select_for_update``) with a lease it extends while it works, so a
segment whose worker died is claimable again once the lease lapses (``reclaim_expired_segments``),
without waiting for the broker's visibility timeout. Results are written with unique keys and
``ignore_conflicts``, so a segment analysed twice stores each observation once. The task that
finishes the last segment runs :func:`finalize_session` under the session's row lock.
"""

from __future__ import annotations

import logging
import os
import socket
import tempfile
import time as _time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts.locks import lock_owner
from emotionsite import mediastore
from inference.errors import MediaError
from sessions_app.models import AnalysisRun, EyeEvent, Observation, Segment, Session, Track
from sessions_app.services import runs
from sessions_app.services.progress import send_state
from sessions_app.signals import tracks_ready

logger = logging.getLogger(__name__)

BATCH = 1000
RUNNING_STATES = (Session.Status.QUEUED, Session.Status.ANALYSING)


# --------------------------------------------------------------------------- planning
def plan_segments(session: Session, spans: list[tuple[float, float]] | None = None) -> list[Segment]:
    """Create the session's segments (once): ~EMOTION_SEGMENT_SECONDS each; one for an image.

    ``spans`` are the stretches of the timeline that hold frames (``MediaInfo.spans``); segments cover
    only those, at the video's own times, so a gap gets none. Without them the whole duration is cut.
    The count is bounded: at most duration / segment length plus one per stretch, and ingest refuses
    videos over EMOTION_MAX_DURATION_SECONDS (stretches are over 10 s apart).
    """
    run_id = runs.open_run_id_or_start(session)
    length = max(1, settings.EMOTION_SEGMENT_SECONDS)
    if session.source == Session.Source.IMAGE or session.duration <= 0:
        bounds = [(0.0, float(session.duration))]
    else:
        bounds = []
        for start, end in spans or [(0.0, float(session.duration))]:
            count = max(1, int(np.ceil((end - start) / length - 1e-6)))
            bounds += [(float(start + i * length), float(min(start + (i + 1) * length, end))) for i in range(count)]
    Segment.objects.bulk_create(
        [Segment(session=session, run_id=run_id, index=i, start=a, end=b) for i, (a, b) in enumerate(bounds)],
        ignore_conflicts=True,
    )
    return list(session.segments.filter(run_id=run_id).order_by("index"))


# ``Segment.worker`` of a pending segment whose task is in the broker (a running one names its process).
QUEUED = "queued"


def enqueue_analysis(session_id: int) -> int:
    """Start the analysis of a planned session: queue its owner's next segments; returns how many."""
    owner_id = Session.objects.filter(pk=session_id).values_list("owner_id", flat=True).first()
    return len(queue_segments(owner_id)) if owner_id is not None else 0


def queue_segments(owner_id: int) -> list[tuple[int, int]]:
    """Top up the owner's segments in the broker to EMOTION_SEGMENTS_PER_USER; returns (session, index) queued.

    Only a few segments of one user wait in the queue at a time, oldest session first, and every
    segment task ends by calling this: a long video makes a chain of tasks, and another user's upload
    queues behind at most those few instead of behind the whole video. Marked ``QUEUED`` under the
    owner's row lock, so two finishing segments never queue the same one. (A live recording's
    finishing task marks the segment it analyses itself the same way.)
    """
    limit = max(1, settings.EMOTION_SEGMENTS_PER_USER)
    with transaction.atomic():
        lock_owner(owner_id)
        mine = Segment.objects.filter(session__owner_id=owner_id, session__status__in=RUNNING_STATES)
        busy = mine.filter(Q(status=Segment.Status.RUNNING) | Q(status=Segment.Status.PENDING, worker=QUEUED)).count()
        if busy >= limit:
            return []
        picked = list(
            mine.filter(status=Segment.Status.PENDING)
            .exclude(worker=QUEUED)
            .order_by("session__created", "session_id", "index")
            .select_for_update(skip_locked=True, of=("self",))
            .values_list("pk", "session_id", "index")[: limit - busy]
        )
        if not picked:
            return []
        Segment.objects.filter(pk__in=[pk for pk, _, _ in picked]).update(worker=QUEUED)
        keys = [(sid, index) for _, sid, index in picked]
        transaction.on_commit(lambda: send_segment_tasks(keys))
    return keys


def send_segment_tasks(keys: list[tuple[int, int]]) -> None:
    """Send one ``analyse_segment`` per (session, index); one that cannot be sent loses its mark, so the
    next top-up sends it again instead of counting it as queued for ever."""
    from sessions_app.tasks import analyse_segment

    for session_id, index in keys:
        try:
            analyse_segment.delay(session_id, index)
        except Exception:  # noqa: BLE001 - whatever the broker raised, the mark must not outlive it
            logger.warning("could not queue segment %s of session %s", index, session_id, exc_info=True)
            Segment.objects.filter(
                session_id=session_id, index=index, status=Segment.Status.PENDING, worker=QUEUED
            ).update(worker="")


def holder_is_dead(worker: str) -> bool:
    """True when a lease holder (``"<host>:<pid>"``) is a process of this host that no longer runs.

    A lease of a process on another host can only lapse; on this host a killed worker's lease is void
    at once, so a redelivered or reclaimed segment need not wait for the lease to expire.
    """
    host, _, pid_text = worker.rpartition(":")
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:  # an unreaped child of a killed worker is a zombie: dead too
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            return fh.read().rsplit(")", 1)[-1].split()[0] in ("Z", "X")
    except (OSError, IndexError):
        return False


def reclaim_expired_segments(session_id: int | None = None) -> list[tuple[int, int]]:
    """Put running segments whose lease lapsed or whose worker died back to pending and re-queue them."""
    now = timezone.now()
    reclaimed: list[tuple[int, int]] = []
    with transaction.atomic():
        qs = Segment.objects.filter(status=Segment.Status.RUNNING, session__status__in=RUNNING_STATES)
        if session_id is not None:
            qs = qs.filter(session_id=session_id)
        for seg in qs.select_for_update(skip_locked=True):
            if seg.lease_until and seg.lease_until >= now and not holder_is_dead(seg.worker):
                continue
            # still one of its owner's segments in flight: queued again at once, outside the top-up
            seg.status, seg.lease_until, seg.worker = Segment.Status.PENDING, None, QUEUED
            seg.save(update_fields=["status", "lease_until", "worker"])
            reclaimed.append((seg.session_id, seg.index))
            logger.warning("re-queueing segment %s of session %s (lease expired)", seg.index, seg.session_id)
        if reclaimed:
            transaction.on_commit(lambda: send_segment_tasks(reclaimed))
    return reclaimed


# --------------------------------------------------------------------------- one segment
@contextmanager
def local_copy(name: str) -> Iterator[Path]:
    """Copy a stored file to a local temporary file (storage may be remote) and remove it afterwards."""
    fd, tmp = tempfile.mkstemp(suffix=Path(name).suffix, prefix="emotion-")
    try:
        with os.fdopen(fd, "wb") as out:
            mediastore.download(name, out)  # from the bucket straight to this file (no second spool)
        yield Path(tmp)
    finally:
        with suppress(FileNotFoundError):
            os.unlink(tmp)


def _claim(session_id: int, index: int, worker: str) -> Segment | None:
    now = timezone.now()
    with transaction.atomic():
        seg = (
            Segment.objects.select_for_update()
            .select_related("session")
            .filter(session_id=session_id, index=index)
            .first()
        )
        if seg is None or seg.session.status not in RUNNING_STATES or seg.status in (Segment.Status.DONE,):
            return None
        if seg.status == Segment.Status.FAILED:
            return None
        if (
            seg.status == Segment.Status.RUNNING
            and seg.lease_until
            and seg.lease_until > now
            and not holder_is_dead(seg.worker)
            and seg.worker != worker[:200]  # our own lease: this process retries it (database restart)
        ):
            return None  # another worker holds it
        if seg.attempts >= settings.EMOTION_SEGMENT_MAX_ATTEMPTS:
            # Its worker died on every try (a file that crashes the decoder, memory): stop, say so.
            Segment.objects.filter(pk=seg.pk).update(status=Segment.Status.FAILED, lease_until=None)
            _mark_failed(
                session_id,
                f"Analysis stopped: the worker died {seg.attempts} times on {seg.start:.0f}-{seg.end:.0f} s.",
                RUNNING_STATES,
            )
            transaction.on_commit(lambda: _send(session_id))
            return None
        seg.status = Segment.Status.RUNNING
        seg.lease_until = now + timedelta(seconds=settings.EMOTION_SEGMENT_LEASE_SECONDS)
        seg.worker = worker[:200]
        seg.attempts += 1
        seg.save(update_fields=["status", "lease_until", "worker", "attempts"])
    Session.objects.filter(pk=session_id, status=Session.Status.QUEUED).update(status=Session.Status.ANALYSING)
    return seg


def _send(session_id: int) -> None:
    session = Session.objects.filter(pk=session_id).first()
    if session is not None:
        send_state(session)


def update_progress(session_id: int) -> None:
    rows = list(Segment.objects.filter(session_id=session_id).values_list("progress", "start", "end"))
    if not rows:
        return
    weights = [max(end - start, 1e-3) for _, start, end in rows]
    value = 0.95 * sum(p * w for (p, _, _), w in zip(rows, weights, strict=True)) / sum(weights)
    Session.objects.filter(pk=session_id, status__in=RUNNING_STATES).update(progress=round(value, 4))
    session = Session.objects.filter(pk=session_id).first()
    if session is not None:
        send_state(session)


TRANSIENT_DB_ERRORS = (OperationalError, InterfaceError)


def analyse_segment(session_id: int, index: int, worker: str = "") -> str:
    """Analyse one segment if it is claimable; returns what happened (for logs and tests)."""
    worker = worker or f"pid{os.getpid()}"
    seg = _claim(session_id, index, worker)
    if seg is None:
        maybe_finalize(session_id)
        _queue_next(session_id)  # a duplicate or a stale task still keeps its owner's chain going
        return "skipped"
    session = seg.session
    try:
        with local_copy(session.original.name) as path:
            analysis, analyzer = _run_engine(path, session, seg, worker)
        if not store_segment(session, seg, analysis, analyzer, worker):
            maybe_finalize(session_id)
            return "skipped"
    except MediaError as exc:
        fail_session(session_id, f"The media could not be decoded: {exc}", seg)
        queue_segments(session.owner_id)
        return "failed"
    except TRANSIENT_DB_ERRORS:
        raise  # the database went away (a restart): the task retries and reclaims its own lease
    except Exception:
        logger.exception("segment %s of session %s failed", index, session_id)  # the details stay in the log
        fail_session(session_id, "The analysis failed because of an internal error.", seg)
        queue_segments(session.owner_id)
        return "failed"
    logger.info("segment %s of session %s done", index, session_id)
    queue_segments(session.owner_id)  # the next one joins the back of the queue, behind other users' work
    update_progress(session_id)
    reclaim_expired_segments(session_id)
    maybe_finalize(session_id)
    return "done"


def _queue_next(session_id: int) -> None:
    owner_id = Session.objects.filter(pk=session_id).values_list("owner_id", flat=True).first()
    if owner_id is not None:
        queue_segments(owner_id)


def _run_engine(path: Path, session: Session, seg: Segment, worker: str):
    from inference.pipeline import Analyzer, analyze_video, auto_detect_every

    is_image = session.source == Session.Source.IMAGE
    fps = None if is_image else session.sample_fps
    last = not Segment.objects.filter(session_id=session.pk, index__gt=seg.index).exists()
    end = None if (is_image or last) else seg.end
    analyzer = Analyzer(device=settings.EMOTION_WORKER_DEVICE, detect_every=1 if is_image else auto_detect_every(fps))
    span = max((seg.end or 0) - seg.start, 1e-3)
    last_beat = [_time.monotonic()]

    def on_frame(frame: Any, result: Any) -> None:
        now = _time.monotonic()
        if now - last_beat[0] < 1.0:
            return
        last_beat[0] = now
        lease = timezone.now() + timedelta(seconds=settings.EMOTION_SEGMENT_LEASE_SECONDS)
        Segment.objects.filter(pk=seg.pk, worker=worker).update(
            progress=min(0.99, max(0.0, (frame.time - seg.start) / span)), lease_until=lease
        )
        update_progress(session.pk)

    analysis = analyze_video(
        path,
        fps=fps,
        start=seg.start,
        end=end,
        analyzer=analyzer,
        on_frame=on_frame,
        eyes=settings.EMOTION_BLINKS and not is_image,
    )
    return analysis, analyzer


def store_segment(session: Session, seg: Segment, analysis: Any, analyzer: Any, worker: str) -> bool:
    """Write one analysed segment: a Track row per merged track (mean embedding and identity references),
    its observations, the segment done. Idempotent (unique keys, conflicts ignored). False, with nothing
    written, when the segment's lease went to another worker meanwhile (fenced under its row lock)."""
    from inference import identity

    merged = analyzer.identities()
    raw = {t.id: t for t in analyzer.tracker.all_tracks()}
    members: dict[int, list[int]] = defaultdict(list)
    for tid, root in merged.items():
        members[root].append(tid)
    summary: dict[int, dict] = {}
    for frame in analysis.frames:
        for face in frame.faces:
            s = summary.setdefault(face.track_id, {"first": frame.time, "last": frame.time, "n": 0})
            s["first"], s["last"], s["n"] = min(s["first"], frame.time), max(s["last"], frame.time), s["n"] + 1
    eyes = getattr(analysis, "eyes", None)  # merged track id -> events and seconds measured; None: not measured
    tracks = []
    for root, s in summary.items():
        embs = [(raw[t].embedding, raw[t].n_embeddings) for t in members.get(root, [root]) if t in raw]
        embs = [(e, max(n, 1)) for e, n in embs if e is not None]
        embedding = None
        if embs:
            embedding = (sum(np.asarray(e) * n for e, n in embs) / sum(n for _, n in embs)).tolist()
        refs: list = []
        quals: list = []
        for t in members.get(root, [root]):
            if t in raw:
                refs, quals = identity.select_references(
                    refs + raw[t].references, quals + raw[t].qualities, k=identity.TRACK_REFERENCES
                )
        tracks.append(
            Track(
                session=session,
                key=f"{seg.index}:{root}",
                segment_index=seg.index,
                first_time=s["first"],
                last_time=s["last"],
                count=s["n"],
                embedding=embedding,
                references=refs,
                reference_quality=quals,
                eye_seconds=None if eyes is None else round(eyes.get(root, {}).get("seconds", 0.0), 3),
            )
        )
    versions = {"emotion": str(getattr(analyzer.classifier, "version", "")), "detector": analyzer.detector}
    # blinks: "measured", or why not (sessions_app.measures reads it for "not available")
    versions["eyes"] = "measured" if eyes is not None else (getattr(analysis, "eyes_unavailable", "") or "off")
    if hasattr(analyzer.classifier, "identity"):  # the bytes really loaded: "older weights" compares these
        loaded = analyzer.classifier.identity()
        versions.update(emotion_file=loaded["file"], emotion_sha256=loaded["sha256"], device=loaded["device"])
    run_id = seg.run_id or runs.open_run_id_or_start(session)
    for track in tracks:
        track.run_id = run_id
    with transaction.atomic():
        if seg.status == Segment.Status.RUNNING and not (
            Segment.objects.select_for_update()
            .filter(pk=seg.pk, status=Segment.Status.RUNNING, worker=seg.worker)
            .exists()
        ):
            # the lease went to another worker meanwhile (this one was thought dead): its results win, and
            # two analyses' tracks must never mix in one segment
            logger.warning("segment %s of session %s: lease lost, results discarded", seg.index, session.pk)
            return False
        Track.objects.bulk_create(tracks, ignore_conflicts=True)
        ids = dict(Track.objects.filter(run_id=run_id, segment_index=seg.index).values_list("key", "id"))
        rows = []
        for frame in analysis.frames:
            for face in frame.faces:
                track_id = ids[f"{seg.index}:{face.track_id}"]
                rows.append(Observation.from_face(session, track_id, frame.index, frame.time, face, run_id))
        for i in range(0, len(rows), BATCH):
            Observation.objects.bulk_create(rows[i : i + BATCH], ignore_conflicts=True)
        events = [
            EyeEvent(
                session=session,
                run_id=run_id,
                track_id=ids[f"{seg.index}:{root}"],
                kind=ev.kind,
                start_frame=ev.start_frame,
                end_frame=ev.end_frame,
                start=ev.start,
                end=ev.end,
                quality=ev.quality,
            )
            for root, found in (eyes or {}).items()
            if f"{seg.index}:{root}" in ids
            for ev in found["events"]
        ]
        EyeEvent.objects.bulk_create(events, ignore_conflicts=True)
        Segment.objects.filter(pk=seg.pk).update(
            status=Segment.Status.DONE, progress=1.0, frames=analysis.n_frames, lease_until=None
        )
        # the run records its weights; the session's versions follow when the run becomes current
        AnalysisRun.objects.filter(pk=run_id).update(weights_version=versions["emotion"], model_versions=versions)
    return True


def _mark_failed(session_id: int, message: str, states: tuple | None = None) -> None:
    """The run in progress failed: the session fails, or, when a previous run's results are current (a
    re-analysis), goes back to done with them and says the re-analysis failed."""
    qs = Session.objects.filter(pk=session_id).exclude(status=Session.Status.DONE)
    if states is not None:
        qs = qs.filter(status__in=states)
    if runs.fail_run(session_id):
        qs.update(
            status=Session.Status.DONE,
            progress=1.0,
            error=f"Re-analysis failed; the previous results stay. {message}"[:2000],
        )
    else:
        qs.update(status=Session.Status.FAILED, error=message[:2000])


def fail_session(session_id: int, message: str, seg: Segment | None = None) -> None:
    with transaction.atomic():
        if seg is not None:
            Segment.objects.filter(pk=seg.pk).update(status=Segment.Status.FAILED, lease_until=None)
        _mark_failed(session_id, message)
    session = Session.objects.filter(pk=session_id).first()
    if session is not None:
        send_state(session)


# --------------------------------------------------------------------------- identity step
def maybe_finalize(session_id: int) -> bool:
    """Run the final identity step if every segment is done and nobody ran it yet."""
    with transaction.atomic():
        session = Session.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.status not in RUNNING_STATES:
            return False
        if session.segments.exclude(status=Segment.Status.DONE).exists():
            return False
        finalize_session(session)
    send_state(session)
    return True


def finalize_session(session: Session) -> None:
    """Close the session once every segment is done: its people are linked, its figures counted.

    Sends ``signals.tracks_ready`` first: the people room (``people.identify``) joins the session's tracks
    across segments and links each human to the owner's people. Runs inside the caller's transaction, with
    the session row locked.
    """
    # the run of the session's segments (one run's at a time); None: rows stored before runs existed
    run_id = session.segments.values_list("run_id", flat=True).first()
    tracks_ready.send(sender=Session, session=session, run_id=run_id)
    run_obs = Observation.objects.filter(session=session, run_id=run_id)

    frames_analysed = sum(session.segments.filter(run_id=run_id).values_list("frames", flat=True))
    with_face = run_obs.values("frame_index").distinct().count()
    if run_id is not None:
        runs.complete_run(session, run_id)
    session.frames_analysed = frames_analysed
    session.face_share = (with_face / frames_analysed) if frames_analysed else 0.0
    session.progress = 1.0
    session.status = Session.Status.DONE
    session.error = ""
    session.save(update_fields=["frames_analysed", "face_share", "progress", "status", "error", "updated"])
