"""Checks behind /healthz: each returns quickly and never raises."""

from __future__ import annotations

from typing import Any

import redis
from django.conf import settings
from django.db import connection


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


def check_workers(timeout: float = 1.0) -> list[str]:
    """Names of the Celery workers that answered a ping within ``timeout`` seconds."""
    from emotionsite.celery import app

    try:
        replies = app.control.inspect(timeout=timeout).ping() or {}
    except Exception:  # noqa: BLE001 - a health check reports, never raises
        return []
    return sorted(replies)


def health_report() -> dict[str, Any]:
    database = check_database()
    redis_up = check_redis()
    workers = check_workers() if redis_up else []
    return {
        "status": "ok" if database and redis_up else "error",
        "database": "up" if database else "down",
        "redis": "up" if redis_up else "down",
        "workers": {"status": "up" if workers else "down", "names": workers},
    }
