"""Live recording: per-frame analysis on the ``live`` queue, then the recording is finished like an upload.

The consumer queues each sampled frame in Redis and wakes a live worker process (``serve_frames``); the
process holding the recording's lease analyses the waiting frames in order with the recording's engine
(its :class:`inference.pipeline.Analyzer`, kept in the process between frames and in Redis for whichever
process serves the next ones); recordings whose frames wait together are served in rounds by one process,
their faces classified in one batch. All Redis state is in :mod:`live.state`.
A live frame at capture time ``t`` is stored with ``frame_index = round(t * sample_fps)``, its slot
on the session's sampling grid; the skipped slots are analysed from the recording at stop with the
same indexing, so the stored frames form one grid without duplicates.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import io
import logging
import math
import os
import tempfile
import time
import warnings
from collections import OrderedDict
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.db.models import F
from redis.exceptions import RedisError

from emotionsite import mediastore, ratelimit, webnode
from inference.classes import EMOTIONS
from inference.errors import MediaError, TooLongError
from live import state as live_state
from people.models import Person
from people.suggestions import rejected_pairs
from sessions_app.mediatypes import sniff_file, storage_name
from sessions_app.models import Observation, Segment, Session, Track
from sessions_app.reliability import is_reliable
from sessions_app.services import runs, storage_quota
from sessions_app.services.media import delete_files_on_commit
from sessions_app.services.progress import group_name, send_state

logger = logging.getLogger(__name__)

DEFAULT_FPS = 5.0
LIVE_SEGMENT, GAP_SEGMENT = 0, 1
CACHED_RECORDINGS = 64  # engines a live process keeps between frames (least recently served go first)
BATCH_RECORDINGS = 8  # recordings a process serves together (their faces classified in one batch)


class LiveError(Exception):
    """A live-recording request that cannot be served; the message is meant for the user."""


TIME_SLACK_SECONDS = 30.0  # the browser's clock may run a little ahead of the server's


def check_frame_time(t: float, started_at: float, now: float | None = None) -> None:
    """A frame's capture time ``t`` (seconds from the recording's start) must lie within the recording
    so far: 0 ≤ t ≤ time since the session began (plus a little slack), and within the longest
    session allowed. A huge ``t`` would otherwise become a huge frame index and gap to fill."""
    now = time.time() if now is None else now
    longest = float(getattr(settings, "EMOTION_MAX_DURATION_MINUTES", 240)) * 60
    bound = min(longest, max(0.0, now - started_at) + TIME_SLACK_SECONDS)
    if not (math.isfinite(t) and 0 <= t <= bound):
        raise LiveError(f"A frame's capture time must be between 0 and {bound:.0f} s (the recording so far).")


def slot_index(t: float, fps: float) -> int:
    return max(0, int(round(float(t) * float(fps))))


# --------------------------------------------------------------------------- consumer side
def start_session(owner: Any, title: Any, fps: Any, project: Any = None) -> Session:
    """A new live recording of ``owner`` in ``project`` (default: their personal one; a project where
    their role does not allow recording is refused)."""
    from django.core.exceptions import PermissionDenied
    from django.http import Http404

    from projects.services import NOT_YOURS, project_for_new

    try:
        project_id = project_for_new(owner, project)
    except (Http404, PermissionDenied):
        raise LiveError(NOT_YOURS) from None
    try:
        fps = float(fps if fps is not None else DEFAULT_FPS)
    except (TypeError, ValueError):
        raise LiveError("fps must be a number.") from None
    if not 0.5 <= fps <= 10:
        raise LiveError("fps must be between 0.5 and 10.")
    title = (str(title or "").strip()[:200]) or "Live recording"
    try:  # room left in the project (under its lock), a disk above its low-water mark (bounded: live_room)
        with storage_quota.room_for(project_id):
            # each recording keeps a live worker busy: cap how many run at once and how often they start
            recording = Session.objects.filter(owner=owner, source=Session.Source.LIVE, status=Session.Status.RECEIVING)
            ratelimit.check_active(
                recording.count(), settings.EMOTION_LIMIT_ACTIVE_LIVE, "Too many live recordings at once"
            )
            ratelimit.hit("live", owner.pk)
            session = Session.objects.create(
                owner=owner,
                project_id=project_id,
                title=title,
                source=Session.Source.LIVE,
                status=Session.Status.RECEIVING,
                sample_fps=fps,
            )
            runs.start_run(session, current=True)  # a first analysis: its results show as they arrive
    except storage_quota.StorageRefused as exc:
        raise LiveError(str(exc)) from None
    live_state.cleanup(session.pk)  # nothing left in Redis under this id (a database reset reuses ids)
    claim_node(session.pk)
    return session


NODE_KIND = "live"


def claim_node(session_id: int) -> None:
    """This web machine stages the recording: a resume reaching another one is refused (sticky /ws/)."""
    webnode.claim(NODE_KIND, session_id, settings.EMOTION_MAX_DURATION_SECONDS + 3600)


def staging_path(owner_id: int, session_id: int) -> Path:
    folder = Path(settings.EMOTION_STAGING_DIR) / str(owner_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"live-{session_id}.rec"


@contextlib.contextmanager
def recording_locked(fh: Any):
    """An exclusive ``flock`` of a staged recording's open file. A chunk is written and counted under it, and
    a resume reads the count under it: the consumers' file work runs in a thread pool, so without it a resume
    could read the count while the dropped connection's last chunk is written but not yet counted (and have
    the page send that chunk again)."""
    fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
    try:
        yield fh
    finally:
        fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def append_chunk(fh: Any, session_id: int, count: int, data: bytes) -> None:
    """Write one recording chunk and record ``count``, the chunks held with it, as one step (see above). The
    count is best effort: while Redis restarts only a resume needs it, and a resume then refuses."""
    with recording_locked(fh):
        fh.write(data)
        try:
            live_state.set_chunk_count(session_id, count)
        except (RedisError, OSError):
            logger.warning("live session %s: could not record the chunk count", session_id)


def kept_name(owner_id: int, session_id: int) -> str:
    """Where, with media in a bucket, a dropped recording's staged file is copied for the finishing task."""
    return f"staging/{int(owner_id)}/live-{int(session_id)}.rec"


def keep_in_store(owner_id: int, session_id: int, path: Path) -> None:
    """With media in a bucket, copy what arrived of a dropped recording there: the worker that finishes it
    after the grace period may run on another machine than this web one (a resume here continues the
    local file; the next drop replaces the copy)."""
    if not mediastore.is_remote() or not path.exists() or not path.stat().st_size:
        return
    name = kept_name(owner_id, session_id)
    default_storage.delete(name)
    with open(path, "rb") as fh:
        default_storage.save(name, File(fh))


def remove_finished_recordings(root: Path | None = None) -> int:
    """Delete this machine's staged live recordings (``live-<id>.rec``) whose session no longer receives:
    with media in a bucket, a dropped recording is finished by a worker elsewhere from the bucket's copy,
    and the web machine that staged it is the only one that can remove its file. Returns how many went."""
    root = Path(settings.EMOTION_STAGING_DIR) if root is None else root
    staged = {}
    for path in root.glob("*/live-*.rec"):
        with contextlib.suppress(ValueError):
            staged[int(path.stem.removeprefix("live-"))] = path
    if not staged:
        return 0
    receiving = set(Session.objects.filter(pk__in=staged, status=Session.Status.RECEIVING).values_list("pk", flat=True))
    removed = 0
    for session_id, path in staged.items():
        if session_id not in receiving:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                removed += 1
    return removed


def store_recording(session_id: int, path: Path) -> Session:
    """Save the staged recording as the session's original and queue the finishing task."""
    session = Session.objects.get(pk=session_id)
    if mediastore.is_remote():  # a copy kept at an earlier drop is not needed any more
        default_storage.delete(kept_name(session.owner_id, session_id))
    if not path.exists() or path.stat().st_size == 0:
        fail(session_id, "No recording arrived; nothing to analyse.")
        return Session.objects.get(pk=session_id)
    with open(path, "rb") as fh:
        fmt = sniff_file(fh)  # MediaRecorder's WebM in browsers; finish() replaces it by an MP4
    with transaction.atomic():
        with open(path, "rb") as fh:
            session.original.save(storage_name("recording", fmt), File(fh), save=False)
        session.original_format = fmt
        session.status = Session.Status.QUEUED
        session.save(update_fields=["original", "original_format", "status", "updated"])
        storage_quota.measure_session(session)

        def queue() -> None:
            from live.tasks import finish_live_session

            finish_live_session.delay(session_id)

        transaction.on_commit(queue)
    path.unlink(missing_ok=True)
    send_state(session)
    return session


def fail(session_id: int, message: str) -> None:
    from sessions_app.services.analysis import fail_session

    fail_session(session_id, message)
    live_state.cleanup(session_id)


# --------------------------------------------------------------------------- worker: the project's people
@dataclass
class People:
    """A project's known people as a live process caches them (reloaded when ``version`` moves)."""

    version: int
    known: dict[int, list]  # person id -> reference descriptors
    rejected: set
    labels: dict[int, str]  # person id -> the name shown ("Person N" when unnamed)


_PEOPLE: dict[int, People] = {}


def people_for(project_id: int, version: int) -> People:
    """The project's people (never another project's), from the process's cache unless they changed
    (``live_state.bump_people``)."""
    cached = _PEOPLE.get(project_id)
    if cached is not None and cached.version == version:
        return cached
    rows = list(Person.objects.filter(project_id=project_id).values_list("pk", "embeddings", "name", "number"))
    people = People(
        version=version,
        known={pk: emb for pk, emb, _, _ in rows if emb},
        rejected=rejected_pairs(project_id),
        labels={pk: name or f"Person {number}" for pk, _, name, number in rows},
    )
    _PEOPLE[project_id] = people
    return people


# --------------------------------------------------------------------------- worker: a recording's engine
@dataclass
class Engine:
    """A recording's analyzer as this process left it, and the state version it corresponds to."""

    analyzer: Any
    version: int
    people: int  # the people version its known people come from
    last_seq: int = -1  # the last frame analysed (older ones are skipped)


_ENGINES: OrderedDict[int, Engine] = OrderedDict()


def _engine(session: Session, version: int, people: People) -> Engine:
    """The recording's engine: this process's own copy when no other process served a frame since,
    else rebuilt from the state in Redis."""
    from inference.pipeline import Analyzer, auto_detect_every

    engine = _ENGINES.get(session.pk)
    if engine is None or engine.version != version:
        _one_torch_thread()
        version, state = live_state.load_state(session.pk)
        analyzer = Analyzer(
            device=settings.EMOTION_WORKER_DEVICE,
            detect_every=auto_detect_every(session.sample_fps),  # as the batch path at this rate
            known=people.known,
            rejected=people.rejected,
            keep_summaries=False,
        )
        analyzer.load_state(state.get("engine") or {})
        engine = Engine(analyzer, version, int(state.get("people", -1)), int(state.get("last_seq", -1)))
        _ENGINES[session.pk] = engine
        while len(_ENGINES) > CACHED_RECORDINGS:
            _ENGINES.popitem(last=False)
    if engine.people != people.version:
        engine.analyzer.set_known(people.known, people.rejected)
        engine.people = people.version
    _ENGINES.move_to_end(session.pk)
    return engine


@functools.cache
def _one_torch_thread() -> None:
    """One torch thread per live process (unless INFERENCE_TORCH_THREADS says otherwise): the processes
    work in parallel, one per core, and a face or two per frame gains nothing from more threads, while
    threads spinning against each other on a busy machine cost a frame 200 ms instead of 3."""
    from inference.emotion.classifier import set_cpu_threads

    set_cpu_threads(None if os.environ.get("INFERENCE_TORCH_THREADS") else 1)


def forget_engine(session_id: int) -> None:
    _ENGINES.pop(session_id, None)


def queue_frame(session_id: int, seq: int, t: float, jpeg: bytes) -> None:
    """A frame reserved with ``reserve_frame``: it waits in Redis in arrival order and a live process is
    woken; the one serving the recording takes it."""
    from live.tasks import serve_live_frames

    live_state.push_frame(session_id, seq, t, jpeg)
    serve_live_frames.delay(session_id)


# --------------------------------------------------------------------------- worker: serving frames
def analyse_frame(session_id: int, seq: int, t: float, jpeg: bytes) -> None:
    """A frame queued by an older consumer with its data: queue it like today's, then serve."""
    live_state.push_frame(session_id, seq, t, jpeg)
    serve_frames(session_id)


def serve_frames(session_id: int) -> list[dict]:
    """Analyse the recording's waiting frames in order, if no other process serves it now.

    One process at a time holds the recording's lease; a wake-up that finds it held returns at once (the
    holder takes its frame too). The holder also takes the leases that are free of other recordings with
    frames waiting (at most ``BATCH_RECORDINGS`` in all) and serves them together in rounds, each
    recording's frames in order, the faces of a round classified in one batch. It serves what waits, then
    gives the leases back; frames that arrived meanwhile get a new wake-up at the back of the queue, so a
    busy recording does not keep a process from the others. Returns the payloads pushed to the page of
    ``session_id``, in order."""
    from redis.exceptions import LockError

    from live.tasks import serve_live_frames

    lease = live_state.lease(session_id)
    if not lease.acquire():
        return []
    leases = {session_id: lease}
    for other in live_state.waiting_sessions(exclude=session_id, limit=BATCH_RECORDINGS - 1):
        other_lease = live_state.lease(other)
        if other_lease.acquire():  # not blocking: a recording served elsewhere stays there
            leases[other] = other_lease
    try:
        served = _serve_waiting(leases)
    finally:
        for held in leases.values():
            with contextlib.suppress(LockError):
                held.release()
    for sid, payloads in served.items():
        if payloads:
            logger.info("live session %s: served frames %s (pid %s)", sid, [p["seq"] for p in payloads], os.getpid())
    for sid in leases:
        if live_state.frames_waiting(sid):
            serve_live_frames.delay(sid)
    return served.get(session_id, [])


@dataclass
class _Serving:
    """One recording being served: its frames taken from Redis and how far they got."""

    session: Session
    lease: Any
    engine: Engine
    people: People
    frames: list[tuple[int, float, bytes]]
    released: int = 0
    analysed: int = 0
    stopped: bool = False  # lease lost or an error: its engine is dropped, its state not saved
    payloads: list[dict] = field(default_factory=list)

    def done(self, payload: dict) -> None:
        """The next frame is finished: no longer in flight, its payload pushed; the lease still ours."""
        from redis.exceptions import LockError

        live_state.release_frame(self.session.pk)
        self.released += 1
        _push(self.session.pk, payload)
        self.payloads.append(payload)
        try:
            self.lease.reacquire()  # still ours: no other process took the recording meanwhile
        except LockError:  # the lease lapsed (a frame took longer than the lease): the state is not ours
            logger.warning("live session %s: lease lost while serving frames", self.session.pk)
            self.stop()

    def stop(self) -> None:
        self.stopped = True
        forget_engine(self.session.pk)


def _serve_waiting(leases: dict[int, Any]) -> dict[int, list[dict]]:
    """Serve the waiting frames of the recordings whose leases are held, in rounds (see ``_serve_rounds``)."""
    from redis.exceptions import LockError

    opened: list[tuple[Session, Any, Engine, People]] = []
    for session_id in leases:
        session = Session.objects.filter(pk=session_id).first()
        if session is None or session.status != Session.Status.RECEIVING:
            for _ in live_state.take_frames(session_id):
                live_state.release_frame(session_id)
            forget_engine(session_id)
            continue
        version, people_version = live_state.state_version(session_id, session.project_id)
        people = people_for(session.project_id, people_version)
        opened.append((session, leases[session_id], _engine(session, version, people), people))
    servings: list[_Serving] = []
    for session, lease, engine, people in opened:
        try:
            lease.reacquire()  # a first engine may have loaded the models: the lease counts from here
        except LockError:
            forget_engine(session.pk)
            continue
        servings.append(_Serving(session, lease, engine, people, live_state.take_frames(session.pk)))
    try:
        _serve_rounds(servings)
    finally:
        for sv in servings:
            sid = sv.session.pk
            for _ in sv.frames[sv.released :]:  # not analysed (an error, or the lease lost): no longer in flight
                live_state.release_frame(sid)
            if sv.analysed and not sv.stopped and sid in _ENGINES:
                state = {"engine": sv.engine.analyzer.to_state(), "last_seq": sv.engine.last_seq}
                state["people"] = sv.engine.people
                sv.engine.version = live_state.save_state(sid, state)
    return {sv.session.pk: sv.payloads for sv in servings}


def _serve_rounds(servings: list[_Serving]) -> None:
    """Each round takes every recording's next frame (in sequence order), prepares the analysable ones
    (``Analyzer.prepare``), classifies all their faces with one model call (``predict_batch``), then
    completes, stores and pushes each. The results equal serving the recordings one by one: each has its
    own analyzer and the frames of one recording still follow each other. A recording whose frame fails
    stops (logged; its engine is rebuilt from the last saved state); the others go on."""
    from inference.pipeline import predict_batch

    while active := [sv for sv in servings if not sv.stopped and sv.released < len(sv.frames)]:
        prepared = []
        for sv in active:
            seq, t, jpeg = sv.frames[sv.released]
            if seq <= sv.engine.last_seq:  # older than a frame analysed: its slot is filled at Stop
                sv.done({"type": "live.stale", "seq": seq, "count": live_state.count_stale(sv.session.pk)})
                continue
            try:
                image = decode_jpeg(jpeg)
            except MediaError as exc:
                logger.info("live session %s: frame %s unreadable: %s", sv.session.pk, seq, exc)
                sv.engine.last_seq = seq
                sv.analysed += 1
                message = f"Frame {seq} could not be read as a JPEG image."
                sv.done({"type": "live.error", "seq": seq, "message": message})
                continue
            index = slot_index(t, sv.session.sample_fps)
            try:
                pending = sv.engine.analyzer.prepare(image, index=index, time=float(t))
            except Exception:
                logger.exception("live session %s: analysing frame %s failed", sv.session.pk, seq)
                sv.stop()
                continue
            prepared.append((sv, seq, pending))
        by_model: dict[int, list] = {}  # the engines share the process's classifier (one group, as a rule)
        for item in prepared:
            by_model.setdefault(id(item[0].engine.analyzer.classifier), []).append(item)
        for items in by_model.values():
            try:
                probs = predict_batch(items[0][0].engine.analyzer.classifier, [p for _, _, p in items])
            except Exception:
                logger.exception("live: classifying the faces of %s frames failed", len(items))
                for sv, _, _ in items:
                    sv.stop()
                continue
            for (sv, seq, pending), p in zip(items, probs, strict=True):
                try:
                    payload = _complete(sv, seq, pending, p)
                except Exception:
                    logger.exception("live session %s: storing frame %s failed", sv.session.pk, seq)
                    sv.stop()
                    continue
                sv.engine.last_seq = seq
                sv.analysed += 1
                sv.done(payload)


def _push(session_id: int, payload: dict) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group_name(session_id), {"type": "live.result", "result": payload})
    except Exception:  # noqa: BLE001 - the readout is best effort; the database keeps the truth
        logger.warning("could not push a live result of session %s", session_id, exc_info=True)


def decode_jpeg(data: bytes) -> np.ndarray:
    """Decode a live frame, after checking its size from the JPEG header: a few bytes can claim a
    picture whose decoding would take gigabytes (and the out-of-memory killer would end the worker)."""
    import cv2
    from PIL import Image, UnidentifiedImageError

    limit = settings.EMOTION_LIVE_MAX_PIXELS
    too_large = "the frame is too large ({}); the limit is {:.1f} megapixels"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # the limit below decides
            with Image.open(io.BytesIO(data)) as header:  # reads the header only
                kind, (width, height) = header.format, header.size
    except Image.DecompressionBombError:
        raise MediaError(too_large.format("over 178 megapixels", limit / 1e6), "") from None
    except (UnidentifiedImageError, OSError, ValueError):
        raise MediaError("not a readable JPEG frame", "") from None
    if kind != "JPEG":
        raise MediaError("not a JPEG frame", "")
    if width * height > limit:
        raise MediaError(too_large.format(f"{width}x{height}", limit / 1e6), "")
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise MediaError("not a readable JPEG frame", "")
    return cv2.cvtColor(image, cv2.COLOR_BGR2RGB)


def _complete(sv: _Serving, seq: int, pending: Any, probabilities: np.ndarray) -> dict:
    """Finish a prepared frame with its faces' probabilities; store it and return the page's payload."""
    session, analyzer, people = sv.session, sv.engine.analyzer, sv.people
    image, index, t = pending.image, pending.index, pending.time
    result = analyzer.complete(pending, probabilities)
    _store_live(session, analyzer, result)
    # marked seen only once stored: a slot marked but never stored (Redis dying between the two) would be
    # skipped by the gap fill at Stop; stored but not marked is filled again, and conflicts are ignored
    live_state.mark_seen(session.pk, index)
    if not session.width:
        Session.objects.filter(pk=session.pk).update(width=image.shape[1], height=image.shape[0])
        session.width, session.height = image.shape[1], image.shape[0]
    faces = []
    for face in result.faces:
        person = person_id = None
        if face.person is not None and face.person.isdigit() and int(face.person) in people.labels:
            person_id = int(face.person)
            person = people.labels[person_id]
        faces.append(
            {
                "track": face.track_id,
                "person": person,
                "person_id": person_id,  # the live charts key a known person's lane by it
                "emotion": face.emotion,
                "confidence": face.confidence,
                "attention": face.attention,
                "probabilities": [float(face.probabilities[e]) for e in EMOTIONS],
                "box": list(face.box),
                "low": not is_reliable(face.quality),  # below the quality bar: shaded, not averaged
            }
        )
    return {"type": "live.result", "seq": seq, "time": float(t), "frame_index": index, "faces": faces}


def _store_live(session: Session, analyzer: Any, result: Any) -> None:
    tracks = {t.id: t for t in analyzer.tracker.all_tracks()}
    run_id = runs.open_run_id_or_start(session)
    with transaction.atomic():
        rows = []
        for face in result.faces:
            raw = tracks.get(face.track_id)
            track, _ = Track.objects.get_or_create(
                run_id=run_id,
                key=f"{LIVE_SEGMENT}:{face.track_id}",
                defaults={
                    "session": session,
                    "segment_index": LIVE_SEGMENT,
                    "first_time": result.time,
                    "last_time": result.time,
                },
            )
            Track.objects.filter(pk=track.pk).update(
                count=F("count") + 1,
                last_time=max(track.last_time, result.time),
                embedding=raw.embedding if raw is not None and raw.embedding is not None else track.embedding,
                references=raw.references if raw is not None and raw.references else track.references,
                reference_quality=raw.qualities if raw is not None and raw.references else track.reference_quality,
            )
            rows.append(Observation.from_face(session, track.pk, result.index, result.time, face, run_id))
        Observation.objects.bulk_create(rows, ignore_conflicts=True)


# --------------------------------------------------------------------------- worker: finishing
def finish(session_id: int) -> str:
    """Transcode the recording, analyse the skipped slots from it, then finalize like an upload."""
    from inference.media import frame_spans, probe, transcode_to_mp4
    from sessions_app.services.analysis import QUEUED, local_copy, maybe_finalize
    from sessions_app.services.ingest import too_long_message

    session = Session.objects.filter(pk=session_id).first()
    if session is None or session.status not in (Session.Status.QUEUED, Session.Status.ANALYSING):
        return "skipped"
    Session.objects.filter(pk=session_id).update(status=Session.Status.ANALYSING, progress=0.1)
    send_state(Session.objects.get(pk=session_id))
    raw_name = session.original.name
    # this worker's own temporary folder: the staging folder belongs to the web machines
    fd, tmp = tempfile.mkstemp(suffix=".mp4", prefix=f"live-{session_id}-")
    os.close(fd)
    out = Path(tmp)
    try:
        with local_copy(raw_name) as src:
            # the client stamps the recording: its frames' times are checked like an upload's
            frame_spans(src, max_duration=settings.EMOTION_MAX_DURATION_SECONDS)
            transcode_to_mp4(src, out)
        info = probe(out)
        with open(out, "rb") as fh:
            session.playable.save(storage_name("original", "mp4"), File(fh), save=False)
        session.original.name = session.playable.name
        session.original_format = session.playable_format = "mp4"
        session.duration, session.width, session.height = info.duration, info.width, info.height
        session.progress = 0.4
        fields = ["original", "playable", "original_format", "playable_format", "duration", "width", "height"]
        session.save(update_fields=[*fields, "progress", "updated"])
        storage_quota.measure_session(session)  # the MP4 in place of the raw recording
        if raw_name != session.original.name:  # the raw recording goes once the row points at the MP4
            delete_files_on_commit([raw_name])
        send_state(session)
        seen = live_state.seen(session_id)
        n_live = len(seen)
        run_id = runs.open_run_id_or_start(session)
        Segment.objects.update_or_create(
            run_id=run_id,
            index=LIVE_SEGMENT,
            defaults={
                "session": session,
                "start": 0.0,
                "end": info.duration,
                "status": Segment.Status.DONE,
                "frames": n_live,
            },
        )
        seg, _ = Segment.objects.get_or_create(  # analysed here: marked so no segment task takes it
            run_id=run_id,
            index=GAP_SEGMENT,
            defaults={"session": session, "start": 0.0, "end": info.duration, "worker": QUEUED},
        )
        _fill_gaps(session, seg, out, seen)
    except TooLongError as exc:
        fail(session_id, too_long_message("The recording", exc.seconds, exc.limit))
        return "failed"
    except MediaError as exc:
        fail(session_id, f"The recording could not be decoded: {exc}")
        return "failed"
    except Exception:
        logger.exception("finishing live session %s failed", session_id)
        fail(session_id, "Finishing the recording failed because of an internal error; what arrived is kept.")
        return "failed"
    finally:
        out.unlink(missing_ok=True)
    live_state.cleanup(session_id)
    maybe_finalize(session_id)
    return "done"


def _fill_gaps(session: Session, seg: Segment, path: Path, seen: set[int]) -> None:
    """Analyse the grid slots no live frame covered, from the recording (a fresh tracker)."""
    from inference.media import iter_video
    from inference.pipeline import Analyzer
    from inference.results import FrameResult
    from sessions_app.services.analysis import store_segment

    analyzer = Analyzer(device=settings.EMOTION_WORKER_DEVICE, detect_every=1)
    frames: list[FrameResult] = []
    done: set[int] = set(seen)
    for frame in iter_video(path, fps=session.sample_fps):
        index = slot_index(frame.time, session.sample_fps)
        if index in done:
            continue
        done.add(index)
        frames.append(analyzer.process(frame.image, index=index, time=frame.time))
    analyzer.tracker.finish()
    analyzer.relabel(frames)
    store_segment(session, seg, SimpleNamespace(frames=frames, n_frames=len(frames)), analyzer, "live-gap-fill")
