"""Checks behind /healthz: each returns quickly and never raises.

Asking the workers is a broadcast that waits its whole timeout for replies (a second), so its answer is
cached in Redis for ``EMOTION_HEALTHZ_CACHE_SECONDS``, shared by every Daphne process: many requests
make one broadcast, and while one request refreshes it the others answer from the last picture.
"""

from __future__ import annotations

import json
import logging
import time
from typing import Any

import redis
from django.conf import settings
from django.db import connection

from emotionsite import diskspace, redisconn
from emotionsite.queues import Queue

logger = logging.getLogger(__name__)

WORKERS_KEY = "emotion:health:workers"  # {"at": epoch seconds, "workers": {name: [queues]}}
REFRESH_LOCK = "emotion:health:refreshing"
BROADCAST_TIMEOUT = 1.0


def check_database() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except Exception:  # noqa: BLE001 - a health check reports, never raises
        return False


def check_redis() -> bool:
    try:
        client = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=1, socket_connect_timeout=1)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:  # noqa: BLE001 - a health check reports, never raises
        return False


def check_workers(timeout: float = BROADCAST_TIMEOUT) -> dict[str, list[str]]:
    """The Celery workers that answered within ``timeout`` seconds, each with the queues it consumes."""
    from emotionsite.celery import app

    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception:  # noqa: BLE001 - a health check reports, never raises
        return {}
    return {name: sorted(q["name"] for q in queues or []) for name, queues in sorted(replies.items())}


def worker_picture() -> dict[str, list[str]]:
    """The workers and their queues, as cached (see the module's docstring); a fresh broadcast when the
    cache is off or Redis cannot hold it."""
    max_age = settings.EMOTION_HEALTHZ_CACHE_SECONDS
    if max_age <= 0:
        return check_workers()
    r = redisconn.client(2)
    try:
        cached = _cached(r)
        if cached is not None and time.time() - cached["at"] < max_age:
            return cached["workers"]
        if not r.set(REFRESH_LOCK, "1", nx=True, ex=int(BROADCAST_TIMEOUT) + 5):
            return cached["workers"] if cached is not None else _wait_for_refresh(r)
        try:
            workers = check_workers()
            # kept past its freshness, so requests during the next refresh have a picture to answer with
            r.set(WORKERS_KEY, json.dumps({"at": time.time(), "workers": workers}), ex=max(60, 10 * max_age))
            return workers
        finally:
            r.delete(REFRESH_LOCK)
    except (redis.RedisError, OSError):
        logger.warning("worker picture not cached: Redis unavailable", exc_info=True)
        return check_workers()


def _cached(r: redis.Redis) -> dict[str, Any] | None:
    raw = r.get(WORKERS_KEY)
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _wait_for_refresh(r: redis.Redis) -> dict[str, list[str]]:
    """No picture yet and another request is asking the workers: wait for its answer, no longer than it."""
    deadline = time.monotonic() + BROADCAST_TIMEOUT + 1
    while time.monotonic() < deadline:
        time.sleep(0.05)
        cached = _cached(r)
        if cached is not None:
            return cached["workers"]
    return {}


def forget_workers() -> None:
    """Drop the cached picture (tests, or an operator who wants the next request to ask again)."""
    redisconn.client(2).delete(WORKERS_KEY, REFRESH_LOCK)


def health_report(details: bool = False) -> dict[str, Any]:
    """Each part up or down; a queue is up while some worker consumes it. Keyed by role (``live``,
    ``inference``, ``summaries``, ``default``), whatever the queues are named in this install.
    ``disk`` is ``low`` under the free-space low-water mark (new uploads and recordings are refused).
    ``details`` (staff only: they name hosts) adds the workers that answered and their queues."""
    database = check_database()
    redis_up = check_redis()
    workers = worker_picture() if redis_up else {}
    disk_low = diskspace.is_low()
    consumed = {name for queues in workers.values() for name in queues}
    queues = {queue.name.lower(): "up" if queue.value in consumed else "down" for queue in Queue}
    up = sum(state == "up" for state in queues.values())
    report = {
        "status": ("ok" if up == len(queues) and not disk_low else "degraded") if database and redis_up else "error",
        "database": "up" if database else "down",
        "redis": "up" if redis_up else "down",
        "workers": {"status": "up" if up == len(queues) else "partial" if up else "down", "queues": queues},
        "disk": "low" if disk_low else "ok",
    }
    if details:
        report["workers"].update(names=sorted(workers), nodes=workers)
    return report
