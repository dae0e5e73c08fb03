"""The Redis channel layer, patient with a Redis restart.

channels_redis raises from ``receive`` when Redis goes away, which ends every consumer's dispatch loop
and closes the browsers' sockets with 1011 (a live recording would then fail as "interrupted"). The
browser's socket does not need Redis: this layer waits for Redis to come back instead, with growing
pauses, so consumers keep their sockets and pick up group messages again once it answers. Group
membership lives in Redis (kept across a restart by its append-only file).
"""

from __future__ import annotations

import asyncio
import logging

from channels_redis.core import RedisChannelLayer
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

logger = logging.getLogger(__name__)
TRANSIENT = (RedisConnectionError, RedisTimeoutError, ConnectionError, OSError)


class PatientRedisChannelLayer(RedisChannelLayer):
    async def receive(self, channel: str):
        pause = 0.2
        while True:
            try:
                return await super().receive(channel)
            except TRANSIENT as exc:
                logger.warning("channel layer: Redis unavailable (%s); retrying in %.1f s", exc, pause)
                await asyncio.sleep(pause)
                pause = min(pause * 2, 5.0)
