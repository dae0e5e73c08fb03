"""What each Celery worker runs on, published by the worker itself into Redis, for the staff page and
for "made with older weights".

A worker's main process writes ``emotion:workers:<node>`` (host, queues, CPUs, load, memory, tasks
running) at start and every ``EMOTION_WORKER_BEAT_SECONDS``, with an expiry of three beats: a worker
that dies drops off within that, one that stops cleanly at once. Its pool processes, which load the
models (the main process never touches CUDA: a CUDA context does not survive the fork), write
``emotion:workers:<node>:weights`` with the emotion weights they really loaded (file, version, SHA-256,
device, GPU), once loaded and again after vision tasks; the main process keeps its expiry in step.
Reading is a set of node names and one MGET, no broadcast, so a page never waits for the workers.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import threading
import time
from typing import Any

import redis
from django.conf import settings

from emotionsite import redisconn
from emotionsite.queues import Queue

logger = logging.getLogger(__name__)

PREFIX = "emotion:workers:"
INDEX = "emotion:workers"  # the set of node names that have reported
WEIGHTS_SUFFIX = ":weights"
_stop = threading.Event()
_last_weights_report = 0.0


def _ttl() -> int:
    return max(3, 3 * settings.EMOTION_WORKER_BEAT_SECONDS)


def host_facts(node: str, queues: frozenset[str] | set[str]) -> dict[str, Any]:
    """This worker's host and load, as the main process sees them now."""
    import psutil
    from celery.worker import state

    me = psutil.Process()
    rss = me.memory_info().rss
    children = me.children()
    for child in children:
        with contextlib.suppress(psutil.Error):  # a pool process that just exited
            rss += child.memory_info().rss
    memory = psutil.virtual_memory()
    return {
        "node": node,
        "host": socket.gethostname(),
        "queues": sorted(queues) or [q.value for q in Queue],  # no -Q: every queue
        "device_setting": settings.EMOTION_WORKER_DEVICE,
        "cpus": os.cpu_count() or 0,
        "load": [round(x, 2) for x in os.getloadavg()],
        "memory_total_mb": memory.total // 2**20,
        "memory_available_mb": memory.available // 2**20,
        "worker_rss_mb": rss // 2**20,
        "processes": len(children),
        "tasks_running": len(state.active_requests),
        "at": time.time(),
    }


def publish(node: str, facts: dict[str, Any]) -> None:
    r = redisconn.client(2)
    pipe = r.pipeline()
    pipe.set(PREFIX + node, json.dumps(facts), ex=_ttl())
    pipe.sadd(INDEX, node)  # read back without scanning the whole key space
    pipe.expire(PREFIX + node + WEIGHTS_SUFFIX, _ttl())  # the pool's report lives as long as the worker
    pipe.execute()


def publish_weights(node: str, identity: dict[str, str]) -> None:
    """What a pool process loaded (``EmotionClassifier.identity()``), under its worker's node name."""
    global _last_weights_report
    redisconn.client(2).set(PREFIX + node + WEIGHTS_SUFFIX, json.dumps(identity), ex=_ttl())
    _last_weights_report = time.monotonic()


def report_loaded_weights(node: str, *, at_most_every: float = 0.0) -> bool:
    """Publish the default-weights classifier this process has loaded, if any; False when none is."""
    if not node or time.monotonic() - _last_weights_report < at_most_every:
        return False
    from inference.pipeline import loaded_classifiers

    loaded = loaded_classifiers()
    if not loaded:
        return False
    try:
        publish_weights(node, loaded[0].identity())
    except (redis.RedisError, OSError):
        logger.warning("loaded weights not published: Redis unavailable", exc_info=True)
        return False
    return True


def forget(node: str) -> None:
    r = redisconn.client(2)
    r.delete(PREFIX + node, PREFIX + node + WEIGHTS_SUFFIX)
    r.srem(INDEX, node)


def start_heartbeat(node: str, queues: frozenset[str]) -> threading.Thread:
    """Publish at once, then every beat, from a daemon thread of the worker's main process."""
    _stop.clear()

    def beat() -> None:
        while True:
            try:
                publish(node, host_facts(node, queues))
            except Exception:  # noqa: BLE001 - a missed beat must not end the worker's reporting
                logger.warning("worker facts not published", exc_info=True)
            if _stop.wait(settings.EMOTION_WORKER_BEAT_SECONDS):
                return

    thread = threading.Thread(target=beat, name="emotion-worker-beat", daemon=True)
    thread.start()
    return thread


def stop_heartbeat(node: str) -> None:
    _stop.set()
    with contextlib.suppress(redis.RedisError, OSError):  # else the keys expire on their own
        forget(node)


def published() -> list[dict[str, Any]]:
    """Every worker that reported within its expiry, by node name, each with ``weights`` (or None) and
    ``age`` (seconds since its last beat)."""
    r = redisconn.client(2)
    names = sorted(n.decode() for n in r.smembers(INDEX))
    if not names:
        return []
    raw = r.mget([PREFIX + n for n in names] + [PREFIX + n + WEIGHTS_SUFFIX for n in names])
    now = time.time()
    out = []
    for name, facts, weights in zip(names, raw[: len(names)], raw[len(names) :], strict=True):
        if not facts:  # its report expired: a worker that died without a clean stop
            r.srem(INDEX, name)
            continue
        row = json.loads(facts)
        row["weights"] = json.loads(weights) if weights else None
        row["age"] = max(0.0, now - float(row.get("at", now)))
        out.append(row)
    return out


def loaded_weights(queue: str = Queue.INFERENCE.value) -> list[dict[str, str]]:
    """The emotion weights the workers consuming ``queue`` report they loaded (those make re-analyses)."""
    try:
        workers = published()
    except (redis.RedisError, OSError):
        logger.warning("workers' weights unknown: Redis unavailable", exc_info=True)
        return []
    return [w["weights"] for w in workers if w["weights"] and queue in w["queues"]]
