"""Checks behind /healthz: each returns quickly and never raises."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.db import connection

from emotionsite.queues import Queue


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


def check_workers(timeout: float = 1.0) -> dict[str, list[str]]:
    """The Celery workers that answered within ``timeout`` seconds, each with the queues it consumes."""
    from emotionsite.celery import app

    try:
        replies = app.control.inspect(timeout=timeout).active_queues() or {}
    except Exception:  # noqa: BLE001 - a health check reports, never raises
        return {}
    return {name: sorted(q["name"] for q in queues or []) for name, queues in sorted(replies.items())}


def health_report(details: bool = False) -> dict[str, Any]:
    """Each part up or down; a queue is up while some worker consumes it. Keyed by role (``live``,
    ``inference``, ``summaries``, ``default``), whatever the queues are named in this install.
    ``details`` (staff only: they name hosts) adds the workers that answered and their queues."""
    database = check_database()
    redis_up = check_redis()
    workers = check_workers() if redis_up else {}
    consumed = {name for queues in workers.values() for name in queues}
    queues = {queue.name.lower(): "up" if queue.value in consumed else "down" for queue in Queue}
    up = sum(state == "up" for state in queues.values())
    report = {
        "status": ("ok" if up == len(queues) else "degraded") if database and redis_up else "error",
        "database": "up" if database else "down",
        "redis": "up" if redis_up else "down",
        "workers": {"status": "up" if up == len(queues) else "partial" if up else "down", "queues": queues},
    }
    if details:
        report["workers"].update(names=sorted(workers), nodes=workers)
    return report
