"""Which web machine holds a staged upload or recording (docs/architecture.md "Media storage").

Uploads and live recordings are staged on the disk of the web machine that receives them
(``EMOTION_STAGING_DIR``) until complete. With several web machines a resume must reach the same one: the
holder's name (``EMOTION_WEB_NODE``) is kept in Redis, so another machine can say "held elsewhere"
instead of "unknown" and refuse rather than start afresh. Best effort: while Redis is away nothing is
known, and the machine answers as it would without the record.
"""

from __future__ import annotations

import logging

from django.conf import settings
from redis.exceptions import RedisError

from emotionsite import redisconn

logger = logging.getLogger(__name__)

ELSEWHERE = (
    "This {what} is held by another of this site's servers and cannot continue on this one. "
    "Reconnect from the same address to carry on, or start again."
)


def this_node() -> str:
    return settings.EMOTION_WEB_NODE


def _key(kind: str, ident: object) -> str:
    return f"emotion:node:{kind}:{ident}"


def claim(kind: str, ident: object, seconds: int) -> None:
    """Record this machine as the holder of ``kind`` ``ident`` for ``seconds``."""
    try:
        redisconn.client(2.0).set(_key(kind, ident), this_node(), ex=max(1, int(seconds)))
    except (RedisError, OSError):
        logger.warning("could not record the web machine holding %s %s", kind, ident)


def held_elsewhere(kind: str, ident: object) -> str | None:
    """The other machine recorded as holding ``kind`` ``ident``; None when it is this one or unknown."""
    try:
        holder = redisconn.client(2.0).get(_key(kind, ident))
    except (RedisError, OSError):
        logger.warning("could not read the web machine holding %s %s", kind, ident)
        return None
    holder = holder.decode() if isinstance(holder, bytes) else holder
    return holder if holder and holder != this_node() else None


def release(kind: str, ident: object) -> None:
    try:
        redisconn.client(2.0).delete(_key(kind, ident))
    except (RedisError, OSError):
        logger.warning("could not forget the web machine holding %s %s", kind, ident)
