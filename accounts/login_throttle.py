"""Per-username slow-down of failed log-ins, from any address (django-axes locks per username and address).

After ``EMOTION_LOGIN_USERNAME_FAILURE_LIMIT`` failures for one username within
``EMOTION_LOGIN_USERNAME_WINDOW_MINUTES`` (counted from the first), each further attempt must wait a
delay that doubles with every failure, from 1 s up to ``EMOTION_LOGIN_USERNAME_MAX_DELAY_SECONDS``.
Refused attempts are not counted and the count lapses with its window, so no one can lock an account
for good; a browser that logged in as the user before (a signed cookie) is not slowed at all.
The counts live in Redis; while Redis is away log-ins are not slowed (django-axes still locks).
Every function here takes a name as typed or as the form cleaned it: all key on ``login_name``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import math
import time
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UsernameField
from django.core import signing
from redis.exceptions import RedisError

from emotionsite import redisconn

logger = logging.getLogger(__name__)

KNOWN_DEVICE_COOKIE = "emotion_known_device"
KNOWN_DEVICE_DAYS = 90
_SALT = "emotion.login.known-device"


def _redis() -> Any:
    return redisconn.client(1)  # short: a log-in must not hang while Redis restarts


@functools.cache
def _username_field() -> UsernameField:
    """The log-in form's username field (AuthenticationForm gives it the user model's max_length)."""
    model = get_user_model()
    return UsernameField(max_length=model._meta.get_field(model.USERNAME_FIELD).max_length)


def login_name(username: str) -> str:
    """The account a typed name logs in to, as the log-in forms clean it (stripped, Unicode NFKC: `alice `
    and `ａlice` are `alice`), case-folded. The slow-down's check sees the raw POST and its failures the
    cleaned name: both must land on one count."""
    return _username_field().to_python(username).casefold()


def _digest(username: str) -> str:
    return hashlib.sha256(login_name(username).encode()).hexdigest()[:32]


def _key(username: str) -> str:
    return f"emotion:login-failures:{_digest(username)}"


def delay_after(failures: int, limit: int, max_delay: int) -> int:
    """Seconds an attempt must wait after the last of ``failures`` failures: 0 below ``limit``, then
    1, 2, 4, … up to ``max_delay``."""
    if failures < limit:
        return 0
    return min(2 ** min(failures - limit, 30), max_delay)


def record_failure(username: str) -> None:
    window = settings.EMOTION_LOGIN_USERNAME_WINDOW_MINUTES * 60
    try:
        pipe = _redis().pipeline()
        pipe.hincrby(_key(username), "n", 1)
        pipe.hset(_key(username), "last", time.time())
        pipe.ttl(_key(username))
        _, _, ttl = pipe.execute()
        if ttl < 0:  # a new count: its window starts now, and is not extended by later failures
            _redis().expire(_key(username), window)
    except RedisError:
        logger.warning("could not count a failed log-in: Redis unavailable")


def retry_after(username: str) -> int:
    """Whole seconds until ``username`` may be tried again; 0 when it may be tried now."""
    try:
        count, last = _redis().hmget(_key(username), "n", "last")
    except RedisError:
        logger.warning("could not read failed log-ins: Redis unavailable; not slowing down")
        return 0
    if count is None or last is None:
        return 0
    delay = delay_after(
        int(count), settings.EMOTION_LOGIN_USERNAME_FAILURE_LIMIT, settings.EMOTION_LOGIN_USERNAME_MAX_DELAY_SECONDS
    )
    remaining = float(last) + delay - time.time()
    return math.ceil(remaining) if remaining > 0 else 0


def known_device_token(username: str) -> str:
    """The cookie value that marks this browser as one that logged in as ``username``."""
    return signing.dumps(_digest(username), salt=_SALT)


def is_known_device(token: str | None, username: str) -> bool:
    if not token:
        return False
    try:
        digest = signing.loads(token, salt=_SALT, max_age=KNOWN_DEVICE_DAYS * 86400)
    except signing.BadSignature:
        return False
    return digest == _digest(username)
