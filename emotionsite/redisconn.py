"""One Redis client (connection pool) per process and timeout, for the code that talks to Redis itself
(rate limits, log-in throttling, live recordings' state, worker facts); Celery and Channels keep
their own connections."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def client(timeout: float | None = None) -> redis.Redis:
    """``timeout`` (seconds) bounds connecting and each command: short where a request must not hang
    while Redis restarts; None waits (the live workers' blocking reads)."""
    return redis.Redis.from_url(settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout)
