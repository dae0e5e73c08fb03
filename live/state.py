"""A live recording's state in Redis: the one module that knows its keys and their expiry.

Keys of session ``<id>`` (all expire ``STATE_TTL`` after their last write, and go at :func:`cleanup`):

* ``live:<id>:frames`` the frames waiting for analysis, in the order the socket received them;
* ``live:<id>:lease`` the lease of the process serving the recording (one at a time, so frames stay in order);
* ``live:<id>:state`` the engine's state after the last frame (JSON) and ``live:<id>:version`` its number,
  so the process that served the previous frame keeps its own copy and skips reading it;
* ``live:<id>:inflight`` / ``live:<id>:released`` the frames in flight (the consumer's back-pressure);
* ``live:<id>:seen`` the sampled slots analysed; ``live:<id>:stale`` frames skipped as older than one analysed;
* ``live:<id>:chunks`` / ``live:<id>:alive`` the recording chunks written and the socket's last sign of life.

``live:waiting`` holds the ids of recordings that had frames pushed (an id whose list is found empty is
dropped by :func:`waiting_sessions`), so a process serving one recording can serve others' waiting frames
in the same rounds. ``live:people:<owner>`` counts changes of an owner's people (their cached copy in live
workers is reloaded when it moves); neither is a recording's key, and both outlive recordings.
"""

from __future__ import annotations

import json
import struct
import time

from emotionsite import redisconn

STATE_TTL = 3600
MAX_PENDING = 3  # frames in flight per session before the consumer skips
STALE_SECONDS = 10  # frames in flight with no frame finished for this long died (with Redis)
LEASE_SECONDS = 5  # a lease whose holder died lapses after this (one frame takes well under a second)
_FRAME = struct.Struct(">Id")  # seq, capture time; then the JPEG bytes
_KEYS = ("frames", "lease", "state", "version", "inflight", "released", "seen", "stale", "chunks", "alive")


def redis_client():
    return redisconn.client()


def key(session_id: int, what: str) -> str:
    return f"live:{session_id}:{what}"


WAITING_KEY = "live:waiting"


def people_key(project_id: int) -> str:
    return f"live:people:project:{project_id}"


# --------------------------------------------------------------------------- frames in flight
def reserve_frame(session_id: int) -> bool:
    """Count a frame in flight; False (and nothing counted) when MAX_PENDING are already pending."""
    r = redis_client()
    k = key(session_id, "inflight")
    n = r.incr(k)
    r.expire(k, STATE_TTL)
    r.set(key(session_id, "released"), time.time(), ex=STATE_TTL, nx=True)  # the clock starts
    if n > MAX_PENDING:
        if _count_is_stale(r, session_id):
            r.set(k, 1, ex=STATE_TTL)
            return True
        r.decr(k)
        return False
    return True


def _count_is_stale(r, session_id: int) -> bool:
    """A frame whose task died with Redis (a restart) is never released. Nothing released for longer
    than a frame task may run means the count only holds such frames: it is forgotten."""
    last = float(r.get(key(session_id, "released")) or 0)
    return time.time() - last > STALE_SECONDS


def release_frame(session_id: int) -> None:
    r = redis_client()
    r.set(key(session_id, "released"), time.time(), ex=STATE_TTL)
    if r.decr(key(session_id, "inflight")) < 0:
        r.set(key(session_id, "inflight"), 0, ex=STATE_TTL)


def pending_frames(session_id: int) -> int:
    r = redis_client()
    pending = int(r.get(key(session_id, "inflight")) or 0)
    return 0 if pending and _count_is_stale(r, session_id) else pending


# --------------------------------------------------------------------------- waiting frames, lease
def push_frame(session_id: int, seq: int, t: float, jpeg: bytes) -> None:
    """Queue a frame for the process serving the recording (after ``reserve_frame``)."""
    pipe = redis_client().pipeline()
    pipe.rpush(key(session_id, "frames"), _FRAME.pack(int(seq) & 0xFFFFFFFF, float(t)) + jpeg)
    pipe.expire(key(session_id, "frames"), STATE_TTL)
    pipe.sadd(WAITING_KEY, int(session_id))
    pipe.expire(WAITING_KEY, STATE_TTL)
    pipe.execute()


def take_frames(session_id: int) -> list[tuple[int, float, bytes]]:
    """Every frame waiting, oldest first (by sequence number), removed from the list."""
    pipe = redis_client().pipeline()  # MULTI: nothing pushed between the read and the trim is lost
    pipe.lrange(key(session_id, "frames"), 0, -1)
    pipe.delete(key(session_id, "frames"))
    raw, _ = pipe.execute()
    out = []
    for item in raw:
        seq, t = _FRAME.unpack_from(item)
        out.append((seq, t, bytes(item[_FRAME.size :])))
    return sorted(out, key=lambda f: f[0])


def frames_waiting(session_id: int) -> int:
    return int(redis_client().llen(key(session_id, "frames")))


def waiting_sessions(exclude: int | None = None, limit: int = 8) -> list[int]:
    """Up to ``limit`` recordings (other than ``exclude``) with frames waiting now. Ids whose list is empty
    are dropped from the set; one pushed to meanwhile may be dropped too, which only misses a batch (its
    wake-up task still serves it)."""
    r = redis_client()
    ids = sorted(int(v) for v in r.smembers(WAITING_KEY) if int(v) != exclude)
    if not ids:
        return []
    pipe = r.pipeline(transaction=False)
    for sid in ids:
        pipe.llen(key(sid, "frames"))
    lengths = pipe.execute()
    empty = [sid for sid, n in zip(ids, lengths, strict=True) if not n]
    if empty:
        r.srem(WAITING_KEY, *empty)
    return [sid for sid, n in zip(ids, lengths, strict=True) if n][:limit]


def lease(session_id: int):
    """The recording's lease (a Redis lock, not blocking): whoever holds it serves the recording's frames."""
    return redis_client().lock(key(session_id, "lease"), timeout=LEASE_SECONDS, blocking=False)


# --------------------------------------------------------------------------- engine state
def state_version(session_id: int, project_id: int) -> tuple[int, int]:
    """(the recording's state version, its project's people version), in one round trip."""
    pipe = redis_client().pipeline(transaction=False)
    pipe.get(key(session_id, "version"))
    pipe.get(people_key(project_id))
    state, people = pipe.execute()
    return int(state or 0), int(people or 0)


def load_state(session_id: int) -> tuple[int, dict]:
    pipe = redis_client().pipeline()
    pipe.get(key(session_id, "version"))
    pipe.get(key(session_id, "state"))
    version, raw = pipe.execute()
    return int(version or 0), (json.loads(raw) if raw else {})


def save_state(session_id: int, state: dict) -> int:
    """Store the state after a frame; returns its new version number."""
    pipe = redis_client().pipeline()
    pipe.set(key(session_id, "state"), json.dumps(state, default=str), ex=STATE_TTL)
    pipe.incr(key(session_id, "version"))
    pipe.expire(key(session_id, "version"), STATE_TTL)
    _, version, _ = pipe.execute()
    return int(version)


def bump_people(project_id: int) -> None:
    """A project's people changed (a name, a merge, a deletion, a rejected pair): live workers reload them."""
    redis_client().incr(people_key(project_id))


# --------------------------------------------------------------------------- slots seen, stale frames
def mark_seen(session_id: int, index: int) -> None:
    pipe = redis_client().pipeline()
    pipe.sadd(key(session_id, "seen"), index)
    pipe.expire(key(session_id, "seen"), STATE_TTL)
    pipe.execute()


def seen(session_id: int) -> set[int]:
    return {int(v) for v in redis_client().smembers(key(session_id, "seen"))}


def count_stale(session_id: int) -> int:
    pipe = redis_client().pipeline()
    pipe.incr(key(session_id, "stale"))
    pipe.expire(key(session_id, "stale"), STATE_TTL)
    n, _ = pipe.execute()
    return int(n)


def stale_count(session_id: int) -> int:
    return int(redis_client().get(key(session_id, "stale")) or 0)


# --------------------------------------------------------------------------- chunks, activity
def set_chunk_count(session_id: int, n: int) -> None:
    pipe = redis_client().pipeline()
    pipe.set(key(session_id, "chunks"), n, ex=STATE_TTL)
    pipe.set(key(session_id, "alive"), time.time(), ex=STATE_TTL)
    pipe.execute()


def chunk_count(session_id: int) -> int | None:
    raw = redis_client().get(key(session_id, "chunks"))
    return None if raw is None else int(raw)


def mark_alive(session_id: int) -> None:
    """The session's socket is still sending (read by the reaper)."""
    redis_client().set(key(session_id, "alive"), time.time(), ex=STATE_TTL)


def last_alive(session_id: int) -> float | None:
    raw = redis_client().get(key(session_id, "alive"))
    return float(raw) if raw else None


def cleanup(session_id: int) -> None:
    pipe = redis_client().pipeline()
    pipe.delete(*(key(session_id, k) for k in _KEYS))
    pipe.srem(WAITING_KEY, int(session_id))
    pipe.execute()
