"""Live recording: per-frame analysis on the ``live`` queue, then the recording is finished like an upload.

State kept between frames lives in Redis (TTL ``STATE_TTL``): the engine's tracker state and the
names matched so far (``live:<id>:state``), the frames in flight (``live:<id>:inflight``, the
consumer's back-pressure counter) and the sampled slots already analysed (``live:<id>:seen``).
A live frame at capture time ``t`` is stored with ``frame_index = round(t * sample_fps)``, its slot
on the session's sampling grid; the skipped slots are analysed from the recording at stop with the
same indexing, so the stored frames form one grid without duplicates.
"""

from __future__ import annotations

import io
import json
import logging
import math
import os
import time
import warnings
from functools import cache
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.conf import settings
from django.core.files import File
from django.db import transaction
from django.db.models import F

from emotionsite import ratelimit
from inference.classes import EMOTIONS
from inference.errors import MediaError, TooLongError
from sessions_app.mediatypes import sniff_file, storage_name
from sessions_app.models import Observation, Person, Segment, Session, Track
from sessions_app.reliability import is_reliable
from sessions_app.services.progress import group_name, send_state
from sessions_app.services.suggestions import rejected_pairs

logger = logging.getLogger(__name__)

STATE_TTL = 3600
MAX_PENDING = 3  # frames in flight per session before the consumer skips
LOCK_SECONDS = 5  # the per-session lock lapses after this (one frame takes well under a second)
STALE_SECONDS = 10  # frames in flight with no frame finished for this long died (with Redis)
DEFAULT_FPS = 5.0
LIVE_SEGMENT, GAP_SEGMENT = 0, 1


class LiveError(Exception):
    """A live-recording request that cannot be served; the message is meant for the user."""


@cache
def redis_client():
    import redis

    return redis.Redis.from_url(settings.REDIS_URL)


def _key(session_id: int, what: str) -> str:
    return f"live:{session_id}:{what}"


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
def start_session(owner: Any, title: Any, fps: Any) -> Session:
    try:
        fps = float(fps if fps is not None else DEFAULT_FPS)
    except (TypeError, ValueError):
        raise LiveError("fps must be a number.") from None
    if not 0.5 <= fps <= 10:
        raise LiveError("fps must be between 0.5 and 10.")
    # each recording keeps a live worker busy: cap how many run at once and how often they start
    recording = Session.objects.filter(owner=owner, source=Session.Source.LIVE, status=Session.Status.RECEIVING)
    ratelimit.check_active(recording.count(), settings.EMOTION_LIMIT_ACTIVE_LIVE, "Too many live recordings at once")
    ratelimit.hit("live", owner.pk)
    title = (str(title or "").strip()[:200]) or "Live recording"
    return Session.objects.create(
        owner=owner, title=title, source=Session.Source.LIVE, status=Session.Status.RECEIVING, sample_fps=fps
    )


def staging_path(owner_id: int, session_id: int) -> Path:
    folder = Path(settings.EMOTION_STAGING_DIR) / str(owner_id)
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"live-{session_id}.rec"


def reserve_frame(session_id: int) -> bool:
    """Count a frame in flight; False (and nothing counted) when MAX_PENDING are already pending."""
    r = redis_client()
    key = _key(session_id, "inflight")
    n = r.incr(key)
    r.expire(key, STATE_TTL)
    r.set(_key(session_id, "released"), time.time(), ex=STATE_TTL, nx=True)  # the clock starts
    if n > MAX_PENDING:
        if _count_is_stale(r, session_id):
            r.set(key, 1, ex=STATE_TTL)
            return True
        r.decr(key)
        return False
    return True


def _count_is_stale(r, session_id: int) -> bool:
    """A frame whose task died with Redis (a restart) is never released. Nothing released for longer
    than a frame task may run means the count only holds such frames: it is forgotten."""
    last = float(r.get(_key(session_id, "released")) or 0)
    return time.time() - last > STALE_SECONDS


def release_frame(session_id: int) -> None:
    r = redis_client()
    r.set(_key(session_id, "released"), time.time(), ex=STATE_TTL)
    if r.decr(_key(session_id, "inflight")) < 0:
        r.set(_key(session_id, "inflight"), 0, ex=STATE_TTL)


def pending_frames(session_id: int) -> int:
    r = redis_client()
    pending = int(r.get(_key(session_id, "inflight")) or 0)
    return 0 if pending and _count_is_stale(r, session_id) else pending


def store_recording(session_id: int, path: Path) -> Session:
    """Save the staged recording as the session's original and queue the finishing task."""
    session = Session.objects.get(pk=session_id)
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

        def queue() -> None:
            from sessions_app.live_tasks import finish_live_session

            finish_live_session.delay(session_id)

        transaction.on_commit(queue)
    path.unlink(missing_ok=True)
    send_state(session)
    return session


def fail(session_id: int, message: str) -> None:
    from sessions_app.services.analysis import fail_session

    fail_session(session_id, message)
    cleanup(session_id)


def cleanup(session_id: int) -> None:
    redis_client().delete(*(_key(session_id, k) for k in ("inflight", "state", "seen", "released", "chunks", "alive")))


# --------------------------------------------------------------------------- worker: one frame
def _known_people(owner_id: int) -> dict[int, list]:
    return {pk: emb for pk, emb in Person.objects.filter(owner_id=owner_id).values_list("pk", "embeddings") if emb}


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


def analyse_frame(session_id: int, seq: int, t: float, jpeg: bytes) -> dict | None:
    """Analyse one live frame with the session's tracker state; store and push the result."""
    from inference.pipeline import Analyzer
    from inference.tracking import Tracker

    r = redis_client()
    try:
        session = Session.objects.filter(pk=session_id).first()
        if session is None or session.status != Session.Status.RECEIVING:
            return None
        # a short lock: one frame takes well under a second, and a lock whose holder died with Redis
        # (kept by its append-only file) must lapse before the next frames reach their time limit
        with r.lock(_key(session_id, "lock"), timeout=LOCK_SECONDS, blocking_timeout=20):
            raw = r.get(_key(session_id, "state"))
            state = json.loads(raw) if raw else {}
            tracker = Tracker.from_dict(state["tracker"]) if state.get("tracker") else None
            analyzer = Analyzer(
                device=settings.EMOTION_WORKER_DEVICE,
                detect_every=1,
                tracker=tracker,
                known=_known_people(session.owner_id),
                rejected=rejected_pairs(session.owner_id),
            )
            analyzer.names.update({int(k): v for k, v in state.get("names", {}).items()})
            image = decode_jpeg(jpeg)
            index = slot_index(t, session.sample_fps)
            result = analyzer.process(image, index=index, time=float(t))
            r.set(
                _key(session_id, "state"),
                json.dumps({"tracker": analyzer.tracker.to_dict(), "names": analyzer.names}, default=str),
                ex=STATE_TTL,
            )
        _store_live(session, analyzer, result)
        # marked seen only once stored: a slot marked but never stored (Redis dying between the two) would be
        # skipped by the gap fill at Stop; stored but not marked is filled again, and conflicts are ignored
        r.sadd(_key(session_id, "seen"), index)
        r.expire(_key(session_id, "seen"), STATE_TTL)
        if not session.width:
            Session.objects.filter(pk=session_id).update(width=image.shape[1], height=image.shape[0])
        names = dict(Person.objects.filter(owner_id=session.owner_id).values_list("pk", "name"))
        numbers = dict(Person.objects.filter(owner_id=session.owner_id).values_list("pk", "number"))
        faces = []
        for face in result.faces:
            person = person_id = None
            if face.person is not None and face.person.isdigit() and int(face.person) in numbers:
                person_id = int(face.person)
                person = names[person_id] or f"Person {numbers[person_id]}"
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
        payload = {"type": "live.result", "seq": seq, "time": float(t), "frame_index": index, "faces": faces}
    except MediaError as exc:
        logger.info("live session %s: frame %s unreadable: %s", session_id, seq, exc)
        payload = {"type": "live.error", "seq": seq, "message": f"Frame {seq} could not be read as a JPEG image."}
    finally:
        release_frame(session_id)
    layer = get_channel_layer()
    if layer is not None:
        try:
            async_to_sync(layer.group_send)(group_name(session_id), {"type": "live.result", "result": payload})
        except Exception:  # noqa: BLE001 - the readout is best effort; the database keeps the truth
            logger.warning("could not push a live result of session %s", session_id, exc_info=True)
    return payload


def _store_live(session: Session, analyzer: Any, result: Any) -> None:
    tracks = {t.id: t for t in analyzer.tracker.all_tracks()}
    with transaction.atomic():
        rows = []
        for face in result.faces:
            raw = tracks.get(face.track_id)
            track, _ = Track.objects.get_or_create(
                session=session,
                key=f"{LIVE_SEGMENT}:{face.track_id}",
                defaults={"segment_index": LIVE_SEGMENT, "first_time": result.time, "last_time": result.time},
            )
            Track.objects.filter(pk=track.pk).update(
                count=F("count") + 1,
                last_time=max(track.last_time, result.time),
                embedding=raw.embedding if raw is not None and raw.embedding is not None else track.embedding,
                references=raw.references if raw is not None and raw.references else track.references,
                reference_quality=raw.qualities if raw is not None and raw.references else track.reference_quality,
            )
            rows.append(Observation.from_face(session, track.pk, result.index, result.time, face))
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
    out = Path(settings.EMOTION_STAGING_DIR) / f"live-{session_id}-{os.getpid()}.mp4"
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
        if raw_name != session.original.name:  # the raw recording goes once the row points at the MP4
            transaction.on_commit(lambda: session.playable.storage.delete(raw_name))
        send_state(session)
        seen = {int(v) for v in redis_client().smembers(_key(session_id, "seen"))}
        n_live = len(seen)
        Segment.objects.update_or_create(
            session=session,
            index=LIVE_SEGMENT,
            defaults={"start": 0.0, "end": info.duration, "status": Segment.Status.DONE, "frames": n_live},
        )
        seg, _ = Segment.objects.get_or_create(  # analysed here: marked so no segment task takes it
            session=session, index=GAP_SEGMENT, defaults={"start": 0.0, "end": info.duration, "worker": QUEUED}
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
    cleanup(session_id)
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
